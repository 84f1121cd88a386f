"""CodeSearchNet: release jsonl.gz layout, {lang}.zip, dedupe-definitions pickle, Hub copy — same record, same row."""

from __future__ import annotations

import gzip
import json
import pickle
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from codequarry.builders import codesearchnet as csn
from codequarry.builders._text import docstring_summary
from codequarry.errors import CodequarryError
from codequarry.pairs import PairsDir
from codequarry.releases.csn import HUB_KEYS
from codequarry.schema import load_meta, make_id

SHA = "b746ac01c9f39de94cac2d56f665285b0523b974"


def _record(lang: str, i: int, split: str) -> dict:
    """One record with the 12 release keys in file order."""
    name = f"func_{i}"
    docstring = {0: f"Return the {i}th value.\n\nLonger explanation\nover lines.",
                 1: f"Compute {i} quickly.\n@param x the input\n@return y",
                 2: f"Plain one line doc {i}"}[i % 3]
    summary = docstring_summary(docstring)
    code = f'def {name}(x):\n    """{docstring}"""\n    return x + {i}\n'
    path = f"pkg/mod_{i % 4}.py"
    start = 10 * i + 1
    return {
        "repo": "owner/project", "path": path, "func_name": f"Klass.{name}", "original_string": code,
        "language": lang, "code": code,
        "code_tokens": ["def", name, "(", "x", ")", ":", "return", "x", "+", str(i)],
        "docstring": docstring, "docstring_tokens": summary.replace(".", " .").split(),
        "sha": SHA, "url": f"https://github.com/owner/project/blob/{SHA}/{path}#L{start}-L{start + 3}",
        "partition": split,
    }


RECORDS = {split: [_record("python", i, split) for i in range(k, k + n)]
           for split, k, n in (("train", 0, 7), ("valid", 100, 3), ("test", 200, 4))}


def _to_hub(rec: dict) -> dict:
    inverse = {v: k for k, v in HUB_KEYS.items()}
    return {inverse[k]: v for k, v in rec.items() if k in inverse}  # the Hub copy drops sha


def _write_release(root: Path, lang: str = "python", records: dict | None = None) -> Path:
    for split, recs in (records or RECORDS).items():
        d = root / lang / "final" / "jsonl" / split
        d.mkdir(parents=True, exist_ok=True)
        half = max(1, len(recs) // 2)
        for k, chunk in enumerate((recs[:half], recs[half:])):
            if chunk:
                data = "".join(json.dumps(r) + "\n" for r in chunk).encode()
                (d / f"{lang}_{split}_{k}.jsonl.gz").write_bytes(gzip.compress(data))
    return root


def _dedupe_records() -> list[dict]:
    out = []
    for i, rec in enumerate(RECORDS["train"][:3] + RECORDS["test"][:1]):
        out.append({"nwo": rec["repo"], "sha": rec["sha"], "path": rec["path"], "language": "python",
                    "identifier": rec["func_name"], "parameters": "(x)", "argument_list": "", "return_statement": "return x",
                    "docstring": rec["docstring"], "docstring_summary": docstring_summary(rec["docstring"]),
                    "docstring_tokens": rec["docstring_tokens"], "function": rec["code"],
                    "function_tokens": rec["code_tokens"], "url": rec["url"], "score": 0.25 * i})
    out.append({"nwo": "owner/project", "sha": SHA, "path": "pkg/nodoc.py", "language": "python", "identifier": "nodoc",
                "parameters": "()", "argument_list": "", "return_statement": "", "docstring": "",
                "docstring_summary": "", "docstring_tokens": [], "function": "def nodoc():\n    return 1\n",
                "function_tokens": ["def", "nodoc", "(", ")", ":", "return", "1"],
                "url": f"https://github.com/owner/project/blob/{SHA}/pkg/nodoc.py#L1-L2", "score": 1.0})
    return out


def _rows(out: Path, split: str | None = None) -> dict[str, dict]:
    return {r["id"]: r for r in PairsDir(out).read(split=split).to_pylist()}


def test_release_layout_keeps_all_fields(tmp_path, accounted, hf_load):
    root = _write_release(tmp_path / "data")
    m = csn.build(tmp_path / "o", path=root)
    accounted(m)
    assert m["splits"] == {"python": {"train": 7, "valid": 3, "test": 4}}
    rows = _rows(tmp_path / "o")
    rec = RECORDS["train"][0]
    row = rows[make_id("codesearchnet", rec["url"])]
    assert row["query"] == "Return the 0th value."  # the summary: before the blank line
    assert row["query_tokens"] == rec["docstring_tokens"] and row["code_tokens"] == rec["code_tokens"]
    assert (row["repo"], row["path"], row["func_name"], row["sha"], row["url"]) == (
        rec["repo"], rec["path"], rec["func_name"], rec["sha"], rec["url"])
    assert (row["start_line"], row["end_line"]) == (1, 4)
    assert row["code"] == rec["code"]
    meta = load_meta(row["meta"])
    assert meta == {"docstring": rec["docstring"], "partition": "train"}  # original_string == code: not repeated
    javadoc = rows[make_id("codesearchnet", RECORDS["train"][1]["url"])]
    assert javadoc["query"] == "Compute 1 quickly."  # before the first '@'
    ds = hf_load(tmp_path / "o")
    assert ds["train"].num_rows == 7 and ds["valid"].num_rows == 3


def test_same_record_same_row_from_jsonl_zip_parquet_and_hub(tmp_path):
    release = csn.build(tmp_path / "release", path=_write_release(tmp_path / "data"))
    # {lang}.zip, read in place
    zpath = tmp_path / "python.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for f in sorted((tmp_path / "data").rglob("*.jsonl.gz")):
            zf.write(f, f.relative_to(tmp_path / "data").as_posix())
    zipped = csn.build(tmp_path / "zip", path=zpath)
    (tmp_path / "data" / "python.zip").write_bytes(zpath.read_bytes())  # the zip beside its extracted folder
    both = csn.build(tmp_path / "both", path=tmp_path / "data")
    assert both["counts"]["excluded"] == 0 and both["skipped"] == {"files_already_read_outside_archive": 6}
    assert both["fingerprint"] == release["fingerprint"]
    # the Hub copy downloaded as Parquet (refs/convert/parquet layout: {config}/{split}/0000.parquet)
    hubdir = tmp_path / "hub-download"
    for split, recs in RECORDS.items():
        hub_split = {"valid": "validation"}.get(split, split)
        (hubdir / "python" / hub_split).mkdir(parents=True)
        pq.write_table(pa.Table.from_pylist([_to_hub(r) for r in recs]), hubdir / "python" / hub_split / "0000.parquet")
    parquet = csn.build(tmp_path / "parquet", path=hubdir)
    # the Hub itself, through an injected loader that records its call
    calls = []

    def loader(path, name, *, split, revision, streaming):
        calls.append((path, name, split, revision, streaming))
        return {({"valid": "validation"}.get(s, s)): [_to_hub(r) for r in recs] for s, recs in RECORDS.items()}

    hub = csn.build(tmp_path / "hub", hub=csn.HUB_ID, revision="abc123", languages=["python"], loader=loader)
    assert calls == [(csn.HUB_ID, "python", None, "abc123", True)]
    assert hub["sources"][0]["revision"] == "abc123"
    reference = _rows(tmp_path / "release")
    assert len(reference) == 14
    for name, manifest in (("zip", zipped), ("parquet", parquet), ("hub", hub)):
        assert _rows(tmp_path / name) == reference, name
        assert manifest["fingerprint"] == release["fingerprint"], name
        assert manifest["splits"] == release["splits"]


def test_dedupe_definitions_corpus(tmp_path, accounted):
    d = tmp_path / "data"
    _write_release(d)
    with open(d / "python" / "python_dedupe_definitions_v2.pkl", "wb") as fh:
        pickle.dump(_dedupe_records(), fh, protocol=4)
    (d / "python" / "python_licenses.pkl").write_bytes(b"not read")
    m = csn.build(tmp_path / "o", path=d, splits=["test", "corpus"])
    accounted(m)
    assert m["splits"] == {"python": {"test": 4, "corpus": 5}}
    assert m["skipped"] == {"files_split_not_selected": 4}
    corpus = _rows(tmp_path / "o", "corpus")
    rec = RECORDS["train"][0]
    row = corpus[make_id("codesearchnet", "corpus", rec["url"])]
    assert row["query"] == "Return the 0th value." and row["code"] == rec["code"] and row["repo"] == "owner/project"
    assert row["func_name"] == rec["func_name"] and row["code_tokens"] == rec["code_tokens"]
    assert load_meta(row["meta"]) == {"parameters": "(x)", "argument_list": "", "return_statement": "return x",
                                      "docstring": rec["docstring"], "score": 0.0}
    nodoc = [r for r in corpus.values() if r["func_name"] == "nodoc"][0]
    assert nodoc["query"] is None and nodoc["query_tokens"] is None
    # corpus ids never collide with the pair ids of the same url
    assert make_id("codesearchnet", rec["url"]) not in corpus


def test_dedupe_pickle_that_runs_code_is_refused(tmp_path):
    import os

    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    d = tmp_path / "data"
    d.mkdir()
    with open(d / "python_dedupe_definitions_v2.pkl", "wb") as fh:
        pickle.dump([{"function": "x"}, Evil()], fh, protocol=4)
    with pytest.raises(CodequarryError, match="refused to load global"):
        csn.build(tmp_path / "o", path=d)
    assert not marker.exists()
    assert not list((tmp_path / "o").glob("data/*/*.parquet"))


def test_language_and_split_selection(tmp_path):
    root = _write_release(tmp_path / "data")
    go = {s: [_record("go", i, s) for i in range(300, 302)] for s in ("train",)}
    _write_release(root, "go", go)
    m = csn.build(tmp_path / "o", path=root, languages="go")
    assert m["splits"] == {"go": {"train": 2}} and m["skipped"]["files_language_not_selected"] == 6
    m = csn.build(tmp_path / "o2", path=root, splits="valid,test")
    assert m["splits"] == {"python": {"valid": 3, "test": 4}}
    m = csn.build(tmp_path / "o3", path=root)
    assert set(m["splits"]) == {"go", "python"}
    with pytest.raises(CodequarryError, match="unknown split"):
        csn.build(tmp_path / "o4", path=root, splits=["dev2"])
    with pytest.raises(CodequarryError, match="--path .* or --hub"):
        csn.build(tmp_path / "o5")


def test_bad_input_is_accounted(tmp_path, accounted, exclusions):
    d = tmp_path / "data" / "python" / "final" / "jsonl" / "train"
    d.mkdir(parents=True)
    good = [json.dumps(r) for r in RECORDS["train"]]
    lines = [good[0], "{not json", good[1], json.dumps({**RECORDS["train"][2], "code_tokens": "x y"}),
             good[0], json.dumps({**RECORDS["train"][3], "language": 7}), json.dumps({"repo": "a/b"})]
    (d / "python_train_0.jsonl.gz").write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    many = "".join(json.dumps(_record("python", i, "train")) + "\n" for i in range(500, 800)).encode()
    full = gzip.compress(many)
    (d / "python_train_1.jsonl.gz").write_bytes(full[: len(full) // 2])  # truncated download
    (d / "python_train_2.jsonl.gz").write_bytes(gzip.compress(b"\xff\xfe\n"))
    m = csn.build(tmp_path / "o", path=tmp_path / "data")
    counts = accounted(m)
    reasons = counts["exclusion_reasons"]
    assert reasons == {"build/malformed_json": 1, "build/wrong_type": 2, "build/duplicate_id": 1,
                       "build/missing_field": 1, "build/truncated_file": 1, "build/invalid_utf8": 1}
    assert 2 + 0 < counts["written"] < 2 + 300
    trunc = [e for e in exclusions(tmp_path / "o") if e["reason"] == "truncated_file"][0]
    assert trunc["locator"].startswith("python/final/jsonl/train/python_train_1.jsonl.gz:")


def test_zip_with_member_outside_is_excluded(tmp_path, accounted):
    zpath = tmp_path / "python.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.writestr("python/final/jsonl/test/python_test_0.jsonl.gz", gzip.compress(json.dumps(RECORDS["test"][0]).encode()))
        zf.writestr("../../python_test_1.jsonl.gz", gzip.compress(json.dumps(RECORDS["test"][1]).encode()))
        zf.writestr("/abs/python_test_2.jsonl.gz", gzip.compress(json.dumps(RECORDS["test"][2]).encode()))
    m = csn.build(tmp_path / "o", path=zpath)
    counts = accounted(m)
    assert counts["written"] == 1
    assert counts["exclusion_reasons"] == {"build/archive_path_traversal": 1, "build/archive_absolute_path": 1}
    assert not (tmp_path.parent / "python_test_1.jsonl.gz").exists()


def test_real_schema_fixture(tmp_path, shared_data, accounted):
    """CSN's own fixture: 256 identical synthetic rows (255 newlines), no url, extra keys kept in meta."""
    m = csn.build(tmp_path / "o", path=shared_data / "codesearchnet" / "csn-schema-fixture-python.jsonl.gz")
    counts = accounted(m)
    assert counts["read"] == 256 and counts["excluded"] == 0
    assert m["splits"] == {"python": {"test": 256}}
    row = next(iter(_rows(tmp_path / "o").values()))
    meta = load_meta(row["meta"])
    assert {"comment_tokens", "doc_id", "hash_key", "hash_val", "lineno"} <= set(meta)
    assert meta["original_string"] != row["code"]  # differs in this fixture, so it is kept
    assert row["sha"] is None and row["url"] is None


def test_summary_rule():
    assert docstring_summary("First para.\n\nSecond @para.") == "First para."
    assert docstring_summary("Does X.\n@param a thing") == "Does X."
    assert docstring_summary("  just this  ") == "just this"
    assert docstring_summary("@return nothing") is None
    assert docstring_summary("") is None and docstring_summary(None) is None
