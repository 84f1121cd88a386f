"""Reading a pairs dir: its manifest (checked before use), configs, splits and rows in canonical order."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from codequarry.errors import CodequarryError, one_line
from codequarry.pairs_fingerprint import Fingerprinter
from codequarry.pairs_layout import MANIFEST_NAME
from codequarry.pairs_verify import check_files, check_level, check_manifest, current_level
from codequarry.schema import CORE_FIELDS, split_sort_key


class PairsDir:
    """A pairs dir on disk: manifest, configs, splits, and streaming access to its rows."""

    def __init__(self, path: str | os.PathLike[str], *, verify: str | None = None) -> None:
        """Open a pairs dir, checking it against its manifest at ``verify`` level (see ``pairs_verify``;
        None: the level a command set with ``verify_level``, by default ``sha256``)."""
        verify = current_level(verify)
        check_level(verify)
        self.path = Path(path)
        mpath = self.path / MANIFEST_NAME
        if not self.path.is_dir():
            raise CodequarryError(f"{self.path} is not a folder; expected a pairs dir written by codequarry build/clean")
        if not mpath.is_file():
            raise CodequarryError(f"{self.path} has no {MANIFEST_NAME}; is it a pairs dir written by codequarry build/clean?")
        if not mpath.resolve().is_relative_to(self.path.resolve()):
            raise CodequarryError(f"{mpath} leads outside the pairs dir (a link); the manifest must be a file inside it")
        try:
            manifest = json.loads(mpath.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
            raise CodequarryError(f"{mpath} is not valid JSON: {exc}") from None
        check_manifest(self.path, manifest)
        self.manifest: dict[str, Any] = manifest
        check_files(self.path, self.manifest, verify)

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
                for batch in _shard_batches(path, batch_size, list(columns) if columns else None):
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

    def verify(self, level: str = "full") -> None:
        """Check the files against the manifest at ``level`` (default: shard hashes and the content fingerprint)."""
        check_manifest(self.path, self.manifest)
        check_files(self.path, self.manifest, level)


def _shard_batches(path: Path, batch_size: int, columns: list[str] | None) -> Iterator[pa.RecordBatch]:
    """A shard's record batches; a shard that cannot be decoded is a clear error naming it."""
    try:
        yield from pq.ParquetFile(path).iter_batches(batch_size=batch_size, columns=columns)
    except (pa.ArrowException, OSError) as exc:
        raise CodequarryError(f"{path}: the shard cannot be read ({one_line(exc)}); rebuild the pairs dir "
                              "or check it with --verify full") from None


def compute_fingerprint(pairs: PairsDir | str | os.PathLike[str], *, verify: str | None = None) -> str:
    """Recompute a pairs dir's content fingerprint from its Parquet files."""
    d = pairs if isinstance(pairs, PairsDir) else PairsDir(pairs, verify=verify)
    fp = Fingerprinter()
    for config, split in d.parts():
        for table in d.iter_batches(split=split, config=config):
            fp.update(table, config=config, split=split)
    return fp.hexdigest()
