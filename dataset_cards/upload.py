"""Build the exact folder that ``publish`` uploads: the card, the manifest and re-packed Parquet shards.

```
FOLDER/
  README.md                                        the full card (configs + dataset_info + prose)
  codequarry.json                                  the manifest, its ``files`` rewritten for these shards
  data/{config}/{split}-{i:05d}-of-{n:05d}.parquet  ≤ max_shard_bytes each, row groups ≤ row_group_bytes
  report files named by the manifest (e.g. report.png, linked from the card)
  exclusions/…                                     only with include_exclusions
```

Sizes are uncompressed Arrow bytes (``Table.nbytes``), the measure ``datasets`` uses for its 500 MB
``MAX_SHARD_SIZE``; row groups of about 100 MB are what the dataset viewer reads comfortably. Each row's
size is an upper bound computed from the row alone (values + offsets + a validity byte per column), and
every (config, split) is cut greedily in row order: each row group holds as many rows as fit, each shard
as many row groups as fit. So the limits hold for the bytes ``pyarrow`` reports, and the file names and
bytes depend only on the rows and their order (and the pyarrow version), never on how the pairs dir was
sharded. The folder is itself a pairs dir: ``PairsDir(FOLDER).verify()`` passes, same fingerprint.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from codequarry.dataset_cards.card_text import README, report_files
from codequarry.errors import CodequarryError
from codequarry.pairs import (
    DATA_DIR,
    DEFAULT_MAX_SHARD_BYTES,
    DEFAULT_ROW_GROUP_BYTES,
    MANIFEST_NAME,
    PairsDir,
    write_manifest,
)
from codequarry.progress import progress

#: Content-defined chunking options of ``datasets`` (config.DEFAULT_CDC_OPTIONS): pages cut at content
#: boundaries, so a re-upload of slightly changed shards is deduplicated by the Hub's Xet storage.
CDC_OPTIONS = {"min_chunk_size": 256 * 1024, "max_chunk_size": 1024 * 1024, "norm_level": 0}


@dataclass(frozen=True)
class UploadFile:
    """One file of the upload folder, with the hashes the Hub reports for it."""

    path: str  # path in the repo (posix)
    size: int
    sha256: str  # what the Hub reports for LFS/Xet files
    git_oid: str  # git blob sha1, what the Hub reports for plain git files


@dataclass(frozen=True)
class UploadFolder:
    """The upload folder on disk and its files in upload order."""

    root: Path
    files: tuple[UploadFile, ...]
    warnings: tuple[str, ...] = ()

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    def get(self, path: str) -> UploadFile | None:
        return next((f for f in self.files if f.path == path), None)


def hash_file(path: Path) -> tuple[str, str]:
    """(sha256, git blob sha1) of a file, read once."""
    size = path.stat().st_size
    sha = hashlib.sha256()
    git = hashlib.sha1(f"blob {size}\0".encode())
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            sha.update(chunk)
            git.update(chunk)
    return sha.hexdigest(), git.hexdigest()


def _writer_options() -> dict[str, Any]:
    params = inspect.signature(pq.ParquetWriter.__init__).parameters
    opts: dict[str, Any] = {"compression": "zstd"}
    if "write_page_index" in params:
        opts["write_page_index"] = True  # the viewer can read a slice without scanning the row group
    if "use_content_defined_chunking" in params:
        opts["use_content_defined_chunking"] = dict(CDC_OPTIONS)
    return opts


def _array_row_bytes(arr: pa.Array) -> np.ndarray:
    """Per-row Arrow bytes of one array: values, offsets, and a whole byte of validity (an upper bound)."""
    n = len(arr)
    typ = arr.type
    if pa.types.is_string(typ) or pa.types.is_binary(typ):
        lengths = pc.fill_null(pc.binary_length(arr), 0).to_numpy(zero_copy_only=False).astype(np.int64)
        return lengths + 5
    if pa.types.is_large_string(typ) or pa.types.is_large_binary(typ):
        lengths = pc.fill_null(pc.binary_length(arr), 0).to_numpy(zero_copy_only=False).astype(np.int64)
        return lengths + 9
    if pa.types.is_list(typ) or pa.types.is_large_list(typ):
        offsets = arr.offsets.to_numpy(zero_copy_only=False).astype(np.int64)
        child = _array_row_bytes(arr.values.slice(int(offsets[0]), int(offsets[-1] - offsets[0])))
        cumulative = np.concatenate(([0], np.cumsum(child)))
        rel = offsets - offsets[0]
        per_row = cumulative[rel[1:]] - cumulative[rel[:-1]]
        if arr.null_count:
            per_row = np.where(arr.is_valid().to_numpy(zero_copy_only=False), per_row, 0)
        return per_row + (5 if pa.types.is_list(typ) else 9)
    if pa.types.is_struct(typ):
        total = np.ones(n, np.int64)
        for i in range(typ.num_fields):
            total += _array_row_bytes(arr.field(i))
        return total
    try:
        width = typ.bit_width
    except ValueError:
        width = None
    if width:
        return np.full(n, (width + 7) // 8 + 1, np.int64)
    return np.full(n, arr.nbytes // max(1, n) + 1, np.int64)  # other types: their average, rounded up


def row_bytes(table: pa.Table) -> np.ndarray:
    """Per-row Arrow size of ``table`` (an upper bound of ``Table.nbytes`` that depends only on the row)."""
    total = np.zeros(table.num_rows, np.int64)
    for column in table.columns:
        offset = 0
        for chunk in column.chunks:
            total[offset:offset + len(chunk)] += _array_row_bytes(chunk)
            offset += len(chunk)
    return total


def group_overhead(schema: pa.Schema) -> int:
    """Bytes a row group adds beyond its rows: a last offset and validity rounding per (nested) array."""
    def arrays(typ: pa.DataType) -> int:
        if pa.types.is_list(typ) or pa.types.is_large_list(typ):
            return 1 + arrays(typ.value_type)
        if pa.types.is_struct(typ):
            return 1 + sum(arrays(typ.field(i).type) for i in range(typ.num_fields))
        return 1
    return 16 * sum(arrays(f.type) for f in schema)


def pack_row_groups(tables: Iterable[pa.Table], row_group_bytes: int) -> Iterator[tuple[pa.Table, int]]:
    """Cut a row stream into consecutive groups of at most ``row_group_bytes`` (a bigger single row stands alone).

    Sizes are per-row upper bounds of the Arrow bytes, so each group's ``nbytes`` is within the limit and the
    cut points depend only on the rows, not on how the input was batched. Yields (group, its size bound).
    """
    pending: list[pa.Table] = []
    pending_bytes = 0
    overhead: int | None = None
    for table in tables:
        if table.num_rows == 0:
            continue
        if overhead is None:
            overhead = group_overhead(table.schema)
            pending_bytes = overhead
        sizes = row_bytes(table)
        start, n = 0, table.num_rows
        while start < n:
            cumulative = np.cumsum(sizes[start:])
            k = int(np.searchsorted(cumulative, row_group_bytes - pending_bytes, side="right"))
            if k == 0:
                if pending:
                    yield pa.concat_tables(pending), pending_bytes
                    pending, pending_bytes = [], overhead
                    continue
                yield table.slice(start, 1), overhead + int(sizes[start])  # one row over the limit
                start += 1
                continue
            pending.append(table.slice(start, k))
            pending_bytes += int(cumulative[k - 1])
            start += k
            if start < n:  # the next row does not fit
                yield pa.concat_tables(pending), pending_bytes
                pending, pending_bytes = [], overhead
    if pending:
        yield pa.concat_tables(pending), pending_bytes


class _ShardWriter:
    """Writes row groups into shards of ≤ max_shard_bytes; names them once their count is known."""

    def __init__(self, directory: Path, split: str, schema: pa.Schema, max_shard_bytes: int) -> None:
        self.dir = directory
        self.split = split
        self.schema = schema
        self.max_shard_bytes = max_shard_bytes
        self.tmp: list[Path] = []
        self.writer: pq.ParquetWriter | None = None
        self.shard_bytes = 0
        self.rows = 0
        self.oversized = 0
        self._options = _writer_options()

    def write(self, group: pa.Table, size: int) -> None:
        if self.writer is not None and self.shard_bytes + size > self.max_shard_bytes:
            self._close_shard()
        if self.writer is None:
            path = self.dir / f".tmp-{self.split}-{len(self.tmp):05d}.parquet"
            self.tmp.append(path)
            self.writer = pq.ParquetWriter(path, self.schema, **self._options)
            self.shard_bytes = 0
        if size > self.max_shard_bytes:
            self.oversized += 1
        self.writer.write_table(group, row_group_size=max(1, group.num_rows))
        self.shard_bytes += size
        self.rows += group.num_rows

    def _close_shard(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def abort(self) -> None:
        """Close and remove the partial shards after a failure."""
        self._close_shard()
        for p in self.tmp:
            p.unlink(missing_ok=True)

    def close(self) -> list[Path]:
        self._close_shard()
        n = len(self.tmp)
        out = []
        for i, tmp in enumerate(self.tmp):
            final = self.dir / f"{self.split}-{i:05d}-of-{n:05d}.parquet"
            os.replace(tmp, final)
            out.append(final)
        return out


def _prepare(out: Path, pairs: PairsDir) -> None:
    out = Path(out)
    src = pairs.path.resolve()
    dst = out.resolve()
    if dst == src or src in dst.parents:
        raise CodequarryError(f"the upload folder {out} must be outside the pairs dir {pairs.path}")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise CodequarryError(f"upload folder {out} exists and is not empty; choose a new or empty folder for --out")
    out.mkdir(parents=True, exist_ok=True)


def build_upload_folder(
    pairs: PairsDir,
    out: str | os.PathLike[str],
    *,
    card_text: str,
    max_shard_bytes: int = DEFAULT_MAX_SHARD_BYTES,
    row_group_bytes: int = DEFAULT_ROW_GROUP_BYTES,
    include_exclusions: bool = False,
) -> UploadFolder:
    """Write the upload folder for ``pairs`` into the empty folder ``out``."""
    if row_group_bytes < 1 or max_shard_bytes < 1:
        raise CodequarryError("max_shard_bytes and row_group_bytes must be positive byte counts")
    if row_group_bytes > max_shard_bytes:
        raise CodequarryError(f"row_group_bytes ({row_group_bytes:,}) must not exceed max_shard_bytes ({max_shard_bytes:,})")
    root = Path(out)
    _prepare(root, pairs)
    manifest = dict(pairs.manifest)
    warnings: list[str] = []
    entries: list[dict[str, Any]] = []
    bar = progress(total=pairs.num_rows(), desc="packing shards", unit="rows")
    try:
        for config, split in pairs.parts():
            files = pairs.files(split=split, config=config)
            if not files:
                continue
            schema = pq.read_schema(files[0])
            directory = root / DATA_DIR / config
            directory.mkdir(parents=True, exist_ok=True)
            writer = _ShardWriter(directory, split, schema, max_shard_bytes)

            def batches(c: str = config, s: str = split) -> Iterator[pa.Table]:
                for t in pairs.iter_batches(split=s, config=c, batch_size=8192):
                    bar.update(t.num_rows)
                    yield t

            try:
                for group, size in pack_row_groups(batches(), row_group_bytes):
                    writer.write(group if group.schema.equals(schema) else group.cast(schema), size)
            except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as exc:
                writer.abort()
                raise CodequarryError(f"could not re-pack {config}/{split} of {pairs.path}: {exc}") from exc
            except BaseException:
                writer.abort()
                raise
            paths = writer.close()
            expected = pairs.manifest.get("splits", {}).get(config, {}).get(split)
            if expected is not None and writer.rows != expected:
                raise CodequarryError(f"{pairs.path}: {config}/{split} holds {writer.rows} rows but {MANIFEST_NAME} says {expected}")
            if writer.oversized:
                warnings.append(f"{config}/{split}: {writer.oversized} row(s) are larger than max_shard_bytes on their own")
            for p in paths:
                sha, _ = hash_file(p)
                entries.append({"path": p.relative_to(root).as_posix(), "config": config, "split": split,
                                "rows": pq.read_metadata(p).num_rows, "bytes": p.stat().st_size, "sha256": sha})
    finally:
        bar.close()
    manifest["files"] = entries
    extra: list[str] = []
    for rel in report_files(pairs):
        _copy(pairs.path / rel, root / rel)
        extra.append(rel)
    if include_exclusions:
        for e in pairs.manifest.get("exclusion_files", []):
            src = pairs.path / e["path"]
            if not src.is_file():
                raise CodequarryError(f"{src} is listed in {MANIFEST_NAME} but missing; rebuild the pairs dir")
            _copy(src, root / e["path"])
            extra.append(e["path"])
    else:
        manifest["exclusion_files"] = []
    manifest["published"] = {
        "exclusions": "included" if include_exclusions else "omitted (kept in the source pairs dir)",
        "max_shard_bytes": max_shard_bytes,
        "row_group_bytes": row_group_bytes,
    }
    write_manifest(root, manifest)
    (root / README).write_text(card_text, encoding="utf-8")
    order = [e["path"] for e in entries] + sorted(p for p in extra if p.startswith("exclusions/")) \
        + sorted(p for p in extra if not p.startswith("exclusions/")) + [MANIFEST_NAME, README]
    files = []
    for rel in dict.fromkeys(order):
        p = root / rel
        sha, git = hash_file(p)
        files.append(UploadFile(rel, p.stat().st_size, sha, git))
    return UploadFolder(root, tuple(files), tuple(warnings))


def _copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)


RETRIEVAL_PREFIXES = ("corpus/", "queries/", "qrels/")  # write_retrieval_repo's data folders


def build_retrieval_folder(pairs: PairsDir, out: str | Path, *, split: str | None = None,
                           title: str | None = None) -> UploadFolder:
    """The upload folder of ``--layout retrieval``: ``split`` of the (verified) pairs dir loaded as the pairs
    task loads it (``codequarry export --format hub``), written by ``write_retrieval_repo``."""
    from codequarry.benchmarks.tasks import load_task
    from codequarry.fetch.export import write_retrieval_repo

    root = Path(out)
    _prepare(root, pairs)  # new or empty, outside the pairs dir
    data = load_task(pairs.path, split=split)
    write_retrieval_repo(data, root, split=data.meta.get("split") or split, title=title)
    paths = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    order = [p for p in paths if p.startswith(RETRIEVAL_PREFIXES)] + [p for p in paths if not p.startswith(RETRIEVAL_PREFIXES)]
    files = []
    for rel in order:
        sha, git = hash_file(root / rel)
        files.append(UploadFile(rel, (root / rel).stat().st_size, sha, git))
    return UploadFolder(root, tuple(files))
