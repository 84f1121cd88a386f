"""Readers for the on-disk forms task data arrives in: CodeSearchNet jsonl.gz (loose, in folders or in the
release zip) and codequarry pairs dirs."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from codequarry.benchmarks.tasks.base import MissingTaskData
from codequarry.builders._io import Input
from codequarry.errors import CodequarryError
from codequarry.releases import csn
from codequarry.releases.files import error_of, line_of, strict

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
# CodeSearchNet release files (read through codequarry.releases.csn, as ``build codesearchnet`` reads them)


def csn_files(path: Path, language: str, split: str) -> list[tuple[str, Input]]:
    """The CSN ``{language}_{split}_*.jsonl[.gz]`` files under ``path`` (folder, zip or file), sorted by name.

    Returns (display name, input) pairs; CSN's ``get_dataset_from`` concatenates sorted file names too.
    An unsafe or ambiguous zip member (a name given twice) is an error: the task must read every record.
    """
    found, bad = csn.split_files(path, language, split)
    if bad:
        raise error_of(bad[0])
    return [(inp.name, inp) for inp in found]


def iter_csn_records(files: list[tuple[str, Input]]) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """(file, line number, record) over CSN jsonl files in order; the first unreadable line is an error."""
    for name, inp in files:
        for where, obj in strict(csn.iter_release(inp, "jsonl")):
            yield name, line_of(where), obj
