"""Readers turn every bad input into an accounted ``Bad`` item and keep the good records around it."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from codequarry.builders import _io, _readers
from codequarry.builders._io import Bad, Input, discover
from codequarry.builders._readers import iter_records
from codequarry.errors import CodequarryError


def _items(path: Path, fmt: str | None = None):
    return list(iter_records(Input(path.name, path), fmt))


def _good(items):
    return [rec for rec in items if not isinstance(rec, Bad)]


def _bad(items):
    return [(b.reason, b.locator) for b in items if isinstance(b, Bad)]


def test_jsonl_bad_lines_are_items_and_good_lines_survive(tmp_path):
    p = tmp_path / "x.jsonl"
    p.write_bytes(b'{"a": 1}\n\n{"a": 2\n{"a": "caf\xff"}\n   \n[1, 2]\n{"a": 3}')
    items = _items(p)
    assert [r for _, r in _good(items)] == [{"a": 1}, [1, 2], {"a": 3}]
    assert _bad(items) == [("malformed_json", "x.jsonl:3"), ("invalid_utf8", "x.jsonl:4")]
    raw = [b.raw for b in items if isinstance(b, Bad) and b.reason == "invalid_utf8"][0]
    assert "\\xff" in raw  # the raw bytes are kept, escaped


def test_truncated_gzip_keeps_rows_before_the_cut(tmp_path):
    lines = b"".join(json.dumps({"i": i, "pad": "x" * 50}).encode() + b"\n" for i in range(2000))
    full = gzip.compress(lines)
    p = tmp_path / "cut.jsonl.gz"
    p.write_bytes(full[: len(full) * 2 // 3])
    items = _items(p)
    good = [r["i"] for _, r in _good(items)]
    assert good == list(range(len(good))) and 0 < len(good) < 2000
    (bad,) = [b for b in items if isinstance(b, Bad)]
    assert bad.reason == "truncated_file" and f"after {len(good)} complete records" in bad.detail
    assert bad.locator == f"cut.jsonl.gz:{len(good) + 1}"


def test_corrupt_and_not_gzip_files(tmp_path):
    p = tmp_path / "fake.jsonl.gz"
    p.write_bytes(b'{"a": 1}\n')
    assert _bad(_items(p)) == [("corrupt_file", "fake.jsonl.gz:1")]


def test_empty_files(tmp_path):
    for name, data in (("e.jsonl", b""), ("blank.jsonl", b"\n \n"), ("e.json", b"  "), ("arr.json", b"[ ]"),
                       ("e.csv", b""), ("h.csv", b"a,b\n")):
        p = tmp_path / name
        p.write_bytes(data)
        assert [r for r, _ in _bad(_items(p))] == ["empty_file"], name
    gz = tmp_path / "e.jsonl.gz"
    gz.write_bytes(gzip.compress(b""))
    assert [r for r, _ in _bad(_items(gz))] == ["empty_file"]


def test_json_array_streams_across_small_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(_readers, "_JSON_CHUNK", 7)  # every element and number straddles chunk boundaries
    data = [{"idx": f"q-{i}", "doc": "caf\u00e9 \u2603 " * (i % 3), "n": 1234567890123 + i, "f": 1.5e-7} for i in range(50)]
    data.append(98765432109876)  # a bare number at the very end of the array
    p = tmp_path / "a.json"
    p.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    items = _items(p)
    assert [r for _, r in items] == data
    assert items[3][0] == "a.json[3]"


def test_json_array_syntax_error_keeps_the_elements_before(tmp_path):
    p = tmp_path / "bad.json"
    p.write_text('[{"a": 1}, {"a": 2}, {"a": oops}, {"a": 4}]')
    items = _items(p)
    assert [r for _, r in _good(items)] == [{"a": 1}, {"a": 2}]
    assert _bad(items) == [("malformed_json", "bad.json[2]")]
    p.write_text('[{"a": 1} {"a": 2}]')
    assert _bad(_items(p)) == [("malformed_json", "bad.json[1]")]
    p.write_text('[{"a": 1}, {"a": 2}')
    assert _bad(_items(p)) == [("malformed_json", "bad.json[2]")]
    p.write_text('"just a string"')
    assert _bad(_items(p)) == [("malformed_json", "bad.json")]


def test_json_invalid_utf8_is_carried_for_the_sink_to_exclude(tmp_path):
    p = tmp_path / "u.json"
    p.write_bytes(b'[{"doc": "ok"}, {"doc": "bad \xff byte"}]')
    recs = [r for _, r in _good(_items(p))]
    assert recs[0] == {"doc": "ok"} and "\udcff" in recs[1]["doc"]


def test_json_deep_nesting_is_malformed_not_a_crash(tmp_path):
    p = tmp_path / "deep.jsonl"
    p.write_text('{"a": 1}\n' + "[" * 100_000 + "]" * 100_000 + "\n")
    items = _items(p)
    assert _bad(items) == [("malformed_json", "deep.jsonl:2")]


def test_csv_multiline_quoted_fields_and_ragged_rows(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text('query,code,note\n"sort a list","def f(x):\n    return sorted(x)","multi\nline"\n'
                 'q2,c2\nq3,c3,n3,extra\n"q4","c,4",n4\n', encoding="utf-8")
    items = _items(p)
    good = [r for _, r in _good(items)]
    assert good == [{"query": "sort a list", "code": "def f(x):\n    return sorted(x)", "note": "multi\nline"},
                    {"query": "q4", "code": "c,4", "note": "n4"}]
    assert [r for r, _ in _bad(items)] == ["malformed_csv", "malformed_csv"]
    tsv = tmp_path / "t.tsv"
    tsv.write_text("query\tcode\nq\tc\n")
    assert [r for _, r in _items(tsv)] == [{"query": "q", "code": "c"}]


def test_parquet_and_arrow(tmp_path):
    table = pa.table({"query": ["a", "b", "c"], "code": ["x", "y", "z"]})
    pq.write_table(table, tmp_path / "t.parquet", row_group_size=2)
    items = _items(tmp_path / "t.parquet")
    assert [loc for loc, _ in items] == ["t.parquet#0", "t.parquet#1", "t.parquet#2"]
    with pa.OSFile(str(tmp_path / "t.arrow"), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as w:
        w.write_table(table)
    assert [r["code"] for _, r in _items(tmp_path / "t.arrow")] == ["x", "y", "z"]
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 garbage")
    assert [r for r, _ in _bad(_items(tmp_path / "broken.parquet"))] == ["corrupt_file"]


def test_unsupported_extension_is_an_error(tmp_path):
    p = tmp_path / "x.xml"
    p.write_text("<a/>")
    with pytest.raises(CodequarryError, match="unsupported file type"):
        _items(p)


def test_discover_walks_sorted_skips_hidden_and_survives_symlink_loops(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "2.jsonl").write_text("{}\n")
    (tmp_path / "a.jsonl").write_text("{}\n")
    (tmp_path / ".hidden.jsonl").write_text("{}\n")
    (tmp_path / "b" / "loop").symlink_to(tmp_path)  # a folder link back to the root
    inputs, bad = discover([tmp_path], accept=lambda n: n.endswith(".jsonl"))
    assert [i.name for i in inputs] == ["a.jsonl", "b/2.jsonl"]
    assert [(b.reason, b.locator) for b in bad] == [("symlink", "b/loop")]  # reported, not followed
    with pytest.raises(CodequarryError, match="does not exist"):
        _io.as_paths([tmp_path / "nope"])


def test_unreadable_file_is_an_item(tmp_path):
    p = tmp_path / "dangling.jsonl"
    p.symlink_to(tmp_path / "missing-target.jsonl")
    assert [r for r, _ in _bad(_items(p))] == ["unreadable_file"]
    q = tmp_path / "locked.jsonl"
    q.write_text("{}\n")
    q.chmod(0)
    try:
        if os.access(q, os.R_OK):
            pytest.skip("running with privileges that ignore file modes")
        assert [r for r, _ in _bad(_items(q))] == ["unreadable_file"]
    finally:
        q.chmod(0o644)


def test_real_annotation_store_multiline_notes(shared_data):
    """CodeSearchNet's annotationStore.csv: 4,006 judgments, Notes span lines (172 non-empty)."""
    p = shared_data / "codesearchnet" / "annotationStore.csv"
    items = _items(p)
    rows = [r for _, r in _good(items)]
    assert not _bad(items) and len(rows) == 4006
    assert list(rows[0]) == ["Language", "Query", "GitHubUrl", "Relevance", "Notes"]
    assert sum(1 for r in rows if r["Notes"].strip()) == 172
    assert any("\n" in r["Notes"] for r in rows)
