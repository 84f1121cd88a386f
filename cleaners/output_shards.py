"""Writing one planned output shard (``output_plan.Shard``): a job any worker of either engine can run.

A shard's rows are read from the work dir piece by piece (a chunk's kept rows, split into its
streams as ``output_plan.chunk_streams`` conforms them; or the rows one step excluded from a chunk,
as exclusion records), unified to the output schema, and written in row groups of exactly the
plan's G rows (the last of a shard may be shorter): each group is handed to Parquet as one
contiguous table of G rows, so no write call ends a group early and the bytes depend on nothing but
the rows. The file is made under a temporary name (next to its final place for a local output, in
the work dir for an object store, then uploaded in blocks), so memory stays near one row group
plus one chunk. The shard's account (path, rows, bytes, sha256 and, for rows, its share of the
content fingerprint, ``Fingerprinter.state``) is saved as a JSON marker in the work dir, so a
rerun writes only the shards without one.

The work dir's ``write/`` folder holds ``stats-cCCCCCC.json`` (a chunk's statistics) and
``shard-SSSSSS.json`` (a written shard's account).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from codequarry.cleaners.output_plan import (
    Shard,
    chunk_stats,
    chunk_streams,
    exclusion_records,
    schema_from_text,
)
from codequarry.errors import CodequarryError, one_line
from codequarry.pairs_exclusions import EXCLUSION_SCHEMA
from codequarry.pairs_fingerprint import Fingerprinter, file_sha256
from codequarry.pairs_writer import unify
from codequarry.storage import Location, location

_STREAMS: dict[str, Any] = {}  # this process's last chunk, split into its streams (pieces of one chunk follow)


def stats_marker(work: Any, c: int) -> Path:
    return work.work / "write" / f"stats-c{c:06d}.json"


def shard_marker(work: Any, index: int) -> Path:
    return work.work / "write" / f"shard-{index:06d}.json"


def run_job(work: Any, kind: str, args: tuple[Any, ...]) -> None:
    """One job of the write phase: ``("stats", (c,))`` or ``("shard", (shard, schema text, output URI))``."""
    from codequarry.cleaners.local_engine import _write_json

    if kind == "stats":
        (c,) = args
        _write_json(stats_marker(work, c), chunk_stats(work, c))
    elif kind == "shard":
        shard, schema, uri = args
        _write_json(shard_marker(work, shard.index), write_shard(work, shard, schema, location(uri)))
    else:
        raise ValueError(f"unknown write job {kind!r}")


def write_shard(work: Any, shard: Shard, schema: str | None, dest: Location) -> dict[str, Any]:
    """Write ``shard`` under ``dest``; return its account (see the module doc)."""
    rows_shard = shard.config is not None
    out_schema = schema_from_text(schema) if rows_shard and schema is not None else EXCLUSION_SCHEMA
    if dest.is_local:
        tmp = Path(f"{dest.path(shard.path)}.tmp.{os.getpid()}")
    else:
        tmp = work.work / "write" / f"shard-{shard.index:06d}.parquet.tmp.{os.getpid()}"
    tmp.parent.mkdir(parents=True, exist_ok=True)
    fp = Fingerprinter()
    written = 0
    try:
        with pq.ParquetWriter(str(tmp), out_schema, compression="zstd") as writer:
            for group in groups(_tables(work, shard, out_schema), shard.group_rows):
                writer.write_table(group, row_group_size=group.num_rows)
                if rows_shard:
                    fp.update(group, config=shard.config, split=shard.split)
                written += group.num_rows
        if written != shard.rows:
            raise RuntimeError(f"{shard.path}: planned {shard.rows} rows but read {written} from the work dir")
        account: dict[str, Any] = {"index": shard.index, "path": shard.path, "rows": written,
                                   "bytes": tmp.stat().st_size, "sha256": file_sha256(tmp)}
        deliver(tmp, dest, shard.path)
    finally:
        tmp.unlink(missing_ok=True)
    if rows_shard:
        account.update(config=shard.config, split=shard.split, fingerprint=fp.state())
    return account


def _tables(work: Any, shard: Shard, schema: pa.Schema) -> Iterator[pa.Table]:
    """The shard's rows, piece by piece, in the output schema."""
    from codequarry.cleaners.local_engine import read_arrow

    for piece in shard.pieces:
        if piece.step is None:
            part = _chunk_streams(work, piece.chunk).get((shard.config, shard.split))
            if part is None or part.num_rows < piece.offset + piece.length:
                raise CodequarryError(f"chunk {piece.chunk} of the unfinished clean has fewer {shard.config}/"
                                      f"{shard.split} rows than its statistics say; pass --overwrite to start over")
            yield unify(part.slice(piece.offset, piece.length), schema)
        else:
            plan = next(p for p in work.passes if piece.step in p.step_indices)
            table = read_arrow(work.excl_path(plan.index, piece.chunk, piece.step))
            yield exclusion_records(table.slice(piece.offset, piece.length), work.steps)


def _chunk_streams(work: Any, c: int) -> dict[tuple[str, str], pa.Table]:
    from codequarry.cleaners.local_engine import read_arrow

    path = work.kept_path(work.passes[-1].index, c)
    try:
        st = path.stat()
        key = (str(path), st.st_ino, st.st_size, st.st_mtime_ns)  # the file itself, not only its name
    except OSError:
        key = None  # read_arrow says what is wrong
    if key is None or _STREAMS.get("key") != key:
        _STREAMS.clear()
        streams = {(cfg, s): t for cfg, s, t in chunk_streams(read_arrow(path))}
        _STREAMS.update(key=key, streams=streams)
    return _STREAMS["streams"]


def groups(tables: Iterable[pa.Table], rows: int) -> Iterator[pa.Table]:
    """The same rows as contiguous tables of exactly ``rows`` rows (the last may be shorter)."""
    buffer: list[pa.Table] = []
    held = 0
    for table in tables:
        while table.num_rows:
            take = min(rows - held, table.num_rows)
            buffer.append(table.slice(0, take))
            held += take
            table = table.slice(take)
            if held == rows:
                yield _contiguous(buffer)
                buffer, held = [], 0
    if held:
        yield _contiguous(buffer)


def _contiguous(tables: list[pa.Table]) -> pa.Table:
    whole = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
    return whole.combine_chunks()


def deliver(tmp: Path, dest: Location, relative: str) -> None:
    """Move a finished local file to ``relative`` under ``dest`` (rename locally; upload in 8 MiB blocks to an
    object store, where the object appears only when the upload completes)."""
    if dest.is_local:
        os.replace(tmp, dest.path(relative))
        return
    target = dest.path(relative)
    try:
        dest.fs.create_dir(target.rsplit("/", 1)[0], recursive=True)
        with open(tmp, "rb") as src, dest.fs.open_output_stream(target) as out:
            while block := src.read(8 << 20):
                out.write(block)
    except OSError as exc:
        raise CodequarryError(f"cannot write {dest.uri}/{relative}: {one_line(exc)}") from None
