"""A global step's resolve split over Ray workers, for steps whose groups are decided by one column.

A step that declares ``partition_column`` (``exact_dedup``: its code hash ``key``; the engine's
``unique_id``: ``id``) decides each group of equal values independently of every other group. So
its resolve runs as a shuffle:

1. per chunk (one task each): the chunk's mapped rows are cut into ``P`` parts by a hash of the
   column, one file per chunk whose batch p is part p's rows, ``resolve-SSS/parts-PPP/cCCCCCC.arrow``
   (``ray_batch_files``: files grow with chunks + parts, not chunks × parts); ``P`` is one per CPU at
   least and grows with the corpus (``ROWS_PER_PART`` rows a part), so a part task's memory does not;
2. per part (one task each): the step's own ``resolve`` over that part of every chunk (all rows of
   a group are in the same part), its decision saved as data, ``resolve-SSS/part-PPP.json``;
3. one task merges the parts' decisions (disjoint dicts: their union is what one resolve over all
   rows returns) and saves the step's decision as the local engine does, column by column from the
   parts' memory-mapped maps (``decision_store.save_union``), never as one dict of every entry.

Every file is written under a temporary name and renamed, so a rerun redoes only missing files.
Near-dedup and leakage resolve as a band shuffle (``ray_near_dedup``, ``ray_leakage``); split in one
worker task (``local_engine._resolve``).
"""

from __future__ import annotations

import hashlib
import shutil
from collections import ChainMap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

ROWS_PER_PART = 1_000_000  # input rows a part task resolves at once (exact_dedup holds only its dropped ones)


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


def _cut_file(work: Any, step: int, c: int, parts: int) -> Path:
    """Chunk c's rows cut into parts: one file, batch p holding part p's rows (``ray_batch_files``)."""
    return _dir(work, step, parts) / f"c{c:06d}.arrow"


def _part_decision(work: Any, step: int, p: int, parts: int) -> Path:
    return _dir(work, step, parts) / f"part-{p:03d}.json"


def cut_chunk(work: Any, k: int, c: int, parts: int) -> None:
    """Stage 1: cut chunk ``c``'s mapped rows of pass ``k`` into ``parts`` shares by the partition column, one file
    (batch p: part p's rows, in the chunk's order)."""
    from codequarry.cleaners.local_engine import read_arrow
    from codequarry.cleaners.ray_batch_files import by_part, write_batches

    step = work.passes[k].map
    target = _cut_file(work, step, c, parts)
    if target.exists():
        return
    table = read_arrow(work.map_path(k, c))
    ids = part_ids(table.column(partition_column(work.steps[step])), parts)
    shares = [table.take(pa.array(sel)) for sel in by_part(ids, parts)]
    write_batches(target, table.schema, shares)


def part_count(work: Any, step: Any, cpus: int) -> int:
    """Parts of a partitioned resolve: one per CPU at least, more as the corpus grows (at most
    ``ROWS_PER_PART`` input rows each), so a part task's memory does not grow with the corpus; 1 (one resolve
    over all rows) for a step without a partition column or a small corpus on one CPU."""
    if partition_column(step) is None:
        return 1
    rows = sum(c.length for c in work.chunks)
    return max(1, cpus, -(-rows // ROWS_PER_PART))


def resolve_part(work: Any, k: int, p: int, parts: int) -> None:
    """Stage 2: the step's resolve over part ``p`` of every chunk, saved as data."""
    from codequarry.cleaners import decision_store
    from codequarry.cleaners.ray_batch_files import read_batch

    step_i = work.passes[k].map
    target = _part_decision(work, step_i, p, parts)
    if target.exists():
        return
    scratch = _dir(work, step_i, parts) / f"scratch-{p:03d}"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    decision = work.steps[step_i].resolve((read_batch(_cut_file(work, step_i, c.index, parts), p, parts)
                                           for c in work.chunks),
                                          scratch)
    if not isinstance(decision, dict):
        raise RuntimeError(f"step {work.steps[step_i].name!r} declares a partition column but its decision is "
                           f"a {type(decision).__name__}, not a dict")
    decision_store.save(target, work.steps[step_i], decision, compact=True)
    shutil.rmtree(scratch, ignore_errors=True)


def merge_parts(work: Any, k: int, parts: int) -> None:
    """Stage 3: the union of the parts' decisions is the step's decision (saved with its summary, as the
    local engine saves it); the part files go."""
    from codequarry.cleaners import decision_store
    from codequarry.cleaners.engine import decision_summary
    from codequarry.cleaners.local_engine import _write_json

    step_i = work.passes[k].map
    step = work.steps[step_i]
    decisions = []
    for p in range(parts):
        path = _part_decision(work, step_i, p, parts)
        part = decision_store.load(path, step)  # a memory-mapped ArrowMap when large (saved compact)
        if not isinstance(part, Mapping):
            raise RuntimeError(f"{path}: not a part of {step.name}'s decision")
        decisions.append(part)
    union = ChainMap(*decisions) if getattr(step, "summary", None) else {}  # a view, no copy (disjoint parts)
    _write_json(work.summary_path(step_i), {"summary": decision_summary(step, union)})
    # as the local engine saves it, column by column; written last: the decision marks the resolve done
    decision_store.save_union(work.decision_path(step_i), step, decisions)
    shutil.rmtree(_dir(work, step_i, parts).parent, ignore_errors=True)
