"""Writing a pairs dir: shards per (config, split), exclusions, the manifest and a README stub."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from codequarry import __version__
from codequarry.errors import CodequarryError
from codequarry.pairs_exclusions import ExclusionWriter
from codequarry.pairs_fingerprint import Fingerprinter, file_sha256, type_name
from codequarry.pairs_hub import write_readme_stub
from codequarry.pairs_layout import (
    DATA_DIR,
    DEFAULT_MAX_SHARD_BYTES,
    DEFAULT_ROW_GROUP_BYTES,
    EXCLUSIONS_DIR,
    FORMAT_VERSION,
    MANIFEST_NAME,
    UNKNOWN_CONFIG,
)
from codequarry.schema import (
    CORE_FIELDS,
    check_config_name,
    check_split_name,
    conform,
    rows_to_table,
    split_sort_key,
)


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
            table = typed(table)
            self.schema = table.schema
            return table
        return unify(table, self.schema)

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
                        "sha256": file_sha256(final),
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



def typed(table: pa.Table) -> pa.Table:
    """``table`` with every all-null column that has no type yet stored as string (the first batch's schema)."""
    if any(pa.types.is_null(f.type) for f in table.schema):
        fields = [pa.field(f.name, pa.string()) if pa.types.is_null(f.type) else f for f in table.schema]
        table = table.cast(pa.schema(fields))
    return table


def unify(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` in the columns and types of ``schema`` (the first batch's): missing columns become nulls; a
    column the schema lacks is an error (it must be declared up front)."""
    if table.schema.equals(schema):
        return table
    missing = [n for n in table.column_names if n not in schema.names]
    if missing:
        raise CodequarryError(
            f"columns {missing} appeared after the first batch; declare them with extra_fields= up front"
        )
    arrays = []
    for f in schema:
        if f.name in table.column_names:
            col = table.column(f.name)
            arrays.append(col if col.type == f.type else col.cast(f.type))
        else:
            arrays.append(pa.nulls(table.num_rows, f.type))
    return pa.Table.from_arrays(arrays, schema=schema)


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

