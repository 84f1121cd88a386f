"""The partitioned resolve of the Ray engine (ray_resolve): for a step with a partition column, the union of the
step's resolve over each part (cut by ``part_ids``) is exactly its resolve over all rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from codequarry.cleaners.engine import POS, UniqueIds
from codequarry.cleaners.exact_dedup import ExactDedup, Params
from codequarry.cleaners.near_dedup import NearDedup
from codequarry.cleaners.ray_resolve import part_ids, partition_column


def _mapped(h: Any, step: Any) -> list[pa.Table]:
    rows = [h.row(i, code=f"def f{i % 7}(a):\n    # note {i}\n    return a + {i % 7}\n") for i in range(60)]
    rows += [h.row(i, code=f"def g{i}(a):\n    return a * {i}\n") for i in range(40)]  # repeated ids: row-0..39
    table = h.batch(rows, split=["train", "valid", "test", "train"] * 25)
    table = table.append_column(POS, pa.array(range(table.num_rows), pa.int64()))
    return [step.map(table.slice(i, 25)) for i in range(0, table.num_rows, 25)]


@pytest.mark.parametrize("parts", [2, 3, 5])
@pytest.mark.parametrize("make", [lambda: ExactDedup(Params()), UniqueIds], ids=["exact_dedup", "unique_id"])
def test_union_of_parts_is_the_whole_decision(h: Any, tmp_path: Path, parts: int, make: Any) -> None:
    step = make()
    column = partition_column(step)
    assert column is not None
    mapped = _mapped(h, step)
    whole = step.resolve(iter(mapped), tmp_path / "all")
    assert whole  # there are duplicates to decide
    union: dict[Any, Any] = {}
    for p in range(parts):
        piece = [t.filter(pa.array(part_ids(t.column(column), parts) == p)) for t in mapped]
        decision = step.resolve(iter(piece), tmp_path / f"p{p}")
        assert not union.keys() & decision.keys()
        union.update(decision)
    assert union == whole


def test_part_ids_are_stable_and_spread() -> None:
    values = pa.array([f"id-{i}" for i in range(1000)] + [None])
    ids = part_ids(values, 4)
    assert list(ids) == list(part_ids(values, 4)) and set(ids[:-1]) == {0, 1, 2, 3} and ids[-1] == 0
    assert part_ids(pa.array([b"\x00" * 16]), 7)[0] == int.from_bytes(__import__("hashlib").blake2b(
        b"\x00" * 16, digest_size=8).digest(), "big") % 7


def test_steps_without_a_partition_column_resolve_whole() -> None:
    assert partition_column(NearDedup()) is None
