"""The band shuffle's exchange files: one Arrow IPC file per task whose record batches are its receivers' shares.

A cut task (one per chunk) sends a share to every part and a pair task (one per part) a share to every
chunk. One file per (sender, receiver) would make the work dir grow with chunks × parts, and parts grow
with the corpus. Instead each sender writes ONE file, batch ``i`` holding receiver ``i``'s records (an
empty batch, with the schema, for an empty share), under a temporary name and then renamed, so the
file's presence says the sender finished. A receiver memory-maps every sender's file and reads only its
own batch (``get_batch``): only that batch's pages are read. Files per resolve: chunks + parts.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow as pa

from codequarry.errors import CodequarryError, one_line


def write_batches(path: Path, schema: pa.Schema, tables: list[pa.Table]) -> None:
    """``tables[i]`` as batch ``i`` of one IPC file at ``path`` (atomically: temporary name, then rename)."""
    from codequarry.cleaners.local_engine import _ipc_options

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp.{os.getpid()}")
    with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, schema, options=_ipc_options()) as writer:
        for table in tables:
            table = table.select(schema.names).cast(schema).combine_chunks()
            batches = table.to_batches()
            if len(batches) == 1:
                writer.write_batch(batches[0])
            elif table.num_rows == 0:
                writer.write_batch(pa.RecordBatch.from_pylist([], schema=schema))
            else:  # combine_chunks leaves one chunk per column, so one batch; say so if that ever changes
                raise RuntimeError(f"{path}: a share of {table.num_rows} rows did not combine into one batch")
    os.replace(tmp, path)


def read_batch(path: Path, i: int, count: int) -> pa.Table:
    """Batch ``i`` of a file written by ``write_batches`` with ``count`` batches; a missing or damaged file (or
    one with another batch count) is a one-line error telling to start over."""
    try:
        with pa.memory_map(str(path), "r") as source:
            reader = pa.ipc.open_file(source)
            if reader.num_record_batches != count:
                raise CodequarryError(f"{path}: this file of the unfinished clean is damaged (it holds "
                                      f"{reader.num_record_batches} shares, not {count}); pass --overwrite to start over")
            return pa.Table.from_batches([reader.get_batch(i)])
    except FileNotFoundError:
        problem = "is missing"
    except (OSError, pa.ArrowException) as exc:
        problem = f"is damaged ({one_line(exc)})"
    raise CodequarryError(f"{path}: this file of the unfinished clean {problem}; pass --overwrite to start over")


def by_part(part: np.ndarray, parts: int) -> list[np.ndarray]:
    """Each part's positions in their original order (a sender's shares), by one stable sort of the part numbers:
    a mask per part would scan every record once per part, and parts grow with the corpus."""
    order = np.argsort(part, kind="stable")
    bounds = np.searchsorted(part[order], np.arange(parts + 1, dtype=part.dtype)).tolist()
    return [order[bounds[q]:bounds[q + 1]] for q in range(parts)]


# -- the pair stage's files: part p's candidates, one batch per chunk of the row they belong to ------------


def _pairs_file(folder: Path, p: int) -> Path:
    return folder / f"p{p:04d}.arrow"


def write_by_chunk(folder: Path, p: int, table: pa.Table, node: str, chunks: int) -> None:
    """Part ``p``'s pairs in one file, batch ``c`` holding those whose ``node`` column's row is in chunk ``c``
    (in their order in ``table``): a verify task reads only its chunk's batch of each part's file."""
    from codequarry.cleaners.ray_near_dedup import SHIFT, runs_by_chunk

    chunk_of = table.column(node).to_numpy() >> SHIFT if table.num_rows else np.zeros(0, np.int64)
    shares = [table.schema.empty_table()] * chunks
    for c, where in runs_by_chunk(chunk_of):
        if not 0 <= c < chunks:
            raise RuntimeError(f"part {p}: a pair names chunk {c}, not one of the {chunks} chunks")
        shares[c] = table.take(pa.array(where))
    write_batches(_pairs_file(folder, p), table.schema, shares)


def pairs_done(folder: Path, p: int) -> bool:
    """Whether part ``p``'s pair task finished (its file exists: it is renamed into place when complete)."""
    return _pairs_file(folder, p).exists()


def read_for_chunk(folder: Path, parts: int, chunks: int, c: int, schema: pa.Schema) -> pa.Table:
    """Every part's pairs of chunk ``c`` (every part must be done), in part order."""
    pieces = []
    for p in range(parts):
        if not pairs_done(folder, p):
            raise CodequarryError(f"{folder}: part {p} of this resolve is missing; pass --overwrite to start over")
        piece = read_batch(_pairs_file(folder, p), c, chunks)
        if piece.num_rows:
            pieces.append(piece)
    return pa.concat_tables(pieces).combine_chunks() if pieces else schema.empty_table()
