"""The input of a clean: cut into chunks (the unit of work and of resumption) and read back with positions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from codequarry.cleaners.engine import POS, SPLIT
from codequarry.errors import CodequarryError, one_line


@dataclass(frozen=True)
class Chunk:
    """A slice of one input shard: the unit of work (and of resumption)."""

    index: int
    path: str
    row_group: int
    offset: int
    length: int
    split: str
    start: int  # position of its first row in the input's canonical order
    #: for a chunk read from an object store: the sha256 of its shard's footer and row group in the driver's
    #: verified copy (``remote_input.row_group_digest``), checked by the worker against what it reads
    check: str | None = None


def plan_chunks(pairs: Any, batch_rows: int) -> list[Chunk]:
    """Cut the input into chunks of at most ``batch_rows`` rows, in canonical order (config, split, shard)."""
    import pyarrow.parquet as pq

    if batch_rows < 1:
        raise CodequarryError(f"batch size must be at least 1 row, got {batch_rows}")
    chunks: list[Chunk] = []
    pos = 0
    for config, split in pairs.parts():
        for path in pairs.files(split=split, config=config):
            meta = read_shard(pq.read_metadata, path)
            for rg in range(meta.num_row_groups):
                n = meta.row_group(rg).num_rows
                for off in range(0, n, batch_rows):
                    length = min(batch_rows, n - off)
                    chunks.append(Chunk(len(chunks), str(path), rg, off, length, split, pos))
                    pos += length
    return chunks


def check_input_schema(pairs: Any) -> None:
    names = pairs.schema.names
    bad = [n for n in names if n == SPLIT or n.startswith("_")]
    if bad:
        raise CodequarryError(f"{pairs.path}: column(s) {bad} clash with the cleaner's own columns "
                              f"({SPLIT!r} and names starting with '_'); rename them in the input")


def read_shard(read: Callable[[Any], Any], path: Any) -> Any:
    """``read(path)`` for a Parquet shard of the input; one that cannot be decoded is a clear error naming it."""
    try:
        return read(path)
    except (pa.ArrowException, OSError) as exc:
        raise CodequarryError(f"{path}: the input shard cannot be read ({one_line(exc)}); rebuild the "
                              "pairs dir or check it with --verify full") from None


_RG_CACHE: dict[str, Any] = {}


def read_chunk(chunk: Chunk, columns: list[str] | None = None) -> pa.Table:
    """The rows of a chunk with ``split`` and ``_pos`` columns (one row group cached per process); the chunk's
    path may be an object-store URI (the Ray engine's workers read an s3:// or hf:// input there)."""
    from codequarry.storage import is_uri, open_parquet

    key = (chunk.path, chunk.row_group, tuple(columns) if columns else None)
    table = _RG_CACHE.get("table") if _RG_CACHE.get("key") == key else None
    if table is None:
        _RG_CACHE.clear()
        if is_uri(chunk.path) and chunk.check:
            from codequarry.cleaners.remote_input import read_row_group

            table = read_row_group(chunk.path, chunk.row_group, chunk.check, columns)
        else:
            table = read_shard(lambda p: open_parquet(p).read_row_group(chunk.row_group, columns=columns), chunk.path)
        _RG_CACHE.update(key=key, table=table)
    part = table.slice(chunk.offset, chunk.length)
    part = part.append_column(SPLIT, pa.array([chunk.split] * part.num_rows, pa.string()))
    return part.append_column(POS, pa.array(range(chunk.start, chunk.start + part.num_rows), pa.int64()))
