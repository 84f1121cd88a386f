"""The layout of a clean's output, planned from small per-chunk statistics, so every engine writes the same files.

The final write of a clean (both engines) is planned, not streamed: a rows-in-order writer cuts
shards and row groups wherever its buffers happen to fill, which depends on how the rows arrived.
Here the cut depends only on the rows:

1. **Chunk statistics** (``chunk_stats``, run where the chunk's rows are: a worker): for chunk c's
   final kept rows, per (config, split) stream, its rows and Arrow bytes as written (conformed as
   ``PairsWriter`` conforms them, ``chunk_streams``) and the schema; per step that excluded rows
   from it, the rows, bytes and reasons of its exclusion records. JSON, a few numbers per chunk.
2. **The plan** (``plan_output``, a pure function of the ordered statistics, on the driver): per
   stream, R rows of B bytes in all (input order: chunk by chunk), N = ⌊max_shard_bytes·R/B⌋ rows
   per shard and G = ⌊row_group_bytes·R/B⌋ rows per row group (at least 1); shard k holds stream rows
   [kN, min(R, (k+1)N)) as ``data/{config}/{split}-{k:05d}-of-{n:05d}.parquet``, the name a
   ``PairsWriter`` gives. The exclusions are one stream in (step, input position) order, cut every
   E = min(FLUSH_ROWS, ⌊FLUSH_BYTES·R/B⌋) records into ``exclusions/exclusions-{i:05d}-of-{n:05d}.parquet``
   (``ExclusionWriter``'s names and thresholds). Each shard is a list of (chunk, offset, length) pieces.
3. Each shard is then written on its own (``output_shards``), in any order, by any process.

``split_bytes`` are the sums of the chunks' stream bytes, so they do not depend on batching either.
The schema is the first non-empty chunk's; a later chunk's rows are unified to it as ``PairsWriter``
unifies a later batch (``pairs_writer.unify``), and one it cannot take is the same error.
"""

from __future__ import annotations

import base64
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from codequarry.cleaners.engine import POS, SPLIT
from codequarry.pairs_exclusions import FLUSH_BYTES, FLUSH_ROWS, exclusion_table
from codequarry.pairs_layout import (
    DATA_DIR,
    DEFAULT_MAX_SHARD_BYTES,
    DEFAULT_ROW_GROUP_BYTES,
    EXCLUSIONS_DIR,
    UNKNOWN_CONFIG,
)
from codequarry.pairs_writer import typed, unify
from codequarry.schema import CORE_FIELDS, check_config_name, check_split_name, conform, split_sort_key

#: Rows per row group at most: Arrow's writer cuts longer groups itself (its max_row_group_length is at least
#: this in every supported version), so a group of G rows is written as one group only up to here.
MAX_GROUP_ROWS = 1024 * 1024


@dataclass(frozen=True)
class Layout:
    """How large shards, row groups and exclusion files are (the writers' defaults; tests make them small)."""

    max_shard_bytes: int = DEFAULT_MAX_SHARD_BYTES
    row_group_bytes: int = DEFAULT_ROW_GROUP_BYTES
    exclusion_rows: int = FLUSH_ROWS
    exclusion_bytes: int = FLUSH_BYTES


@dataclass(frozen=True)
class Piece:
    """``length`` rows from ``offset`` of one chunk's stream: its kept rows of the shard's (config, split), or the
    rows step ``step`` excluded from it (an exclusions shard)."""

    chunk: int
    offset: int
    length: int
    step: int | None = None


@dataclass(frozen=True)
class Shard:
    """One output file: where it goes, its rows as pieces, and its row-group size (``config`` None: exclusions)."""

    index: int
    path: str
    config: str | None
    split: str | None
    rows: int
    group_rows: int
    pieces: tuple[Piece, ...]


@dataclass(frozen=True)
class OutputPlan:
    """Every shard of the output, in manifest order (data by config and split, then exclusions), and the counts
    the manifest takes from the statistics."""

    shards: tuple[Shard, ...]
    schema: str | None
    splits: dict[str, dict[str, int]]
    split_bytes: dict[str, dict[str, int]]
    excluded: dict[int, Counter[str]]


# -- worker side: one chunk's streams and statistics ------------------------------------------


def chunk_streams(kept: pa.Table) -> list[tuple[str, str, pa.Table]]:
    """A chunk's kept rows per (config, split), sorted by config then split, in input order within each, and
    conformed as ``PairsWriter.write`` conforms a batch (private columns and ``split`` dropped)."""
    if kept.num_rows == 0:
        return []
    splits = kept[SPLIT]
    if splits.null_count:
        raise RuntimeError("a row reached the writer without a split")
    private = [n for n in kept.column_names if n.startswith("_")]
    out = []
    for split in splits.unique().to_pylist():
        check_split_name(split)
        body = typed(conform(kept.filter(pc.equal(splits, split)).drop_columns([*private, SPLIT])))
        langs = body.column("language")
        for lang in langs.unique().to_pylist():
            config = UNKNOWN_CONFIG if lang is None else check_config_name(str(lang))
            part = body.filter(langs.is_null() if lang is None else pc.equal(langs, lang))
            out.append((config, split, part.combine_chunks()))
    return sorted(out, key=lambda e: (e[0], split_sort_key(e[1])))


def exclusion_records(table: pa.Table, steps: list[Any]) -> pa.Table:
    """Excluded rows (``_step``, ``_reason``, ``_detail``, ``_pos``, ``split``, pairs columns) as exclusion records."""
    names = pa.array([steps[i].name for i in table["_step"].to_pylist()], pa.string())
    locator = pc.binary_join_element_wise(pa.scalar("input row "), pc.cast(table[POS], pa.string()), "")
    cols = {"step": names, "reason": table["_reason"], "detail": table["_detail"], "locator": locator,
            "split": table[SPLIT]}
    for f in CORE_FIELDS:
        cols[f.name] = table[f.name]
    return exclusion_table(pa.table(cols))


def check_positions(table: pa.Table, start: int, length: int, what: str) -> None:
    """Rows of a chunk must come in input order, inside the chunk's range of positions."""
    if table.num_rows == 0:
        return
    pos = table[POS].to_numpy()
    if pos[0] < start or pos[-1] >= start + length or bool((pos[1:] <= pos[:-1]).any()):
        raise RuntimeError(f"{what} of the chunk at input row {start} are out of input order")


def chunk_stats(work: Any, c: int) -> dict[str, Any]:
    """Chunk c's statistics (JSON-ready): its streams' rows and bytes, its schema, and per excluding step the
    records' rows, bytes and reasons."""
    from codequarry.cleaners.local_engine import read_arrow

    chunk = work.chunks[c]
    kept = read_arrow(work.kept_path(work.passes[-1].index, c))
    check_positions(kept, chunk.start, chunk.length, "kept rows")
    streams = chunk_streams(kept)
    exclusions = []
    for step, path in exclusion_files(work, c):
        table = read_arrow(path)
        check_positions(table, chunk.start, chunk.length, f"rows excluded by {work.steps[step].name}")
        if table.num_rows:
            reasons = Counter(table["_reason"].to_pylist())
            exclusions.append([step, table.num_rows, exclusion_records(table, work.steps).nbytes,
                               dict(sorted(reasons.items()))])
    return {"chunk": c, "streams": [[cfg, s, t.num_rows, t.nbytes] for cfg, s, t in streams],
            "schema": schema_text(streams[0][2].schema) if streams else None, "exclusions": exclusions}


def exclusion_files(work: Any, c: int) -> list[tuple[int, Any]]:
    """(step, path) of chunk c's exclusion files, in step order."""
    return [(idx, p) for plan in work.passes for idx in plan.step_indices
            if (p := work.excl_path(plan.index, c, idx)).exists()]


def schema_text(schema: pa.Schema) -> str:
    """A schema as text (Arrow IPC, base64): data the driver can read back, never a pickle."""
    return base64.b64encode(schema.serialize().to_pybytes()).decode("ascii")


def schema_from_text(text: str) -> pa.Schema:
    return pa.ipc.read_schema(pa.py_buffer(base64.b64decode(text.encode("ascii"))))


# -- driver side: the plan --------------------------------------------------------------------


def plan_output(stats: list[dict[str, Any]], layout: Layout = Layout(), steps: int | None = None) -> OutputPlan:
    """Every output shard, from the chunks' statistics in chunk order (see the module doc). Statistics are
    checked first (they are files of the work dir, which anyone who can write to --out could edit): a bad one
    is a ValueError (or CodequarryError for a bad name); ``steps``, if given, is how many steps the recipe has."""
    streams: dict[tuple[str, str], list[tuple[int, int, int]]] = {}
    excl: list[tuple[int, int, int, int]] = []  # (step, chunk, rows, bytes)
    excluded: dict[int, Counter[str]] = {}
    schema: str | None = None
    for c, st in enumerate(stats):
        _check_stats(st, c, steps)
        for config, split, rows, nbytes in st["streams"]:
            streams.setdefault((config, split), []).append((c, rows, nbytes))
        if st["schema"] is not None:
            if schema is None:
                schema = st["schema"]
            elif st["schema"] != schema:  # the same error PairsWriter gives a batch it cannot take
                unify(schema_from_text(st["schema"]).empty_table(), schema_from_text(schema))
        for step, rows, nbytes, reasons in st["exclusions"]:
            excl.append((step, c, rows, nbytes))
            excluded.setdefault(step, Counter()).update(reasons)
    shards: list[Shard] = []
    splits: dict[str, dict[str, int]] = {}
    split_bytes: dict[str, dict[str, int]] = {}
    for (config, split), parts in sorted(streams.items(), key=lambda kv: (kv[0][0], split_sort_key(kv[0][1]))):
        total = sum(r for _, r, _ in parts)
        nbytes = sum(b for _, _, b in parts)
        splits.setdefault(config, {})[split] = total
        split_bytes.setdefault(config, {})[split] = nbytes
        per_shard = _rows_for(layout.max_shard_bytes, total, nbytes)
        group = min(MAX_GROUP_ROWS, _rows_for(layout.row_group_bytes, total, nbytes))
        n = -(-total // per_shard)
        for k, (rows, pieces) in enumerate(cuts([(c, r, None) for c, r, _ in parts], per_shard)):
            shards.append(Shard(len(shards), f"{DATA_DIR}/{config}/{split}-{k:05d}-of-{n:05d}.parquet", config,
                                split, rows, group, pieces))
    excl.sort(key=lambda e: (e[0], e[1]))
    total = sum(e[2] for e in excl)
    per_file = min(layout.exclusion_rows, _rows_for(layout.exclusion_bytes, total, sum(e[3] for e in excl)))
    n = -(-total // per_file)
    for k, (rows, pieces) in enumerate(cuts([(c, r, step) for step, c, r, _ in excl], per_file)):
        shards.append(Shard(len(shards), f"{EXCLUSIONS_DIR}/exclusions-{k:05d}-of-{n:05d}.parquet", None, None,
                            rows, rows, pieces))
    return OutputPlan(tuple(shards), schema, splits, split_bytes, excluded)


def _check_stats(st: Any, c: int, steps: int | None) -> None:
    """Chunk c's statistics have the shape ``chunk_stats`` gives: counts are non-negative integers, names valid."""
    def count(v: Any) -> None:
        if type(v) is not int or v < 0:
            raise ValueError(f"chunk {c}: {v!r} is not a count")

    if not isinstance(st, dict) or st.get("chunk") != c:
        raise ValueError(f"not the statistics of chunk {c}")
    if not (st["schema"] is None or isinstance(st["schema"], str)) or not isinstance(st["streams"], list):
        raise ValueError(f"chunk {c}: schema or streams of the wrong type")
    for config, split, rows, nbytes in st["streams"]:
        check_config_name(config)
        check_split_name(split)
        count(rows)
        count(nbytes)
    for step, rows, nbytes, reasons in st["exclusions"]:
        count(step)
        if steps is not None and step >= steps:
            raise ValueError(f"chunk {c}: no step {step}")
        count(rows)
        count(nbytes)
        if not isinstance(reasons, dict) or not all(isinstance(k, str) for k in reasons):
            raise ValueError(f"chunk {c}: reasons of the wrong type")
        for n in reasons.values():
            count(n)
        if sum(reasons.values()) != rows:
            raise ValueError(f"chunk {c}: step {step}'s reasons do not add up to its {rows} rows")


def _rows_for(limit: int, rows: int, nbytes: int) -> int:
    """How many rows of the stream's average size fit in ``limit`` bytes (at least one); integers only, so every
    machine cuts at the same row."""
    if rows == 0 or nbytes <= 0:
        return max(1, rows)
    return max(1, limit * rows // nbytes)


def cuts(parts: list[tuple[int, int, int | None]], per_shard: int) -> list[tuple[int, tuple[Piece, ...]]]:
    """A stream given as consecutive (chunk, rows, step) parts, cut every ``per_shard`` rows: per shard, its rows
    and pieces."""
    out: list[tuple[int, tuple[Piece, ...]]] = []
    pieces: list[Piece] = []
    held = 0
    for c, rows, step in parts:
        offset = 0
        while offset < rows:
            take = min(rows - offset, per_shard - held)
            pieces.append(Piece(c, offset, take, step))
            offset += take
            held += take
            if held == per_shard:
                out.append((held, tuple(pieces)))
                pieces, held = [], 0
    if held:
        out.append((held, tuple(pieces)))
    return out
