"""Global steps' per-row state spilled to disk and read back a column at a time (bounded memory in resolve).

A global step's ``resolve`` sees every mapped row (band hashes, shingle sets, keys). Holding them all,
plus Python objects per row, made memory grow by kilobytes a row. :class:`Spill` writes each mapped
table to an Arrow IPC file in the resolve's work dir as it arrives and hands back one column (or one
band) of all rows at a time, memory-mapped and copied out per file, so what stays in memory is a few
numbers per row (a position, a band's hashes while that band is processed).

The keep order (``keep_order_key``: most held-out split, then split name, then id) is found the same
way: each spilled table's keys are sorted (a *run*, Arrow's sort in C++) and written next to it, and
the runs are merged with a streaming k-way merge (``heapq.merge``), which yields every row's keep
position without ever holding all keys as Python objects. Duplicate ids are found from 64-bit id
hashes (and confirmed on the ids themselves), as ``check_ids`` requires.
"""

from __future__ import annotations

import heapq
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from codequarry.cleaners import sorted_arrays
from codequarry.cleaners.keep_rule import HELD_OUT_RANK, NO_SPLIT_RANK, OTHER_SPLIT_RANK
from codequarry.errors import CodequarryError

_RUN_BATCH = 8192  # rows per record batch read while merging runs
_SORT_BYTES = 256 << 20  # keys sorted together in memory up to this size; beyond it, sorted runs + k-way merge
_BAND_GROUP_VALUES = 16_000_000  # band hashes read per pass over the spill files (128 MB)
_VERIFY_EDGES = 50_000  # candidate pairs verified together (bounds the shingle sets held: ≤ 2 rows per pair)


def _write(path: Path, table: pa.Table) -> None:
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)


class Spill:
    """Mapped tables in Arrow IPC files under ``workdir`` (a temporary folder when None), in arrival order.

    ``with Spill(mapped, workdir) as s:`` removes the files afterwards. A row's *arrival* index is its
    position in the concatenation of the mapped tables; ``pos`` (after :meth:`keep_order`) maps it to
    its position in keep order.
    """

    def __init__(self, mapped: Iterable[pa.Table], workdir: Path | None) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="codequarry-spill-") if workdir is None else None
        base = Path(self._tmp.name) if self._tmp is not None else Path(workdir)
        self.dir = base / "spill"
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True)
        self.paths: list[Path] = []
        sizes = []
        for table in mapped:
            if not table.num_rows:
                continue
            path = self.dir / f"{len(self.paths):06d}.arrow"
            _write(path, table)
            self.paths.append(path)
            sizes.append(table.num_rows)
        self.sizes = np.asarray(sizes, dtype=np.int64)
        self.starts = np.concatenate([[0], np.cumsum(self.sizes)]).astype(np.int64)
        self.n = int(self.starts[-1])

    def __enter__(self) -> Spill:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
        if self._tmp is not None:
            self._tmp.cleanup()

    # reading -------------------------------------------------------------------------------
    def tables(self, columns: list[str] | None = None) -> Iterator[pa.Table]:
        """Each spilled table (only ``columns``), copied out of its memory map so the map can close."""
        for path in self.paths:
            with pa.memory_map(str(path), "r") as source:
                table = pa.ipc.open_file(source).read_all()
                if columns is not None:
                    table = table.select(columns)
                yield table.combine_chunks() if table.num_rows else table
                del table

    def numbers(self, name: str, dtype: type = np.int64) -> np.ndarray:
        """A numeric column of every row, in arrival order."""
        parts = [t.column(0).to_numpy(zero_copy_only=False).astype(dtype, copy=True) for t in self.tables([name])]
        return np.concatenate(parts) if parts else np.zeros(0, dtype)

    def bands(self, name: str, width: int) -> Iterator[np.ndarray]:
        """Column b of the fixed-size-list column ``name`` (width ``width``: band hashes) for b = 0 … width-1 in turn,
        every row in arrival order; each spill file is read once per group of bands, the group sized to hold about
        ``_BAND_GROUP_VALUES`` hashes (one band at a time when the rows alone are that many)."""
        per = int(max(1, min(width, _BAND_GROUP_VALUES // max(1, self.n))))
        for lo in range(0, width, per):
            hi = min(width, lo + per)
            group = np.empty((hi - lo, self.n), dtype=np.uint64)
            for k, path in enumerate(self.paths):
                with pa.memory_map(str(path), "r") as source:
                    col = pa.ipc.open_file(source).read_all().column(name)
                    flat = np.concatenate([c.flatten().to_numpy(zero_copy_only=False) for c in col.chunks])
                    group[:, self.starts[k]:self.starts[k + 1]] = flat.reshape(-1, width)[:, lo:hi].T
                    del col, flat
            yield from group  # one band's row of hashes at a time
            del group

    def strings(self, name: str, arrivals: np.ndarray) -> dict[int, str | None]:
        """Values of a string column for the given arrival indices (sorted or not)."""
        want = sorted_arrays.unique(arrivals)
        out: dict[int, str | None] = {}
        for k, table in enumerate(self.tables([name])):
            lo, hi = np.searchsorted(want, [self.starts[k], self.starts[k + 1]])
            if lo == hi:
                continue
            local = want[lo:hi] - self.starts[k]
            values = table.column(0).take(pa.array(local)).to_pylist()
            out.update(zip(want[lo:hi].tolist(), values))
        return out

    def lists(self, name: str, arrivals: np.ndarray) -> dict[int, np.ndarray]:
        """Per-row numpy arrays of a list column, only for the given arrival indices."""
        want = sorted_arrays.unique(arrivals)
        out: dict[int, np.ndarray] = {}
        for k, table in enumerate(self.tables([name])):
            lo, hi = np.searchsorted(want, [self.starts[k], self.starts[k + 1]])
            if lo == hi:
                continue
            col = table.column(0).chunk(0) if table.column(0).num_chunks == 1 else table.column(0).combine_chunks()
            offsets = col.offsets.to_numpy()
            values = col.values.to_numpy(zero_copy_only=False)
            for a in want[lo:hi].tolist():
                i = a - int(self.starts[k])
                out[a] = values[offsets[i]:offsets[i + 1]].copy()
        return out

    def sets_at(self, names: Sequence[str], rows: np.ndarray, order: np.ndarray) -> list[dict[int, np.ndarray]]:
        """Per list column in ``names``: keep position → that row's array, for the positions ``rows``
        (``order`` maps a keep position to its arrival index)."""
        arrivals = order[rows]
        out = []
        for name in names:
            found = self.lists(name, arrivals)
            out.append({int(p): found[a] for p, a in zip(rows.tolist(), arrivals.tolist())})
        return out

    def verify_edges(self, edges: np.ndarray, order: np.ndarray, names: Sequence[str],
                     verify: Callable[[np.ndarray, list[dict[int, np.ndarray]]], np.ndarray]) -> np.ndarray:
        """The rows of ``edges`` (pairs of keep positions) that ``verify(block, views)`` keeps, in their order.

        ``verify`` gets the edges a block at a time (at most ``_VERIFY_EDGES``) with the list columns
        ``names`` of only that block's rows (``sets_at``), so memory holds the shingle sets of at most
        2 × ``_VERIFY_EDGES`` rows whatever the row count. Blocks follow the smaller endpoint's arrival
        index, so a block reads few spill files when duplicates sit near each other in the input.
        """
        edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
        if not len(edges):
            return edges
        srt = np.argsort(order[edges].min(axis=1), kind="stable")
        keep = np.zeros(len(edges), dtype=bool)
        width = np.int64(len(order) + 1)
        for lo in range(0, len(edges), _VERIFY_EDGES):
            at = srt[lo:lo + _VERIFY_EDGES]
            block = edges[at]
            kept = np.asarray(verify(block, self.sets_at(names, sorted_arrays.unique(block), order)), np.int64).reshape(-1, 2)
            keep[at] = sorted_arrays.isin(block[:, 0] * width + block[:, 1], kept[:, 0] * width + kept[:, 1])
        return edges[keep]

    # keep order ------------------------------------------------------------------------------
    def keep_order(self, step: str) -> np.ndarray:
        """``pos``: each row's position in keep order (split rank, split, id), by sorted runs and a k-way merge.

        Duplicate ids are refused with the message ``check_ids`` gives.
        """
        return self.keep_permutation(step)[0]

    def keep_permutation(self, step: str) -> tuple[np.ndarray, np.ndarray]:
        """``(pos, order)``: ``pos`` maps arrival → position in keep order (as ``keep_order``), ``order`` its
        inverse, position → arrival; both filled by the one merge."""
        self._check_unique_ids(step)

        def keys(k: int, table: pa.Table) -> pa.Table:
            return pa.table({"rank": pa.array(split_ranks(table.column("split")), pa.int8()),
                             "split": pc.fill_null(table.column("split"), ""), "id": table.column("id"),
                             "arrival": pa.array(np.arange(self.starts[k], self.starts[k + 1], dtype=np.int64))})

        pos = np.empty(self.n, dtype=np.int64)
        order = np.empty(self.n, dtype=np.int64)
        p = 0
        for batch in self.sorted_batches(["id", "split"], keys, ["rank", "split", "id"]):
            arrival = batch.column("arrival").to_numpy()
            order[p:p + len(arrival)] = arrival
            pos[arrival] = np.arange(p, p + len(arrival), dtype=np.int64)
            p += len(arrival)
        return pos, order

    def sorted_batches(self, columns: list[str], build: Callable[[int, pa.Table], pa.Table], by: list[str]
                       ) -> Iterator[pa.Table]:
        """Every row of ``build(k, table k)`` (over the spilled ``columns``) in ascending order of the columns
        ``by``, as tables of at most ``_RUN_BATCH`` rows. While the built tables fit in ``_SORT_BYTES`` they are
        sorted together by Arrow; beyond that each is sorted into a run file and the runs are merged
        (``merged``), so memory stays bounded at any row count. Both give the same order when the ``by``
        values of two rows never tie (they include the unique id)."""
        held: list[pa.Table] = []
        size = 0
        source = iter(enumerate(self.tables(columns)))
        for k, table in source:
            held.append(build(k, table))
            size += held[-1].nbytes
            if size > _SORT_BYTES:
                break
        else:
            if not held:
                return
            whole = pa.concat_tables(held).sort_by([(c, "ascending") for c in by])
            del held
            for lo in range(0, whole.num_rows, _RUN_BATCH):
                yield whole.slice(lo, _RUN_BATCH)
            return
        schema = held[0].schema

        def built() -> Iterator[pa.Table]:
            yield from held
            for k, table in source:
                yield build(k, table)

        rows: list[tuple[Any, ...]] = []
        for row in self.merged(built(), by):
            rows.append(row)
            if len(rows) == _RUN_BATCH:
                yield pa.Table.from_arrays([pa.array(c, f.type) for c, f in zip(zip(*rows), schema)], schema=schema)
                rows = []
        if rows:
            yield pa.Table.from_arrays([pa.array(c, f.type) for c, f in zip(zip(*rows), schema)], schema=schema)

    def merged(self, tables: Iterable[pa.Table], by: list[str]) -> Iterator[tuple[Any, ...]]:
        """Every row of ``tables`` in ascending order of its first ``len(by)`` columns (named ``by``, in that
        order): each table sorted by Arrow into a run file, then the runs merged a record batch at a time
        (``heapq.merge``: ties keep the earlier table's rows first). Rows come as tuples of the tables' columns."""
        runs = []
        try:
            for k, table in enumerate(tables):
                path = self.dir / f"{k:06d}.run.arrow"
                _write(path, table.sort_by([(c, "ascending") for c in by]))
                runs.append(path)
            width = len(by)
            yield from heapq.merge(*(_run_rows(path) for path in runs), key=lambda row: row[:width])
        finally:
            for path in runs:
                path.unlink(missing_ok=True)

    def _check_unique_ids(self, step: str) -> None:
        import xxhash

        hashes = np.empty(self.n, dtype=np.uint64)
        for k, table in enumerate(self.tables(["id"])):
            ids = table.column(0).to_pylist()
            hashes[self.starts[k]:self.starts[k + 1]] = np.fromiter(
                (xxhash.xxh3_64_intdigest(i.encode("utf-8", "surrogatepass")) for i in ids), np.uint64, len(ids))
        srt = np.sort(hashes)
        clash = sorted_arrays.unique(srt[1:][srt[1:] == srt[:-1]])
        if not len(clash):
            return
        suspects = np.flatnonzero(sorted_arrays.isin(hashes, clash))
        seen: set[str] = set()
        for a in suspects.tolist():  # arrival order, so the first repeated id is named, as check_ids does
            rid = self.strings("id", np.array([a]))[a]
            if rid in seen:
                raise CodequarryError(
                    f"step {step!r}: row id {rid!r} occurs more than once; ids must be unique "
                    "(rebuild the pairs dir, or run exact_dedup first if the rows are copies)")
            seen.add(rid)


def split_ranks(split: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """``split_rank`` of every value of a split column (vectorised over the known names)."""
    values = split.to_pylist()
    return np.fromiter((NO_SPLIT_RANK if not s else HELD_OUT_RANK.get(s, OTHER_SPLIT_RANK) for s in values),
                       np.int8, len(values))


def _run_rows(path: Path) -> Iterator[tuple[Any, ...]]:
    """A sorted run's rows as tuples, read a record batch at a time."""
    with pa.memory_map(str(path), "r") as source:
        reader = pa.ipc.open_file(source)
        for b in range(reader.num_record_batches):
            batch = reader.get_batch(b)
            for lo in range(0, batch.num_rows, _RUN_BATCH):
                part = batch.slice(lo, _RUN_BATCH)
                yield from zip(*(part.column(c).to_pylist() for c in range(part.num_columns)))
