"""Readers for the on-disk forms task data arrives in: CodeSearchNet jsonl.gz (loose, in folders or in the
release zip) and codequarry pairs dirs."""

from __future__ import annotations

import gzip
import io
import json
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from codequarry.benchmarks.tasks.base import MissingTaskData, json_lines
from codequarry.errors import CodequarryError

MANIFEST = "codequarry.json"


def is_pairs_dir(path: Path | None) -> bool:
    return path is not None and path.is_dir() and (path / MANIFEST).is_file()


def pairs_rows(path: Path, *, split: str | None, config: str | None = None,
               columns: Sequence[str] | None = None) -> Iterator[dict[str, Any]]:
    """Rows of a pairs dir (one split, optionally one config) as dicts, in the dir's canonical order."""
    from codequarry.pairs import PairsDir

    d = PairsDir(path)
    if split is not None and split not in d.splits(config):
        where = f" config {config!r}" if config else ""
        raise CodequarryError(f"{path}: pairs dir has no split {split!r}{where}; it has: {', '.join(d.splits(config)) or 'none'}")
    if config is not None and config not in d.configs:
        raise MissingTaskData(f"{path}: pairs dir has no config (language) {config!r}; it has: {', '.join(d.configs)}")
    names = set(d.schema.names)
    cols = [c for c in (columns or d.schema.names) if c in names]
    for table in d.iter_batches(split=split, config=config, columns=cols):
        yield from table.to_pylist()


def pairs_splits(path: Path, config: str | None = None) -> list[str]:
    from codequarry.pairs import PairsDir

    return PairsDir(path).splits(config)


def pairs_configs(path: Path) -> list[str]:
    from codequarry.pairs import PairsDir

    return PairsDir(path).configs


def pairs_fingerprint(path: Path) -> str:
    from codequarry.pairs import PairsDir

    return PairsDir(path).fingerprint


def row_meta(row: dict[str, Any]) -> dict[str, Any]:
    text = row.get("meta")
    if not text:
        return {}
    try:
        value = json.loads(text)
    except (TypeError, json.JSONDecodeError):
        return {}
    return value if isinstance(value, dict) else {}


# ---------------------------------------------------------------------------------------------
# CodeSearchNet release files


def csn_files(path: Path, language: str, split: str) -> list[tuple[str, Any]]:
    """The CSN ``{language}_{split}_*.jsonl[.gz]`` files under ``path`` (folder, zip or file), sorted by name.

    Returns (display name, opener) pairs; CSN's ``get_dataset_from`` concatenates sorted file names too.
    """
    prefix = f"{language}_{split}_"
    found: list[tuple[str, Any]] = []
    if path.is_file() and path.suffix == ".zip":
        found += _zip_members(path, prefix)
    elif path.is_file():
        found.append((str(path), lambda p=path: _open_text(p)))
    else:
        for f in sorted(path.rglob(f"{prefix}*.jsonl*")):
            if f.name.endswith((".jsonl", ".jsonl.gz")):
                found.append((str(f), lambda p=f: _open_text(p)))
        if not found:
            for z in sorted(path.rglob(f"{language}.zip")):
                found += _zip_members(z, prefix)
    found.sort(key=lambda item: Path(item[0].split("!")[-1]).name)
    return found


def _zip_members(path: Path, prefix: str) -> list[tuple[str, Any]]:
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise CodequarryError(f"{path}: not a valid zip file ({exc})") from exc
    out = []
    for name in zf.namelist():
        base = name.rsplit("/", 1)[-1]
        if base.startswith(prefix) and base.endswith((".jsonl", ".jsonl.gz")):
            out.append((f"{path}!{name}", lambda n=name, z=zf: _open_member(z, n)))
    return out


def _open_text(path: Path) -> io.TextIOBase:
    if path.name.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8")  # type: ignore[return-value]
    return open(path, encoding="utf-8")


def _open_member(zf: zipfile.ZipFile, name: str) -> io.TextIOBase:
    raw = zf.open(name)
    stream = gzip.GzipFile(fileobj=raw) if name.endswith(".gz") else raw
    return io.TextIOWrapper(stream, encoding="utf-8")


def iter_csn_records(files: list[tuple[str, Any]]) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """(file, line number, record) over CSN jsonl files in order."""
    for name, opener in files:
        with opener() as fh:
            for i, obj in json_lines(fh, name):
                if not isinstance(obj, dict):
                    raise CodequarryError(f"{name}:{i}: expected a JSON object")
                yield name, i, obj
