"""``meta`` is standard JSON (issue 14 item 10): NaN and ±Infinity are stored as null, never as the
non-standard ``NaN``/``Infinity`` tokens Python's json module writes by default."""

from __future__ import annotations

import json
import math

import pyarrow.parquet as pq

from codequarry.pairs import PairsDir, PairsWriter
from codequarry.schema import dump_meta, rows_to_table


def _strict(text: str) -> object:
    def refuse(token: str) -> None:
        raise ValueError(f"non-standard JSON token {token}")

    return json.loads(text, parse_constant=refuse)


def test_non_finite_floats_become_null_in_a_mapping_and_in_a_serialized_meta() -> None:
    meta = {"score": math.nan, "range": [1.5, math.inf, -math.inf], "nested": {"x": math.nan}, "ok": 2.0}
    want = {"score": None, "range": [1.5, None, None], "nested": {"x": None}, "ok": 2.0}
    assert _strict(dump_meta(meta)) == want
    assert _strict(dump_meta('{"score": NaN, "range": [1.5, Infinity, -Infinity], "nested": {"x": NaN}, "ok": 2.0}')) \
        == want
    assert dump_meta({"a": 1, "b": "NaN"}) == '{"a":1,"b":"NaN"}'  # the string "NaN" is data, kept
    assert dump_meta('{"b": "Infinity"}') == '{"b": "Infinity"}'  # already standard: kept byte for byte
    assert dump_meta("not json NaN") == "not json NaN"


def test_written_rows_and_exclusions_hold_standard_json(tmp_path) -> None:
    rows = [{"id": "a", "query": "q", "code": "c", "language": "python", "meta": {"p": math.nan}},
            {"id": "b", "query": "q", "code": "c", "language": "python", "meta": '{"p": Infinity}'}]
    assert [_strict(m) for m in rows_to_table(rows).column("meta").to_pylist()] == [{"p": None}, {"p": None}]
    with PairsWriter(tmp_path / "out", created_by="pytest") as w:
        w.add_read(3)
        w.write(rows, split="train")
        w.exclude("bad", row={"id": "c", "meta": {"p": -math.inf}})
    d = PairsDir(tmp_path / "out")
    assert [_strict(m) for m in d.read().column("meta").to_pylist()] == [{"p": None}, {"p": None}]
    ex = pq.read_table(tmp_path / "out" / d.manifest["exclusion_files"][0]["path"])
    assert _strict(ex.column("meta")[0].as_py()) == {"p": None}
