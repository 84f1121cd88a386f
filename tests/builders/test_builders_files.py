"""`files`: local jsonl / json / csv / tsv / parquet (and .gz) through a column mapping."""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from codequarry.builders import files
from codequarry.errors import CodequarryError
from codequarry.pairs import PairsDir
from codequarry.schema import load_meta, make_id

RECS = [
    {"question": "reverse a string", "snippet": "s[::-1]", "lang": "Python", "rel": 1, "qid": "q1",
     "repo_name": "a/b", "file": "x.py", "link": "https://example.org/1", "fn": "rev", "votes": 10},
    {"question": "sum an array", "snippet": "arr.reduce((a, b) => a + b, 0)", "lang": "JS", "rel": 0, "qid": "q2",
     "repo_name": "c/d", "file": "y.js", "link": "https://example.org/2", "fn": "sum", "votes": 3},
    {"question": "read a file", "snippet": "System.IO.File.ReadAllText(p)", "lang": "C#", "rel": 1, "qid": "q3",
     "repo_name": "e/f", "file": "z.cs", "link": "https://example.org/3", "fn": "Read", "votes": 7},
]
MAPPING = {"query": "question", "code": "snippet", "language_col": "lang", "label": "rel", "id": "qid",
           "repo": "repo_name", "path": "file", "url": "link", "func_name": "fn"}


def _rows(out):
    return {load_meta(r["meta"])["source_id"]: r for r in PairsDir(out).read().to_pylist()}


def _write_all_formats(d):
    d.mkdir()
    (d / "part-train.jsonl").write_text(json.dumps(RECS[0]) + "\n")
    (d / "valid.json.gz").write_bytes(gzip.compress(json.dumps([RECS[1]]).encode()))
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(RECS[2]))
    w.writeheader()
    w.writerow(RECS[2])
    (d / "test.csv.bz2").write_bytes(bz2.compress(buf.getvalue().encode()))


def test_every_format_with_a_full_mapping(tmp_path, accounted, hf_load):
    d = tmp_path / "in"
    _write_all_formats(d)
    (d / "notes.md").write_text("not data")  # not a record format: not read
    m = files.build(tmp_path / "o", path=d, mapping=MAPPING, source_name="mine", license="MIT")
    accounted(m)
    assert m["splits"] == {"python": {"train": 1}, "javascript": {"valid": 1}, "c_sharp": {"test": 1}}
    rows = _rows(tmp_path / "o")
    r = rows["q1"]
    assert (r["query"], r["code"], r["language"], r["label"], r["repo"], r["path"], r["url"], r["func_name"]) == (
        "reverse a string", "s[::-1]", "python", 1, "a/b", "x.py", "https://example.org/1", "rev")
    assert r["id"] == make_id("mine", "q1") and r["source"] == "mine"
    assert load_meta(r["meta"]) == {"source_id": "q1", "votes": 10}
    assert rows["q3"]["label"] == 1  # CSV text "1" → 1
    assert load_meta(rows["q3"]["meta"])["votes"] == "7"  # CSV keeps text
    assert m["sources"][0]["license"] == "MIT"
    ds = hf_load(tmp_path / "o")  # several configs: the default 'all' config spans them
    assert sum(ds[s].num_rows for s in ds) == 3


def test_parquet_tsv_split_options_and_defaults(tmp_path, accounted):
    d = tmp_path / "in"
    d.mkdir()
    table = pa.Table.from_pylist([{"query": "q", "code": "c", "part": "validation", "toks": ["a", "b"]},
                                  {"query": "q2", "code": "c2", "part": "train", "toks": ["c"]}])
    pq.write_table(table, d / "data.parquet")
    m = files.build(tmp_path / "o", path=d, mapping={"split_col": "part", "code_tokens": "toks"})
    accounted(m)
    assert m["splits"] == {"unknown": {"train": 1, "valid": 1}}
    rows = PairsDir(tmp_path / "o").read().to_pylist()
    assert sorted(r["code_tokens"] for r in rows) == [["a", "b"], ["c"]]
    (d / "x.tsv").write_text("query\tcode\nq\tc\n")
    m = files.build(tmp_path / "o2", path=d / "x.tsv", split="test", mapping={"language": "go"})
    assert m["splits"] == {"go": {"test": 1}}
    with pytest.raises(CodequarryError, match="not both"):
        files.build(tmp_path / "o3", path=d, split="test", mapping={"split_col": "part"})


def test_missing_mapped_column_lists_available_columns(tmp_path):
    p = tmp_path / "x.jsonl"
    p.write_text(json.dumps(RECS[0]) + "\n")
    with pytest.raises(CodequarryError) as err:
        files.build(tmp_path / "o", path=p)  # defaults: query / code
    msg = str(err.value)
    assert "--query-col 'query'" in msg and "--code-col 'code'" in msg
    assert "Available columns: question, snippet, lang, rel, qid" in msg


def test_bad_records_are_excluded_with_reasons(tmp_path, accounted, exclusions):
    p = tmp_path / "x.jsonl"
    lines = [json.dumps({"query": "ok", "code": "x", "label": 1, "id": "a", "language": "python"}),
             json.dumps({"query": "dup", "code": "y", "label": 0, "id": "a"}),
             json.dumps({"query": "missing code col", "label": 0, "id": "b"}),
             json.dumps({"query": "bad label", "code": "z", "label": "maybe", "id": "c"}),
             json.dumps({"query": "float label", "code": "z", "label": 2.0, "id": "d"}),
             json.dumps({"query": ["not", "text"], "code": "z", "label": 1, "id": "e"}),
             json.dumps({"query": "no id", "code": "z", "label": 1, "id": ""}),
             json.dumps({"query": "lang", "code": "z", "label": 1, "id": "f", "language": "data"}),
             '{"query": "truncated line"',
             json.dumps(["not", "an", "object"]),
             ]
    p.write_bytes(("\n".join(lines) + "\n").encode() + b'{"query": "\xff", "code": "w", "id": "g"}\n')
    m = files.build(tmp_path / "o", path=p, mapping={"label": "label", "id": "id", "language_col": "language"})
    counts = accounted(m)
    # a mapped column missing from one record (not the first) is that record's exclusion
    assert counts["exclusion_reasons"] == {
        "build/missing_field": 6, "build/bad_language": 1, "build/malformed_json": 1, "build/wrong_type": 1,
        "build/invalid_utf8": 1}
    lines = [json.loads(x) | {"language": "python"} for x in lines[:8]]
    lines[7]["language"] = "data"  # reserved config name
    p.write_bytes("".join(json.dumps(x) + "\n" for x in lines).encode() + b'{"query": "\xff", "code": "w", "id": "g", "language": "go"}\n')
    m = files.build(tmp_path / "o2", path=p, mapping={"label": "label", "id": "id", "language_col": "language"})
    counts = accounted(m)
    assert counts["exclusion_reasons"] == {
        "build/duplicate_id": 1, "build/missing_field": 1, "build/bad_label": 1, "build/wrong_type": 1,
        "build/missing_id": 1, "build/bad_language": 1, "build/invalid_utf8": 1}
    assert counts["written"] == 2  # 'ok' and 'float label' (2.0 → 2)
    locators = {e["locator"] for e in exclusions(tmp_path / "o")}
    assert "x.jsonl:9" in locators and "x.jsonl:10" in locators


def test_corpus_without_queries_and_gz_csv(tmp_path, accounted):
    p = tmp_path / "corpus.csv.gz"
    p.write_bytes(gzip.compress(b'code\n"def f():\n    return 1"\n"x = 2"\n'))
    m = files.build(tmp_path / "o", path=p, mapping={"query": None, "language": "python"})
    accounted(m)
    rows = PairsDir(tmp_path / "o").read().to_pylist()
    assert [r["query"] for r in rows] == [None, None] and rows[0]["code"] == "def f():\n    return 1"
    assert rows[0]["id"] == make_id("files", "corpus.csv.gz:3")


def test_no_readable_files(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.txt").write_text("x")
    with pytest.raises(CodequarryError, match="no readable files"):
        files.build(tmp_path / "o", path=tmp_path / "d")


def test_empty_and_truncated_files_are_counted(tmp_path, accounted, exclusions):
    d = tmp_path / "in"
    d.mkdir()
    (d / "empty.jsonl").write_bytes(b"")
    (d / "good.jsonl").write_text('{"query": "q", "code": "c"}\n')
    full = gzip.compress(b"".join(b'{"query": "q%d", "code": "c%d"}\n' % (i, i) for i in range(3000)))
    (d / "cut.jsonl.gz").write_bytes(full[: len(full) // 2])
    m = files.build(tmp_path / "o", path=d)
    counts = accounted(m)
    assert counts["exclusion_reasons"] == {"build/empty_file": 1, "build/truncated_file": 1}
    assert 1 < counts["written"] < 3001
    assert {e["locator"].split(":")[0] for e in exclusions(tmp_path / "o")} == {"empty.jsonl", "cut.jsonl.gz"}


def test_language_typo_and_path_like_split_are_refused(tmp_path, exclusions):
    """A --language typo is refused with the valid names; a split like ../../x is refused, not renamed to x."""
    src = tmp_path / "x.jsonl"
    src.write_text(json.dumps({"query": "q", "code": "c", "part": "../../x"}) + "\n"
                   + json.dumps({"query": "q2", "code": "c2", "part": "Validation"}) + "\n")
    with pytest.raises(CodequarryError, match=r"--language 'pyhton' is not a known language; use one of: .*python"):
        files.build(tmp_path / "o1", path=src, mapping={"language": "pyhton"})
    for bad in ("../../x", "a/b", "..", "x y"):
        with pytest.raises(CodequarryError, match="is not a split name"):
            files.build(tmp_path / "o2", path=src, mapping={"language": "python"}, split=bad)
    m = files.build(tmp_path / "o3", path=src, mapping={"language": "JS", "split_col": "part"})
    assert m["splits"] == {"javascript": {"valid": 1}}
    assert [(e["reason"], e["split"]) for e in exclusions(tmp_path / "o3")] == [("bad_split", "train")]
    from codequarry.builders._sink import Sink
    from codequarry.pairs import SourceInfo

    with pytest.raises(CodequarryError, match="batch_rows must be a positive integer"):
        Sink(tmp_path / "o4", source=SourceInfo(name="files"), params={}, batch_rows=0)
