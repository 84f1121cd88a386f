"""Near-dedup's resolve spread over Ray workers (MinHash method): the same decision as ``NearDedup.resolve``.

``NearDedup.resolve`` reads every row's band hashes in one process. Here the work is cut so that no
task holds more than a bounded slice of the corpus, and every choice is made by the step's own
functions (``clusters.band_star_edges``, ``clusters.verify_pairs``, ``clusters.cluster_labels``, the
keep rule ``keep_rule.keep_order_key``), so the decision, its summary and the fingerprint are those of
the local engine:

1. **cut** (one task per chunk): every active row's ``(band, band hash)`` records (rows with fewer than
   ``min_tokens`` tokens take no part, as in the step) go to part ``(hash ^ band·φ) mod P``: one Arrow
   file per chunk, batch ``p`` part ``p``'s records (``ray_batch_files``: the work dir holds chunks + parts
   files, not chunks × parts); a row is named by its *node* ``chunk << 32 | row in chunk``;
2. **pair** (one task per part): equal ``(band, hash)`` records are buckets; only buckets of two or more
   rows matter, so only their rows' ids and splits are read back (a few columns of a few rows of the
   mapped files); the rows are ranked by the keep rule, and each band's buckets give the step's star
   (and, with ``verify``, chain) edges through ``band_star_edges``, as the step does over the whole
   corpus in keep order: the relative keep order is all those edges depend on; one file per part,
   batch ``c`` the edges whose keep-first row lies in chunk ``c``;
3. **verify** (one task per chunk): the distinct candidate pairs whose keep-first row lies in the chunk;
   with ``verify`` their rows' shingle sets (only those rows, only those columns) are read and the pairs
   checked by the step's exact per-view Jaccard (``verify_pairs``, each view's threshold from the step's
   ``MinHashConfig``);
4. **cluster** (one task): the verified edge list (small) → connected components (``cluster_labels``,
   each labelled by its keep-first row) → the step's ``Decision`` (members, short rows, stats), saved
   as data with its summary, as the local engine saves it.

``P`` grows with the corpus (about ``RECORDS_PER_PART`` band records per part, at least one per CPU),
so a pair task's memory does not grow with the row count; the driver only submits tasks. Files are
written under temporary names and renamed and every stage skips what exists, so a rerun after a crash
redoes only the missing pieces. The ``identifiers`` method (pairwise bag comparisons) still resolves in
one task (``local_engine._resolve``).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from codequarry.cleaners import sorted_arrays
from codequarry.cleaners.ray_batch_files import (
    by_part,
    pairs_done,
    read_batch,
    read_for_chunk,
    write_batches,
    write_by_chunk,
)
from codequarry.errors import CodequarryError

RECORDS_PER_PART = 2_000_000  # (band, hash, node) records a pair task sorts at once: ~40 MB of arrays
VERIFY_BLOCK = 20_000  # candidate pairs verified together: the shingle sets of at most twice as many rows held
_MIX = np.uint64(0x9E3779B97F4A7C15)  # spreads the band index over the hash bits (the golden-ratio constant)
SHIFT = np.int64(32)
_CUT_SCHEMA = pa.schema([pa.field("band", pa.uint16()), pa.field("hash", pa.uint64()), pa.field("node", pa.int64())])
_EDGE_SCHEMA = pa.schema([pa.field("a", pa.int64()), pa.field("b", pa.int64()),
                          pa.field("a_id", pa.string()), pa.field("a_split", pa.string()),
                          pa.field("b_id", pa.string()), pa.field("b_split", pa.string())])


def distributed(step: Any) -> bool:
    """Whether this module resolves ``step``: near-dedup with the MinHash method."""
    from codequarry.cleaners.near_dedup import NearDedup

    return isinstance(step, NearDedup) and step.params.method == "minhash"


def part_count(work: Any, k: int, cpus: int) -> int:
    """Parts of pass ``k``'s band shuffle: one per CPU at least, more as the corpus grows (about
    ``RECORDS_PER_PART`` band records each, counting every input row as active)."""
    from codequarry.cleaners._lsh import hasher

    _, step = _step(work, k)
    records = sum(c.length for c in work.chunks) * hasher(_config(step)).total_bands
    return max(1, cpus, -(-records // RECORDS_PER_PART))


# -- paths --------------------------------------------------------------------------------------


def _dir(work: Any, step: int, parts: int) -> Path:
    return work.work / f"resolve-{step:03d}" / f"bands-{parts:04d}"


def _cut_file(work: Any, step: int, parts: int, c: int) -> Path:
    return _dir(work, step, parts) / "cut" / f"c{c:06d}.arrow"


def _cut_info(work: Any, step: int, parts: int, c: int) -> Path:
    return _dir(work, step, parts) / "cut" / f"c{c:06d}.json"


def _pairs_dir(work: Any, step: int, parts: int) -> Path:
    return _dir(work, step, parts) / "pairs"


def _verified_file(work: Any, step: int, parts: int, c: int) -> Path:
    return _dir(work, step, parts) / "verified" / f"c{c:06d}.arrow"


def _verified_info(work: Any, step: int, parts: int, c: int) -> Path:
    return _dir(work, step, parts) / "verified" / f"c{c:06d}.json"


def _step(work: Any, k: int) -> tuple[int, Any]:
    step_i = work.passes[k].map
    step = work.steps[step_i]
    if not distributed(step):
        raise RuntimeError(f"pass {k} maps {step.name!r}, not near_dedup with the minhash method")
    return step_i, step


def _config(step: Any) -> Any:
    from codequarry.cleaners._lsh import minhash_config

    return minhash_config(step.params)


def read_columns(path: Path, names: list[str]) -> pa.Table:
    """Only ``names`` of a work-dir Arrow file (the other columns are not decompressed)."""
    from codequarry.cleaners.local_engine import read_arrow

    try:
        with pa.memory_map(str(path), "r") as source:
            schema = pa.ipc.open_file(source).schema
            fields = [schema.get_field_index(n) for n in names]
            if min(fields, default=0) < 0:
                raise CodequarryError(f"{path}: lacks the columns {names}; pass --overwrite to start over")
            reader = pa.ipc.open_file(source, options=pa.ipc.IpcReadOptions(included_fields=fields))
            return reader.read_all().select(names)
    except (OSError, pa.ArrowException):
        return read_arrow(path)  # missing or damaged: its one-line error


def _write_json(path: Path, data: Any) -> None:
    from codequarry.cleaners.local_engine import _write_json as write

    write(path, data)


def rows_of(work: Any, k: int, nodes: np.ndarray, names: list[str]) -> dict[str, list[Any]]:
    """Columns ``names`` of the mapped rows ``nodes`` (any order), read chunk by chunk, only those rows."""
    out: dict[str, list[Any]] = {n: [None] * len(nodes) for n in names}
    if not len(nodes):
        return out
    for c, where in runs_by_chunk(nodes >> SHIFT):
        local = (nodes[where] & np.int64(0xFFFFFFFF)).astype(np.int64)
        table = read_columns(work.map_path(k, c), names).take(pa.array(local))
        for n in names:
            values = table.column(n).to_pylist() if n in ("id", "split") else _lists(table.column(n))
            column = out[n]
            for w, v in zip(where.tolist(), values):
                column[w] = v
    return out


def runs_by_chunk(chunk_of: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """Each chunk number with the ascending positions that hold it, by one stable sort (a scan per chunk would
    grow with chunks × positions)."""
    order = np.argsort(chunk_of, kind="stable")
    ordered = chunk_of[order]
    starts = np.flatnonzero(np.concatenate([[len(order) > 0], ordered[1:] != ordered[:-1]]))
    ends = [*starts[1:].tolist(), len(order)]
    return [(int(ordered[s]), order[s:e]) for s, e in zip(starts.tolist(), ends)]


def _lists(col: pa.ChunkedArray) -> list[np.ndarray]:
    arr = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
    offsets = arr.offsets.to_numpy()
    values = arr.values.to_numpy(zero_copy_only=False)
    return [values[offsets[i]:offsets[i + 1]].copy() for i in range(len(arr))]


# -- stage 1: cut ---------------------------------------------------------------------------------


def cut_chunk(work: Any, k: int, c: int, parts: int) -> None:
    """Chunk ``c``'s active rows' (band, hash, node) records into one file, batch ``p`` for part ``p``; then its
    row counts as JSON (the chunk's completion marker)."""
    from codequarry.cleaners._lsh import hasher

    step_i, step = _step(work, k)
    info = _cut_info(work, step_i, parts, c)
    if info.exists():
        return
    width = hasher(_config(step)).total_bands
    table = read_columns(work.map_path(k, c), ["ntok", "bands", "id"])
    n = table.num_rows
    ntok = table.column("ntok").to_numpy(zero_copy_only=False).astype(np.int64) if n else np.zeros(0, np.int64)
    active = ntok >= max(1, step.params.min_tokens)
    local = np.flatnonzero(active).astype(np.int64)
    flat = (np.concatenate([ch.flatten().to_numpy(zero_copy_only=False) for ch in table.column("bands").chunks])
            if n else np.zeros(0, np.uint64))
    hashes = flat.reshape(-1, width)[local].reshape(-1).astype(np.uint64)
    bands = np.tile(np.arange(width, dtype=np.uint16), len(local))
    nodes = np.repeat((np.int64(c) << SHIFT) | local, width)
    part = (hashes ^ (bands.astype(np.uint64) * _MIX)) % np.uint64(parts)
    shares = [pa.table({"band": bands[sel], "hash": hashes[sel], "node": nodes[sel]}, schema=_CUT_SCHEMA)
              for sel in by_part(part, parts)]
    write_batches(_cut_file(work, step_i, parts, c), _CUT_SCHEMA, shares)
    short = table.column("id").filter(pa.array(~active)).to_pylist() if step.params.drop_short else []
    _write_json(info, {"rows": n, "active": int(active.sum()), "short": short})


# -- stage 2: candidate pairs per part -----------------------------------------------------------------


def pair_part(work: Any, k: int, p: int, parts: int) -> None:
    """Part ``p``'s buckets (equal band and hash) → the step's candidate edges, keep-first row first."""
    from codequarry.cleaners import clusters
    from codequarry.cleaners.keep_rule import keep_order_key

    step_i, step = _step(work, k)
    folder = _pairs_dir(work, step_i, parts)
    if pairs_done(folder, p):
        return
    tables = [read_batch(_cut_file(work, step_i, parts, c.index), p, parts) for c in work.chunks]
    band = np.concatenate([t.column("band").to_numpy() for t in tables]) if tables else np.zeros(0, np.uint16)
    hashes = np.concatenate([t.column("hash").to_numpy() for t in tables]) if tables else np.zeros(0, np.uint64)
    nodes = np.concatenate([t.column("node").to_numpy() for t in tables]) if tables else np.zeros(0, np.int64)
    del tables
    order = np.lexsort((hashes, band))
    band, hashes, nodes = band[order], hashes[order], nodes[order]
    same = (band[1:] == band[:-1]) & (hashes[1:] == hashes[:-1])
    shared = np.zeros(len(band), bool)
    shared[1:] |= same
    shared[:-1] |= same
    band, hashes, nodes = band[shared], hashes[shared], nodes[shared]
    members = sorted_arrays.unique(nodes)
    keys = rows_of(work, k, members, ["id", "split"])
    ranked = sorted(range(len(members)), key=lambda i: keep_order_key(keys["split"][i], keys["id"][i]))
    rank = np.empty(len(members), np.int64)
    rank[np.asarray(ranked, dtype=np.int64)] = np.arange(len(members), dtype=np.int64)
    node_rank = rank[np.searchsorted(members, nodes)]
    chain = bool(step.params.verify)
    m = np.int64(max(len(members), 1))
    pieces = [np.zeros(0, np.int64)]
    starts = np.flatnonzero(np.concatenate([[len(band) > 0], band[1:] != band[:-1]]))  # band is sorted: its runs
    for s, e in zip(starts.tolist(), [*starts[1:].tolist(), len(band)]):
        by_rank = s + np.argsort(node_rank[s:e], kind="stable")
        edges = clusters.band_star_edges(hashes[by_rank], node_rank[by_rank], chain)
        if edges is not None:
            pieces.append(np.minimum(edges[:, 0], edges[:, 1]) * m + np.maximum(edges[:, 0], edges[:, 1]))
    codes = sorted_arrays.unique(np.concatenate(pieces))  # one sort at the end, not a union per band
    lo, hi = codes // m, codes % m
    by_rank_member = members[np.asarray(ranked, dtype=np.int64)] if len(members) else members
    a, b = by_rank_member[lo], by_rank_member[hi]
    ia, ib = np.searchsorted(members, a), np.searchsorted(members, b)
    ids, splits = keys["id"], keys["split"]
    write_by_chunk(folder, p, pa.table({"a": pa.array(a, pa.int64()), "b": pa.array(b, pa.int64()),
                                  "a_id": pa.array([ids[i] for i in ia.tolist()], pa.string()),
                                  "a_split": pa.array([splits[i] for i in ia.tolist()], pa.string()),
                                  "b_id": pa.array([ids[i] for i in ib.tolist()], pa.string()),
                                  "b_split": pa.array([splits[i] for i in ib.tolist()], pa.string())},
                                 schema=_EDGE_SCHEMA), "a", len(work.chunks))


# -- stage 3: verify per chunk -------------------------------------------------------------------------


def verify_chunk(work: Any, k: int, c: int, parts: int) -> None:
    """The distinct candidate pairs whose keep-first row is in chunk ``c``, verified as the step verifies."""
    from codequarry.cleaners import clusters
    from codequarry.cleaners._lsh import VIEW_SETS
    from codequarry.cleaners.local_engine import write_arrow

    step_i, step = _step(work, k)
    info = _verified_info(work, step_i, parts, c)
    if info.exists():
        return
    edges = read_for_chunk(_pairs_dir(work, step_i, parts), parts, len(work.chunks), c, _EDGE_SCHEMA)
    if edges.num_rows:
        a, b = edges.column("a").to_numpy(), edges.column("b").to_numpy()
        order = np.lexsort((b, a))
        keep = np.ones(len(order), bool)
        keep[1:] = (a[order][1:] != a[order][:-1]) | (b[order][1:] != b[order][:-1])
        edges = edges.take(pa.array(order[keep]))
    candidates = edges.num_rows
    if step.params.verify and candidates:
        names = list(VIEW_SETS[:len(_config(step).thresholds)])
        mask = np.zeros(candidates, bool)
        for lo in range(0, candidates, VERIFY_BLOCK):  # a block of pairs at a time: their rows' sets only
            block = edges.slice(lo, VERIFY_BLOCK)
            a, b = block.column("a").to_numpy(), block.column("b").to_numpy()
            nodes = sorted_arrays.unique(np.concatenate([a, b]))
            sets = rows_of(work, k, nodes, names)
            pairs = np.stack([np.searchsorted(nodes, a), np.searchsorted(nodes, b)], axis=1)
            passed = {(i, j) for i, j in clusters.verify_pairs(pairs, [sets[n] for n in names],
                                                               _config(step).thresholds).tolist()}
            mask[lo:lo + len(pairs)] = [(i, j) in passed for i, j in pairs.tolist()]
            del sets
        edges = edges.filter(pa.array(mask))
    info.parent.mkdir(parents=True, exist_ok=True)
    write_arrow(_verified_file(work, step_i, parts, c), edges)
    _write_json(info, {"candidates": candidates, "verified": edges.num_rows})


# -- stage 4: clusters and the decision ------------------------------------------------------------------


def decide(work: Any, k: int, parts: int) -> None:
    """Connected components of the verified edges and the step's Decision, saved as the local engine saves it."""
    from codequarry.cleaners import clusters
    from codequarry.cleaners.keep_rule import keep_order_key
    from codequarry.cleaners.local_engine import _read_json, read_arrow
    from codequarry.cleaners.near_dedup import Decision

    step_i, step = _step(work, k)
    cfg = _config(step)
    rows = compared = candidates = verified = 0
    short: list[str] = []
    tables = []
    for ch in work.chunks:
        cut = _read_json(_cut_info(work, step_i, parts, ch.index))
        ver = _read_json(_verified_info(work, step_i, parts, ch.index))
        try:
            rows += int(cut["rows"])
            compared += int(cut["active"])
            short.extend(str(s) for s in cut["short"])
            candidates += int(ver["candidates"])
            verified += int(ver["verified"])
        except (KeyError, TypeError, ValueError) as exc:
            raise CodequarryError(f"{_dir(work, step_i, parts)}: an account of chunk {ch.index} is not this "
                                  f"resolve's ({type(exc).__name__}: {exc}); pass --overwrite to start over") from None
        tables.append(read_arrow(_verified_file(work, step_i, parts, ch.index)))
    edges = pa.concat_tables(tables).combine_chunks() if tables else _EDGE_SCHEMA.empty_table()
    a, b = edges.column("a").to_numpy(), edges.column("b").to_numpy()
    nodes, first = np.unique(np.concatenate([a, b]), return_index=True)
    ids = edges.column("a_id").to_pylist() + edges.column("b_id").to_pylist()
    splits = edges.column("a_split").to_pylist() + edges.column("b_split").to_pylist()
    node_id = [ids[i] for i in first.tolist()]
    node_split = [splits[i] for i in first.tolist()]
    ranked = sorted(range(len(nodes)), key=lambda i: keep_order_key(node_split[i], node_id[i]))
    rank = np.empty(len(nodes), np.int64)
    rank[np.asarray(ranked, dtype=np.int64)] = np.arange(len(nodes), dtype=np.int64)
    pairs = np.stack([rank[np.searchsorted(nodes, a)], rank[np.searchsorted(nodes, b)]], axis=1)
    labels = clusters.cluster_labels(len(nodes), pairs)
    sizes = np.bincount(labels, minlength=len(nodes)) if len(nodes) else np.zeros(0, np.int64)
    by_rank = [node_id[i] for i in ranked]
    members = {by_rank[r]: (by_rank[int(labels[r])], int(sizes[labels[r]])) for r in range(len(nodes))}
    stats: dict[str, Any] = {"rows": rows, "compared": compared, "minhash": cfg.describe(),
                             "candidate_pairs": candidates}
    if step.params.verify and candidates:
        stats["verified_pairs"] = verified
    short_ids = frozenset(short) if step.params.drop_short else frozenset()
    stats.update(clusters=int(np.count_nonzero(sizes > 1)), rows_in_clusters=len(members),
                 duplicates=sum(1 for key, (v, _) in members.items() if key != v), too_short=len(short_ids))
    decision = Decision(members=members, short=short_ids, stats=stats)
    save_decision(work, step_i, decision, _dir(work, step_i, parts))


def save_decision(work: Any, step_i: int, decision: Any, stages: Path) -> None:
    """A staged step's decision saved as the local engine saves it (summary, compact decision), then its stage
    files (``stages``, this resolve's folder) removed: shared by near-dedup and leakage."""
    from codequarry.cleaners import decision_store
    from codequarry.cleaners.engine import decision_summary

    step = work.steps[step_i]
    _write_json(work.summary_path(step_i), {"summary": decision_summary(step, decision)})
    decision_store.save(work.decision_path(step_i), step, decision, compact=True)
    shutil.rmtree(stages.parent, ignore_errors=True)


def run_stages(stages: Any, work: Any, k: int, parts: int, *, decide: bool = True) -> None:
    """Every stage of a staged resolve (a module with ``cut_chunk``, ``pair_part``, ``verify_chunk`` and
    ``decide``) in this process, in order: what the Ray engine runs as tasks, for tests and one-node runs.
    ``decide=False`` stops before the deciding stage (which removes the exchange files)."""
    for c in work.chunks:
        stages.cut_chunk(work, k, c.index, parts)
    for p in range(parts):
        stages.pair_part(work, k, p, parts)
    for c in work.chunks:
        stages.verify_chunk(work, k, c.index, parts)
    if decide:
        stages.decide(work, k, parts)


def resolve_in_process(work: Any, k: int, parts: int) -> None:
    """This module's stages in this process (``run_stages``)."""
    run_stages(sys.modules[__name__], work, k, parts)
