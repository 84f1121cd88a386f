"""The Ray engine's final write, done by the workers: one chunk's kept rows and exclusions, and their accounts.

A worker writes the chunk's rows into shards named by the chunk's input position range, so the
names do not depend on which worker ran or when::

    data/{config}/{split}-{start:012d}-{end:012d}.parquet      kept rows of input rows [start, end)
    exclusions/exclusions-{start:012d}-{end:012d}.parquet      rows excluded from them, in (step, position) order

and returns a small JSON-ready account (files with rows, bytes and sha256; row and byte counts per
config and split; exclusion reasons; the chunk's share of the content fingerprint, see
``Fingerprinter.state``). The driver merges the accounts into the manifest without reading a row.
Rows reach Parquet conformed exactly as ``PairsWriter`` conforms them, so the fingerprint equals
the local engine's.
"""

from __future__ import annotations

import base64
import hashlib
from collections import Counter
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from codequarry.cleaners.engine import SPLIT
from codequarry.cleaners.engine_input import Chunk
from codequarry.cleaners.engine_write import _exclusion_records
from codequarry.pairs_exclusions import exclusion_table
from codequarry.pairs_fingerprint import Fingerprinter
from codequarry.pairs_layout import DATA_DIR, DEFAULT_ROW_GROUP_BYTES, EXCLUSIONS_DIR, UNKNOWN_CONFIG
from codequarry.schema import check_config_name, check_split_name, conform
from codequarry.storage import Location


def shard_range(chunk: Chunk) -> str:
    return f"{chunk.start:012d}-{chunk.start + chunk.length:012d}"


def write_chunk(dest: Location, kept: pa.Table, excluded: list[pa.Table], chunk: Chunk, steps: list[Any]
                ) -> dict[str, Any]:
    """Write one chunk's kept rows and exclusions under ``dest``; return its account (see the module doc)."""
    fp = Fingerprinter()
    files: list[dict[str, Any]] = []
    rows: dict[str, dict[str, int]] = {}
    nbytes: dict[str, dict[str, int]] = {}
    schema: pa.Schema | None = None
    for config, split, body in _parts(kept):
        name = f"{DATA_DIR}/{config}/{split}-{shard_range(chunk)}.parquet"
        group_rows = max(1, int(DEFAULT_ROW_GROUP_BYTES / max(1.0, body.nbytes / max(1, body.num_rows))))
        data = _parquet(body, row_group_size=group_rows)
        dest.write_bytes(name, data)
        fp.update(body, config=config, split=split)
        files.append({"path": name, "config": config, "split": split, "rows": body.num_rows, "bytes": len(data),
                      "sha256": hashlib.sha256(data).hexdigest()})
        rows.setdefault(config, {})[split] = rows.get(config, {}).get(split, 0) + body.num_rows
        nbytes.setdefault(config, {})[split] = nbytes.get(config, {}).get(split, 0) + body.nbytes
        if schema is None:
            schema = body.schema
        elif not schema.equals(body.schema):
            raise RuntimeError(f"chunk at input row {chunk.start}: its configs/splits have different columns")
    account: dict[str, Any] = {"files": files, "rows": rows, "bytes": nbytes, "fingerprint": fp.state(),
                               "schema": _schema_text(schema) if schema is not None else None,
                               "reasons": {}, "excluded_by_step": {}, "exclusion_file": None}
    tables = [t for t in excluded if t.num_rows]
    if tables:
        table = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
        records = exclusion_table(_exclusion_records(table, steps))
        name = f"{EXCLUSIONS_DIR}/exclusions-{shard_range(chunk)}.parquet"
        dest.write_bytes(name, _parquet(records))
        account["exclusion_file"] = {"path": name, "rows": records.num_rows}
        account["reasons"] = dict(Counter(f"{s}/{r}" for s, r in zip(records["step"].to_pylist(),
                                                                       records["reason"].to_pylist())))
        by_step: dict[str, Counter[str]] = {}
        for i, r in zip(table["_step"].to_pylist(), table["_reason"].to_pylist()):
            by_step.setdefault(str(i), Counter())[r] += 1
        account["excluded_by_step"] = {k: dict(v) for k, v in by_step.items()}
    return account


def _parts(kept: pa.Table) -> list[tuple[str, str, pa.Table]]:
    """The kept rows per (config, split), each conformed as ``PairsWriter.write`` conforms them."""
    if kept.num_rows == 0:
        return []
    splits = kept[SPLIT]
    if splits.null_count:
        raise RuntimeError("a row reached the writer without a split")
    private = [n for n in kept.column_names if n.startswith("_")]
    out = []
    for split in splits.unique().to_pylist():
        check_split_name(split)
        body = kept.filter(pc.equal(splits, split)).drop_columns([*private, SPLIT])
        body = _typed(conform(body))
        langs = body.column("language")
        for lang in sorted(langs.unique().to_pylist(), key=lambda v: (v is None, v or "")):
            config = UNKNOWN_CONFIG if lang is None else check_config_name(str(lang))
            part = body.filter(langs.is_null() if lang is None else pc.equal(langs, lang))
            out.append((config, split, part.combine_chunks()))
    return out


def _typed(table: pa.Table) -> pa.Table:
    """An all-null column with no type yet is stored as string (as ``PairsWriter`` does)."""
    if any(pa.types.is_null(f.type) for f in table.schema):
        fields = [pa.field(f.name, pa.string()) if pa.types.is_null(f.type) else f for f in table.schema]
        table = table.cast(pa.schema(fields))
    return table


def _parquet(table: pa.Table, row_group_size: int | None = None) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd", row_group_size=row_group_size)
    return sink.getvalue().to_pybytes()


def _schema_text(schema: pa.Schema) -> str:
    """A schema as text (Arrow IPC, base64): data the driver can read back, never a pickle."""
    return base64.b64encode(schema.serialize().to_pybytes()).decode("ascii")


def schema_from_text(text: str) -> pa.Schema:
    return pa.ipc.read_schema(pa.py_buffer(base64.b64decode(text.encode("ascii"))))
