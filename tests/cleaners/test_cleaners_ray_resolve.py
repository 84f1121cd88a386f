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


@pytest.mark.parametrize("parts", [1, 3, 8])
def test_staged_partitioned_resolve_equals_the_local_one_with_one_file_per_chunk(
        stdlib_pairs: Any, tmp_path: Path, parts: int, work_at_step: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """cut (one file per chunk, a batch per part) → one resolve per part → merge: the local engine's decision file
    byte for byte (saved compact), with chunks files for the cut, not chunks × parts."""
    from codequarry.cleaners import decision_map, decision_store, ray_resolve
    from codequarry.cleaners.local_engine import _resolve

    monkeypatch.setattr(decision_map, "MIN_ROWS", 1)  # every decision as a memory-mapped map, as at scale
    steps = [{"step": "exact_dedup"}]
    work, k = work_at_step(stdlib_pairs, tmp_path / "w", steps, "exact_dedup", 60)
    local, _ = work_at_step(stdlib_pairs, tmp_path / "local", steps, "exact_dedup", 60)
    _resolve(local, local.passes[k])
    step_i = work.passes[k].map
    for c in work.chunks:
        ray_resolve.cut_chunk(work, k, c.index, parts)
    cut_dir = work.work / f"resolve-{step_i:03d}" / f"parts-{parts:03d}"
    assert len(list(cut_dir.glob("c*.arrow"))) == len(work.chunks) > 3
    for p in range(parts):
        ray_resolve.resolve_part(work, k, p, parts)
    ray_resolve.merge_parts(work, k, parts)
    ours, theirs = work.decision_path(step_i), local.decision_path(step_i)
    assert decision_store.load(ours, work.steps[step_i]) == decision_store.load(theirs, local.steps[step_i])
    assert len(decision_store.load(ours, work.steps[step_i])) > 10  # there were copies to drop
    if parts == 1:  # one part: the very same entries in the same order, so the same bytes
        assert decision_store.map_path(ours, 0).read_bytes() == decision_store.map_path(theirs, 0).read_bytes()
    assert not cut_dir.parent.exists()  # the stage files are gone


def test_parts_grow_with_the_corpus(monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    from codequarry.cleaners import ray_resolve

    work = SimpleNamespace(chunks=[SimpleNamespace(length=10_000)] * 250)  # 2.5M rows
    assert ray_resolve.part_count(work, ExactDedup(Params()), 2) == 3
    assert ray_resolve.part_count(work, ExactDedup(Params()), 16) == 16
    monkeypatch.setattr(ray_resolve, "ROWS_PER_PART", 100_000)
    assert ray_resolve.part_count(work, UniqueIds(), 1) == 25
    assert ray_resolve.part_count(work, NearDedup(), 4) == 1  # not a partitioned step
