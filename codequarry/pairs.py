"""The pairs dir: the one on-disk format between stages (DESIGN.md).

```
DIR/
  README.md         dataset card (YAML front matter with configs + dataset_info, then prose)
  codequarry.json   manifest: versions, sources, recipe, counts, per config/split rows, files, fingerprint
  data/{config}/{split}-{i:05d}-of-{n:05d}.parquet
  exclusions/{step}-{i:05d}.parquet    every dropped record with its step and reason
```

``datasets.load_dataset(DIR)`` loads it as is (the README declares the configs; when there are
several, a default config ``all`` spans them). The fingerprint is a sha256 over canonical rows
that does not depend on how rows were sharded or how many workers wrote them.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml

from codequarry import __version__
from codequarry.errors import CodequarryError
from codequarry.schema import (
    CORE_FIELDS,
    check_config_name,
    check_split_name,
    conform,
    rows_to_table,
    split_sort_key,
)

FORMAT_VERSION = 1
MANIFEST_NAME = "codequarry.json"
DATA_DIR = "data"
EXCLUSIONS_DIR = "exclusions"
DEFAULT_MAX_SHARD_BYTES = 500 * 1024 * 1024  # the Hub's default max shard size (uncompressed Arrow bytes)
DEFAULT_ROW_GROUP_BYTES = 100 * 1024 * 1024  # the dataset viewer reads ~100 MB row groups comfortably
ALL_CONFIG = "all"
UNKNOWN_CONFIG = "unknown"

EXCLUSION_FIELDS: tuple[pa.Field, ...] = (
    pa.field("step", pa.string()),
    pa.field("reason", pa.string()),
    pa.field("detail", pa.string()),
    pa.field("locator", pa.string()),
    pa.field("split", pa.string()),
    pa.field("raw", pa.string()),
    *(pa.field(f.name, f.type) for f in CORE_FIELDS),
)
EXCLUSION_SCHEMA = pa.schema(list(EXCLUSION_FIELDS))
RAW_LIMIT = 2000  # characters of an unparseable record kept in exclusions for inspection


@dataclass(frozen=True)
class SourceInfo:
    """Where a dataset's rows came from; written to the manifest and the card."""

    name: str
    url: str | None = None
    license: str | None = None
    citation: str | None = None
    revision: str | None = None
    homepage: str | None = None
    description: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}


# --------------------------------------------------------------------------------------------
# fingerprint


def type_name(typ: pa.DataType) -> str:
    """A stable type name (list child names differ between Arrow and Parquet round trips)."""
    if pa.types.is_list(typ) or pa.types.is_large_list(typ):
        return f"list<{type_name(typ.value_type)}>"
    if pa.types.is_struct(typ):
        return "struct<" + ",".join(f"{f.name}:{type_name(f.type)}" for f in typ) + ">"
    return str(typ)


_B = pa.large_binary()


def _field(values: pa.Array, lengths: pa.Array, tag: bytes) -> pa.Array:
    """``tag + length + ':' + value`` per row (self-delimiting), ``N`` for nulls."""
    n = pc.cast(pc.cast(lengths, pa.string()), _B)
    joined = pc.binary_join_element_wise(pa.scalar(tag, _B), n, pa.scalar(b":", _B), values, pa.scalar(b"", _B))
    return pc.coalesce(joined, pa.scalar(b"N", _B))


def _encode(arr: pa.Array) -> pa.Array:
    """One self-delimiting byte string per value, so concatenating columns can never be ambiguous."""
    typ = arr.type
    if pa.types.is_list(typ) or pa.types.is_large_list(typ):
        lengths = pc.list_value_length(arr)
        items = _encode(pc.list_flatten(arr))
        offsets = np.concatenate([[0], np.cumsum(lengths.fill_null(0).to_numpy(zero_copy_only=False))]).astype(np.int64)
        joined = pc.binary_join(pa.LargeListArray.from_arrays(pa.array(offsets, pa.int64()), items), pa.scalar(b"", _B))
        return pc.if_else(pc.is_null(arr), pa.scalar(b"N", _B), _field(joined, lengths, b"L"))
    if pa.types.is_string(typ) or pa.types.is_large_string(typ) or pa.types.is_binary(typ) or pa.types.is_large_binary(typ):
        data = pc.cast(arr, _B)
    elif pa.types.is_integer(typ) or pa.types.is_floating(typ) or pa.types.is_boolean(typ):
        data = pc.cast(pc.cast(arr, pa.string()), _B)
    else:  # nested structs and the like: canonical JSON per value
        data = pa.array([None if v is None else json.dumps(v, sort_keys=True, ensure_ascii=False, default=str).encode()
                         for v in arr.to_pylist()], _B)
    return _field(data, pc.binary_length(data), b"S")


def canonical_rows(table: pa.Table) -> pa.Array:
    """Each row as one canonical byte string: its columns in name order, each value self-delimiting."""
    if table.num_rows == 0:
        return pa.array([], _B)
    fields = [_encode(table.column(name).combine_chunks()) for name in sorted(table.column_names)]
    return pc.binary_join_element_wise(*fields, pa.scalar(b"", _B))


class Fingerprinter:
    """Order-independent sha256 over canonical rows, grouped by (config, split).

    Each row hashes to an integer; integers are summed mod 2**256 per (config, split), so the
    result does not depend on row order, sharding or worker count, only on the multiset of rows.
    """

    _MOD = 1 << 256

    def __init__(self) -> None:
        self._acc: dict[tuple[str, str], list[int]] = {}
        self._columns: dict[str, str] = {}

    def update(self, table: pa.Table, *, config: str, split: str) -> None:
        for f in table.schema:
            self._columns.setdefault(f.name, type_name(f.type))
        acc = self._acc.setdefault((config, split), [0, 0])
        total = acc[0]
        sha = hashlib.sha256
        for row in canonical_rows(table).to_pylist():
            total += int.from_bytes(sha(row).digest(), "big")
        acc[0] = total % self._MOD
        acc[1] += table.num_rows

    def hexdigest(self) -> str:
        payload = {
            "format": FORMAT_VERSION,
            "columns": sorted(self._columns.items()),
            "parts": {f"{c}/{s}": [n, f"{acc:064x}"] for (c, s), (acc, n) in sorted(self._acc.items())},
        }
        return "sha256:" + hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# --------------------------------------------------------------------------------------------
# writing


@dataclass
class _Stream:
    """The shards of one (config, split) being written."""

    config: str
    split: str
    dir: Path
    tmp_paths: list[Path] = field(default_factory=list)
    writer: pq.ParquetWriter | None = None
    shard_bytes: int = 0
    shard_rows: int = 0
    buffer: list[pa.Table] = field(default_factory=list)
    buffer_bytes: int = 0
    rows: int = 0
    nbytes: int = 0


class PairsWriter:
    """Streams pair rows into a pairs dir; ``close()`` names the shards and writes manifest and card stub.

    Rows arrive as Arrow tables or dicts, per split; the config is the row's ``language`` unless
    given. Memory stays bounded: each (config, split) buffers at most one row group.
    """

    def __init__(
        self,
        out_dir: str | os.PathLike[str],
        *,
        created_by: str,
        sources: Sequence[SourceInfo | Mapping[str, Any]] = (),
        params: Mapping[str, Any] | None = None,
        overwrite: bool = False,
        extra_fields: Sequence[pa.Field] = (),
        max_shard_bytes: int = DEFAULT_MAX_SHARD_BYTES,
        max_shard_rows: int | None = None,
        row_group_bytes: int = DEFAULT_ROW_GROUP_BYTES,
        max_buffered_bytes: int = 256 * 1024 * 1024,
    ) -> None:
        self.dir = Path(out_dir)
        prepare_out_dir(self.dir, overwrite=overwrite)
        self.created_by = created_by
        self.sources = [s.to_dict() if isinstance(s, SourceInfo) else dict(s) for s in sources]
        self.params = dict(params or {})
        self.extra_fields = list(extra_fields)
        self.max_shard_bytes = max_shard_bytes
        self.max_shard_rows = max_shard_rows
        self.row_group_bytes = row_group_bytes
        self.max_buffered_bytes = max_buffered_bytes
        self.schema: pa.Schema | None = None
        self._streams: dict[tuple[str, str], _Stream] = {}
        self._fp = Fingerprinter()
        self._exclusions = ExclusionWriter(self.dir)
        self._read = 0
        self._read_counted = False
        self._extra_manifest: dict[str, Any] = {}
        self._closed = False

    # -- accounting ---------------------------------------------------------------------------
    def add_read(self, n: int = 1) -> None:
        """Count records read from the source; ``close()`` checks read = written + excluded."""
        self._read += n
        self._read_counted = True

    def exclude(
        self,
        reason: str,
        *,
        step: str = "build",
        locator: str | None = None,
        detail: str | None = None,
        row: Mapping[str, Any] | None = None,
        raw: str | None = None,
        split: str | None = None,
    ) -> None:
        """Record a dropped record with its reason (never drop silently)."""
        self._exclusions.add(step=step, reason=reason, locator=locator, detail=detail, row=row, raw=raw, split=split)

    @property
    def excluded(self) -> int:
        return self._exclusions.total

    @property
    def written(self) -> int:
        return sum(s.rows for s in self._streams.values())

    def exclude_arrow(self, table: pa.Table) -> None:
        """Record many dropped records at once (see ``ExclusionWriter.add_arrow``)."""
        self._exclusions.add_arrow(table)

    def set_manifest(self, key: str, value: Any) -> None:
        """Add a key to the manifest (e.g. ``recipe``, ``steps``, ``report``)."""
        self._extra_manifest[key] = value

    # -- rows ---------------------------------------------------------------------------------
    def write(self, rows: pa.Table | Iterable[Mapping[str, Any]], *, split: str, config: str | None = None) -> None:
        if self._closed:
            raise RuntimeError("PairsWriter is closed")
        check_split_name(split)
        table = rows if isinstance(rows, pa.Table) else rows_to_table(rows, self.extra_fields)
        if table.num_rows == 0:
            return
        table = self._unify(conform(table))
        if config is not None:
            self._append(check_config_name(config), split, table)
            return
        langs = table.column("language")
        values = sorted(langs.unique().to_pylist(), key=lambda v: (v is None, v or ""))
        for lang in values:
            cfg = UNKNOWN_CONFIG if lang is None else check_config_name(str(lang))
            if len(values) == 1:
                part = table
            else:
                part = table.filter(langs.is_null() if lang is None else pc.equal(langs, lang))
            self._append(cfg, split, part)

    def _unify(self, table: pa.Table) -> pa.Table:
        if self.schema is None:
            if any(pa.types.is_null(f.type) for f in table.schema):
                # an all-null extra column has no type yet: store it as string
                fields = [pa.field(f.name, pa.string()) if pa.types.is_null(f.type) else f for f in table.schema]
                table = table.cast(pa.schema(fields))
            self.schema = table.schema
            return table
        if table.schema.equals(self.schema):
            return table
        missing = [n for n in table.column_names if n not in self.schema.names]
        if missing:
            raise CodequarryError(
                f"columns {missing} appeared after the first batch; declare them with extra_fields= up front"
            )
        arrays = []
        for f in self.schema:
            if f.name in table.column_names:
                col = table.column(f.name)
                arrays.append(col if col.type == f.type else col.cast(f.type))
            else:
                arrays.append(pa.nulls(table.num_rows, f.type))
        return pa.Table.from_arrays(arrays, schema=self.schema)

    def _append(self, config: str, split: str, table: pa.Table) -> None:
        key = (config, split)
        stream = self._streams.get(key)
        if stream is None:
            stream = self._streams[key] = _Stream(config, split, self.dir / DATA_DIR / config)
            stream.dir.mkdir(parents=True, exist_ok=True)
        self._fp.update(table, config=config, split=split)
        stream.buffer.append(table)
        stream.buffer_bytes += table.nbytes
        stream.rows += table.num_rows
        stream.nbytes += table.nbytes
        if stream.buffer_bytes >= self.row_group_bytes or (
            self.max_shard_rows and stream.shard_rows + sum(t.num_rows for t in stream.buffer) >= self.max_shard_rows
        ):
            self._flush(stream)
        if sum(s.buffer_bytes for s in self._streams.values()) > self.max_buffered_bytes:
            self._flush(max(self._streams.values(), key=lambda s: s.buffer_bytes))

    def _flush(self, stream: _Stream) -> None:
        if not stream.buffer:
            return
        table = pa.concat_tables(stream.buffer)
        stream.buffer, stream.buffer_bytes = [], 0
        offset = 0
        while offset < table.num_rows:
            if stream.writer is None:
                path = stream.dir / f".tmp-{stream.split}-{len(stream.tmp_paths):05d}.parquet"
                stream.tmp_paths.append(path)
                stream.writer = pq.ParquetWriter(path, self.schema, compression="zstd")
                stream.shard_bytes = stream.shard_rows = 0
            room = table.num_rows - offset
            avg = max(1.0, table.nbytes / max(1, table.num_rows))
            room = min(room, max(1, int((self.max_shard_bytes - stream.shard_bytes) / avg)))
            if self.max_shard_rows:
                room = min(room, self.max_shard_rows - stream.shard_rows)
            group_rows = max(1, int(self.row_group_bytes / avg))
            piece = table.slice(offset, room)
            stream.writer.write_table(piece, row_group_size=group_rows)
            stream.shard_rows += piece.num_rows
            stream.shard_bytes += piece.nbytes
            offset += room
            full_rows = self.max_shard_rows is not None and stream.shard_rows >= self.max_shard_rows
            if full_rows or stream.shard_bytes >= self.max_shard_bytes:
                stream.writer.close()
                stream.writer = None

    # -- closing ------------------------------------------------------------------------------
    def close(self) -> dict[str, Any]:
        """Finish shards, write exclusions, manifest and README stub; returns the manifest."""
        if self._closed:
            raise RuntimeError("PairsWriter already closed")
        self._closed = True
        files: list[dict[str, Any]] = []
        splits: dict[str, dict[str, int]] = {}
        split_bytes: dict[str, dict[str, int]] = {}
        for (config, split), stream in sorted(self._streams.items(), key=lambda kv: (kv[0][0], split_sort_key(kv[0][1]))):
            self._flush(stream)
            if stream.writer is not None:
                stream.writer.close()
                stream.writer = None
            n = len(stream.tmp_paths)
            for i, tmp in enumerate(stream.tmp_paths):
                final = stream.dir / f"{split}-{i:05d}-of-{n:05d}.parquet"
                os.replace(tmp, final)
                meta = pq.read_metadata(final)
                files.append(
                    {
                        "path": final.relative_to(self.dir).as_posix(),
                        "config": config,
                        "split": split,
                        "rows": meta.num_rows,
                        "bytes": final.stat().st_size,
                        "sha256": _file_sha256(final),
                    }
                )
            splits.setdefault(config, {})[split] = stream.rows
            split_bytes.setdefault(config, {})[split] = stream.nbytes
        exclusion_files = self._exclusions.close()
        written = self.written
        counts: dict[str, Any] = {"written": written, "excluded": self._exclusions.total,
                                  "exclusion_reasons": dict(sorted(self._exclusions.reasons.items()))}
        if self._read_counted:
            counts["read"] = self._read
            if self._read != written + self._exclusions.total:
                raise RuntimeError(
                    f"accounting mismatch: read {self._read} records but wrote {written} and excluded "
                    f"{self._exclusions.total}; every record must be written or excluded"
                )
        schema = self.schema or pa.schema(list(CORE_FIELDS))
        manifest: dict[str, Any] = {
            "format_version": FORMAT_VERSION,
            "codequarry_version": __version__,
            "created_by": self.created_by,
            "sources": self.sources,
            "params": self.params,
            "counts": counts,
            "splits": splits,
            "split_bytes": split_bytes,
            "schema": [{"name": f.name, "type": type_name(f.type)} for f in schema],
            "files": files,
            "exclusion_files": exclusion_files,
            "fingerprint": self._fp.hexdigest(),
        }
        manifest.update(self._extra_manifest)
        write_manifest(self.dir, manifest)
        write_readme_stub(self.dir, manifest, schema)
        return manifest

    def abort(self) -> None:
        """Remove partial shards after a failure (the out dir keeps no half-written data)."""
        for stream in self._streams.values():
            if stream.writer is not None:
                stream.writer.close()
            for p in stream.tmp_paths:
                p.unlink(missing_ok=True)
        self._closed = True

    def __enter__(self) -> PairsWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()
        elif not self._closed:
            self.close()


class ExclusionWriter:
    """Collects excluded records (step, reason, detail, locator, the row or its raw text) into Parquet."""

    def __init__(self, out_dir: Path, *, flush_rows: int = 50_000) -> None:
        self.dir = Path(out_dir) / EXCLUSIONS_DIR
        self.flush_rows = flush_rows
        self._rows: list[dict[str, Any]] = []
        self._tables: list[pa.Table] = []  # bulk additions (add_arrow), kept in insertion order with _rows
        self._table_rows = 0
        self._table_bytes = 0
        self._files: list[Path] = []
        self.reasons: Counter[str] = Counter()
        self.total = 0

    def add(
        self,
        *,
        step: str,
        reason: str,
        locator: str | None = None,
        detail: str | None = None,
        row: Mapping[str, Any] | None = None,
        raw: str | None = None,
        split: str | None = None,
    ) -> None:
        rec: dict[str, Any] = {"step": step, "reason": reason, "detail": detail, "locator": locator, "split": split,
                               "raw": raw[:RAW_LIMIT] if isinstance(raw, str) else None}
        if row:
            for f in CORE_FIELDS:
                v = row.get(f.name)
                if f.name == "meta" and isinstance(v, dict):
                    v = json.dumps(v, sort_keys=True, ensure_ascii=False)
                rec[f.name] = v
        self._rows.append(rec)
        self.reasons[f"{step}/{reason}"] += 1
        self.total += 1
        if len(self._rows) >= self.flush_rows:
            self._flush()

    def add_table(self, table: pa.Table, *, step: str, reasons: Sequence[str], details: Sequence[str | None] | None = None,
                  split: str | None = None) -> None:
        """Exclude every row of ``table`` (pairs columns) with one reason per row."""
        if len(reasons) != table.num_rows:
            raise ValueError("one reason per excluded row is required")
        details = details or [None] * table.num_rows
        core = [f.name for f in CORE_FIELDS if f.name in table.column_names]
        for row, reason, detail in zip(table.select(core).to_pylist(), reasons, details, strict=True):
            self.add(step=step, reason=reason, detail=detail, row=row, split=split)

    def add_arrow(self, table: pa.Table) -> None:
        """Exclude many records at once: ``table`` has ``step`` and ``reason`` (non-null) and any other
        exclusion column (detail, locator, split, raw, pairs columns); missing ones are null."""
        if table.num_rows == 0:
            return
        for name in ("step", "reason"):
            if name not in table.column_names or table.column(name).null_count:
                raise ValueError(f"add_arrow needs a non-null {name!r} column")
        if self._rows:  # keep insertion order with earlier single adds
            self._push(pa.Table.from_pylist(self._rows, schema=EXCLUSION_SCHEMA))
            self._rows = []
        n = table.num_rows
        arrays = []
        for f in EXCLUSION_FIELDS:
            if f.name in table.column_names:
                col = table.column(f.name)
                col = col if col.type == f.type else col.cast(f.type)
                if f.name == "raw":
                    col = pc.utf8_slice_codeunits(col, 0, RAW_LIMIT)
                arrays.append(col)
            else:
                arrays.append(pa.nulls(n, f.type))
        part = pa.Table.from_arrays(arrays, schema=EXCLUSION_SCHEMA)
        for (step, reason), k in Counter(zip(part.column("step").to_pylist(), part.column("reason").to_pylist())).items():
            self.reasons[f"{step}/{reason}"] += k
        self.total += n
        self._push(part)
        if self._table_rows >= self.flush_rows or self._table_bytes >= 128 << 20:
            self._flush()

    def _push(self, table: pa.Table) -> None:
        self._tables.append(table)
        self._table_rows += table.num_rows
        self._table_bytes += table.nbytes

    def _flush(self) -> None:
        if not self._rows and not self._tables:
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self.dir / f".tmp-{len(self._files):05d}.parquet"
        parts = list(self._tables)
        if self._rows:
            parts.append(pa.Table.from_pylist(self._rows, schema=EXCLUSION_SCHEMA))
        table = pa.concat_tables(parts) if len(parts) > 1 else parts[0]
        pq.write_table(table, path, compression="zstd")
        self._files.append(path)
        self._rows = []
        self._tables = []
        self._table_rows = self._table_bytes = 0

    def close(self) -> list[dict[str, Any]]:
        self._flush()
        out = []
        n = len(self._files)
        for i, tmp in enumerate(self._files):
            final = self.dir / f"exclusions-{i:05d}-of-{n:05d}.parquet"
            os.replace(tmp, final)
            out.append({"path": final.relative_to(self.dir.parent).as_posix(), "rows": pq.read_metadata(final).num_rows})
        return out


def prepare_out_dir(path: Path, *, overwrite: bool) -> None:
    """Create ``path``; refuse a non-empty folder unless ``overwrite`` (then clear what we wrote there)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise CodequarryError(f"output path {path} exists and is not a folder")
    if path.exists() and any(path.iterdir()):
        if not overwrite:
            raise CodequarryError(f"output folder {path} is not empty; choose another --out or pass --overwrite")
        if not (path / MANIFEST_NAME).exists() and not (path / DATA_DIR).exists():
            raise CodequarryError(
                f"refusing to overwrite {path}: it is not empty and does not look like a pairs dir (no {MANIFEST_NAME})"
            )
        for name in (DATA_DIR, EXCLUSIONS_DIR):
            shutil.rmtree(path / name, ignore_errors=True)
        for name in (MANIFEST_NAME, "README.md"):
            (path / name).unlink(missing_ok=True)
    path.mkdir(parents=True, exist_ok=True)


def write_manifest(path: Path, manifest: Mapping[str, Any]) -> None:
    tmp = Path(path) / f".{MANIFEST_NAME}.tmp"
    tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, Path(path) / MANIFEST_NAME)


# --------------------------------------------------------------------------------------------
# Hub metadata (README front matter)


class _NoAliasDumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump_yaml(data: Any) -> str:
    """YAML as the Hub card expects it: key order kept, unicode kept, no anchors/aliases."""
    return yaml.dump(data, Dumper=_NoAliasDumper, sort_keys=False, allow_unicode=True)


def hub_configs(manifest: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The README ``configs`` block: one config per language, plus a default ``all`` when several."""
    splits: Mapping[str, Mapping[str, int]] = manifest.get("splits", {})
    configs = sorted(splits)
    out: list[dict[str, Any]] = []
    if len(configs) > 1:
        all_splits = sorted({s for c in configs for s in splits[c]}, key=split_sort_key)
        out.append({"config_name": ALL_CONFIG, "default": True,
                    "data_files": [{"split": s, "path": f"{DATA_DIR}/*/{s}-*"} for s in all_splits]})
    for i, config in enumerate(configs):
        entry: dict[str, Any] = {"config_name": config}
        if len(configs) == 1 and i == 0:
            entry["default"] = True
        entry["data_files"] = [
            {"split": s, "path": f"{DATA_DIR}/{config}/{s}-*"} for s in sorted(splits[config], key=split_sort_key)
        ]
        out.append(entry)
    return out


def hub_dataset_info(manifest: Mapping[str, Any], schema: pa.Schema) -> list[dict[str, Any]]:
    """The README ``dataset_info`` block: features and split sizes per config (load_dataset checks them)."""
    import datasets

    features = datasets.Features.from_arrow_schema(schema)._to_yaml_list()
    splits: Mapping[str, Mapping[str, int]] = manifest.get("splits", {})
    nbytes: Mapping[str, Mapping[str, int]] = manifest.get("split_bytes", {})
    info: list[dict[str, Any]] = []
    configs = sorted(splits)

    def block(name: str, parts: Mapping[str, tuple[int, int]]) -> dict[str, Any]:
        split_list = [{"name": s, "num_bytes": int(b), "num_examples": int(n)}
                      for s, (n, b) in sorted(parts.items(), key=lambda kv: split_sort_key(kv[0]))]
        return {"config_name": name, "features": features, "splits": split_list,
                "dataset_size": int(sum(b for _, b in parts.values()))}

    if len(configs) > 1:
        union: dict[str, tuple[int, int]] = {}
        for c in configs:
            for s, n in splits[c].items():
                prev = union.get(s, (0, 0))
                union[s] = (prev[0] + n, prev[1] + nbytes.get(c, {}).get(s, 0))
        info.append(block(ALL_CONFIG, union))
    for c in configs:
        info.append(block(c, {s: (n, nbytes.get(c, {}).get(s, 0)) for s, n in splits[c].items()}))
    return info


def hub_front_matter(manifest: Mapping[str, Any], schema: pa.Schema) -> dict[str, Any]:
    return {"configs": hub_configs(manifest), "dataset_info": hub_dataset_info(manifest, schema)}


def write_readme_stub(path: Path, manifest: Mapping[str, Any], schema: pa.Schema) -> None:
    """A minimal card so the folder loads with ``datasets``; ``codequarry card`` writes the full one."""
    front = hub_front_matter(manifest, schema)
    lines = ["# codequarry pairs", "", f"Created by `{manifest.get('created_by', 'codequarry')}` "
             f"(codequarry {manifest.get('codequarry_version')}).", "",
             "| config | split | rows |", "|---|---|---|"]
    for config, parts in sorted(manifest.get("splits", {}).items()):
        for split, n in sorted(parts.items(), key=lambda kv: split_sort_key(kv[0])):
            lines.append(f"| {config} | {split} | {n:,} |")
    lines += ["", f"Fingerprint: `{manifest.get('fingerprint')}`. Run `codequarry card DIR` for the full dataset card.", ""]
    text = "---\n" + dump_yaml(front) + "---\n\n" + "\n".join(lines)
    (Path(path) / "README.md").write_text(text, encoding="utf-8")


# --------------------------------------------------------------------------------------------
# reading


class PairsDir:
    """A pairs dir on disk: manifest, configs, splits, and streaming access to its rows."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        mpath = self.path / MANIFEST_NAME
        if not self.path.is_dir():
            raise CodequarryError(f"{self.path} is not a folder; expected a pairs dir written by codequarry build/clean")
        if not mpath.exists():
            raise CodequarryError(f"{self.path} has no {MANIFEST_NAME}; is it a pairs dir written by codequarry build/clean?")
        try:
            self.manifest: dict[str, Any] = json.loads(mpath.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise CodequarryError(f"{mpath} is not valid JSON: {exc}") from exc
        version = self.manifest.get("format_version")
        if version != FORMAT_VERSION:
            raise CodequarryError(f"{mpath}: unsupported format_version {version!r} (this codequarry reads {FORMAT_VERSION})")

    @property
    def configs(self) -> list[str]:
        return sorted(self.manifest.get("splits", {}))

    def splits(self, config: str | None = None) -> list[str]:
        parts = self.manifest.get("splits", {})
        names = set(parts.get(config, {})) if config else {s for c in parts.values() for s in c}
        return sorted(names, key=split_sort_key)

    def num_rows(self, split: str | None = None, config: str | None = None) -> int:
        return sum(n for c, parts in self.manifest.get("splits", {}).items() if config in (None, c)
                   for s, n in parts.items() if split in (None, s))

    @property
    def fingerprint(self) -> str:
        return str(self.manifest.get("fingerprint"))

    @property
    def schema(self) -> pa.Schema:
        files = self.files()
        return pq.read_schema(files[0]) if files else pa.schema(list(CORE_FIELDS))

    def files(self, split: str | None = None, config: str | None = None) -> list[Path]:
        entries = self.manifest.get("files", [])
        chosen = [e for e in entries if config in (None, e["config"]) and split in (None, e["split"])]
        chosen.sort(key=lambda e: (e["config"], split_sort_key(e["split"]), e["path"]))
        return [self.path / e["path"] for e in chosen]

    def parts(self) -> list[tuple[str, str]]:
        """Every (config, split) in canonical order."""
        return [(c, s) for c in self.configs for s in self.splits(c)]

    def iter_batches(
        self,
        split: str | None = None,
        config: str | None = None,
        columns: Sequence[str] | None = None,
        batch_size: int = 65_536,
        with_split: bool = False,
    ) -> Iterator[pa.Table]:
        """Stream rows in canonical order (config, split, shard); optionally with a ``split`` column."""
        for c, s in self.parts():
            if config not in (None, c) or split not in (None, s):
                continue
            for path in self.files(split=s, config=c):
                pf = pq.ParquetFile(path)
                for batch in pf.iter_batches(batch_size=batch_size, columns=list(columns) if columns else None):
                    table = pa.Table.from_batches([batch])
                    if with_split:
                        table = table.append_column("split", pa.array([s] * table.num_rows, pa.string()))
                    yield table

    def read(self, split: str | None = None, config: str | None = None, columns: Sequence[str] | None = None,
             with_split: bool = False) -> pa.Table:
        tables = list(self.iter_batches(split=split, config=config, columns=columns, with_split=with_split))
        if not tables:
            schema = self.schema
            if columns:
                schema = pa.schema([schema.field(c) for c in columns])
            if with_split:
                schema = schema.append(pa.field("split", pa.string()))
            return schema.empty_table()
        return pa.concat_tables(tables)

    def verify(self) -> None:
        """Recompute file hashes and the content fingerprint; raise if anything was changed on disk."""
        for entry in self.manifest.get("files", []):
            p = self.path / entry["path"]
            if not p.exists():
                raise CodequarryError(f"{p} is listed in {MANIFEST_NAME} but missing")
            if _file_sha256(p) != entry["sha256"]:
                raise CodequarryError(f"{p} does not match its sha256 in {MANIFEST_NAME}: the file was changed after it was written")
        listed = {e["path"] for e in self.manifest.get("files", [])}
        on_disk = {p.relative_to(self.path).as_posix() for p in (self.path / DATA_DIR).rglob("*.parquet")}
        if on_disk - listed:
            raise CodequarryError(f"files not in {MANIFEST_NAME}: {sorted(on_disk - listed)[:5]}")
        fp = compute_fingerprint(self)
        if fp != self.fingerprint:
            raise CodequarryError(f"{self.path}: content fingerprint {fp} does not match the manifest's {self.fingerprint}")


def compute_fingerprint(pairs: PairsDir | str | os.PathLike[str]) -> str:
    """Recompute a pairs dir's content fingerprint from its Parquet files."""
    d = pairs if isinstance(pairs, PairsDir) else PairsDir(pairs)
    fp = Fingerprinter()
    for config, split in d.parts():
        for table in d.iter_batches(split=split, config=config):
            fp.update(table, config=config, split=split)
    return fp.hexdigest()


def table_fingerprint(parts: Mapping[tuple[str, str], pa.Table]) -> str:
    """Fingerprint in-memory tables keyed by (config, split), as the writer would."""
    fp = Fingerprinter()
    for (config, split), table in parts.items():
        fp.update(table, config=config, split=split)
    return fp.hexdigest()
