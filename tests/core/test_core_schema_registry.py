"""Row schema helpers and the shared registry."""

from __future__ import annotations

import pyarrow as pa
import pytest

from codequarry.errors import CodequarryError
from codequarry.registry import Registry
from codequarry.schema import CORE_COLUMNS, conform, dump_meta, make_id, rows_to_table


def test_make_id_is_stable_and_source_scoped():
    assert make_id("cosqa", "cosqa-dev-1") == make_id("cosqa", "cosqa-dev-1")
    assert make_id("cosqa", "cosqa-dev-1") != make_id("cosqa", "cosqa-dev-2")
    assert make_id("cosqa", "a", "b") != make_id("cosqa", "a\x1fb", "")[:0] + make_id("cosqa", "ab")
    assert make_id("staqc", 1).startswith("staqc-")


def test_meta_is_canonical():
    assert dump_meta({"b": 1, "a": "é"}) == dump_meta({"a": "é", "b": 1}) == '{"a":"é","b":1}'
    assert dump_meta(None) is None


def test_rows_to_table_orders_core_then_extras():
    t = rows_to_table([{"zeta": 1, "id": "x", "code": "c", "start_line": 3}])
    assert t.column_names[: len(CORE_COLUMNS)] == list(CORE_COLUMNS)
    assert t.column_names[len(CORE_COLUMNS):] == ["zeta", "start_line"]
    assert t.schema.field("start_line").type == pa.int32()


def test_conform_fills_and_casts():
    t = pa.table({"code": ["c"], "id": ["x"], "label": pa.array([1], pa.int64()), "extra": [2.5]})
    c = conform(t)
    assert c.column_names[: len(CORE_COLUMNS)] == list(CORE_COLUMNS)
    assert c.schema.field("label").type == pa.int32()
    assert c.column("query").null_count == 1
    with pytest.raises(CodequarryError, match="non-null 'id'"):
        conform(pa.table({"id": pa.array([None], pa.string())}))


def test_registry_rejects_duplicates_and_suggests():
    reg: Registry[int] = Registry("task")
    reg.register("cosqa", 1)
    reg.register("advtest", 2)
    with pytest.raises(ValueError, match="duplicate"):
        reg.register("cosqa", 3)
    with pytest.raises(CodequarryError, match="Did you mean 'cosqa'"):
        reg.get("cosq")
    assert reg.names() == ["cosqa", "advtest"] and "advtest" in reg and len(reg) == 2
