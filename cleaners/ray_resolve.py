"""A global step's resolve split over Ray workers, for steps whose groups are decided by one column.

A step that declares ``partition_column`` (``exact_dedup``: its code hash ``key``; the engine's
``unique_id``: ``id``) decides each group of equal values independently of every other group. So
its resolve runs as a shuffle:

1. per chunk (one task each): the chunk's mapped rows are cut into ``P`` parts by a hash of the
   column, ``resolve-SSS/parts/cCCCCCC.pPPP.arrow``;
2. per part (one task each): the step's own ``resolve`` over that part of every chunk (all rows of
   a group are in the same part), its decision saved as data, ``resolve-SSS/part-PPP.json``;
3. one task merges the parts' decisions (disjoint dicts: their union is what one resolve over all
   rows returns) and saves the step's decision as the local engine does.

Every file is written under a temporary name and renamed, so a rerun redoes only missing files.
Near-dedup and leakage resolve as a band shuffle (``ray_near_dedup``, ``ray_leakage``); split in one
worker task (``local_engine._resolve``).
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa


def partition_column(step: Any) -> str | None:
    """The column that alone decides a step's groups (None: the step resolves all rows at once)."""
    col = getattr(step, "partition_column", None)
    return col if isinstance(col, str) else None


def part_ids(values: pa.ChunkedArray | pa.Array, parts: int) -> np.ndarray:
    """The part of each value: a stable hash (blake2b of its bytes, so the same on every node and Python run)."""
    out = np.zeros(len(values), dtype=np.int64)
    for i, v in enumerate(values.to_pylist()):
        if v is None:
            continue
        data = v if isinstance(v, bytes) else str(v).encode("utf-8", "surrogatepass")
        out[i] = int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big") % parts
    return out


def _dir(work: Any, step: int, parts: int) -> Path:
    """Per step and part count (a rerun on a cluster of another size starts its shuffle afresh)."""
    return work.work / f"resolve-{step:03d}" / f"parts-{parts:03d}"


def _part_file(work: Any, step: int, c: int, p: int, parts: int) -> Path:
    return _dir(work, step, parts) / f"c{c:06d}.p{p:03d}.arrow"


def _part_decision(work: Any, step: int, p: int, parts: int) -> Path:
    return _dir(work, step, parts) / f"part-{p:03d}.json"


def cut_chunk(work: Any, k: int, c: int, parts: int) -> None:
    """Stage 1: cut chunk ``c``'s mapped rows of pass ``k`` into ``parts`` files by the partition column."""
    from codequarry.cleaners.local_engine import read_arrow, write_arrow

    step = work.passes[k].map
    if all(_part_file(work, step, c, p, parts).exists() for p in range(parts)):
        return
    table = read_arrow(work.map_path(k, c))
    ids = part_ids(table.column(partition_column(work.steps[step])), parts)
    _dir(work, step, parts).mkdir(parents=True, exist_ok=True)
    for p in range(parts):
        write_arrow(_part_file(work, step, c, p, parts), table.filter(pa.array(ids == p)))


def resolve_part(work: Any, k: int, p: int, parts: int) -> None:
    """Stage 2: the step's resolve over part ``p`` of every chunk, saved as data."""
    from codequarry.cleaners import decision_store
    from codequarry.cleaners.local_engine import read_arrow

    step_i = work.passes[k].map
    target = _part_decision(work, step_i, p, parts)
    if target.exists():
        return
    scratch = _dir(work, step_i, parts) / f"scratch-{p:03d}"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    decision = work.steps[step_i].resolve((read_arrow(_part_file(work, step_i, c.index, p, parts)) for c in work.chunks),
                                          scratch)
    if not isinstance(decision, dict):
        raise RuntimeError(f"step {work.steps[step_i].name!r} declares a partition column but its decision is "
                           f"a {type(decision).__name__}, not a dict")
    decision_store.save(target, work.steps[step_i], decision)
    shutil.rmtree(scratch, ignore_errors=True)


def merge_parts(work: Any, k: int, parts: int) -> None:
    """Stage 3: the union of the parts' decisions is the step's decision (saved with its summary, as the
    local engine saves it); the part files go."""
    from codequarry.cleaners import decision_store
    from codequarry.cleaners.engine import decision_summary
    from codequarry.cleaners.local_engine import _write_json

    step_i = work.passes[k].map
    step = work.steps[step_i]
    decision: dict[Any, Any] = {}
    for p in range(parts):
        path = _part_decision(work, step_i, p, parts)
        part = decision_store.load(path, step)
        if not isinstance(part, dict) or decision.keys() & part.keys():
            raise RuntimeError(f"{path}: not a disjoint part of {step.name}'s decision")
        decision.update(part)
    _write_json(work.summary_path(step_i), {"summary": decision_summary(step, decision)})
    decision_store.save(work.decision_path(step_i), step, decision, compact=True)  # as the local engine saves it
    shutil.rmtree(_dir(work, step_i, parts).parent, ignore_errors=True)
