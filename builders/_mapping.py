"""Column mapping for generic sources (``hub``, ``files``): which input column feeds which pairs column.

Mapped columns fill the pairs row; every other column is kept in ``meta`` (JSON). A mapped column
that the input lacks is a ``CodequarryError`` listing the columns that exist; a single record that
lacks it, or holds a value of the wrong type, is an exclusion with its reason.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from codequarry.builders._io import Bad
from codequarry.builders._sink import base_row
from codequarry.builders._text import normalize_language, normalize_split
from codequarry.errors import CodequarryError
from codequarry.schema import make_id

#: mapping field → (CLI option, help)
_OPTIONS: dict[str, tuple[str, str]] = {
    "query": ("--query-col", "column holding the natural-language query (default: query; '' for none, e.g. a code corpus)"),
    "code": ("--code-col", "column holding the code (default: code)"),
    "id": ("--id-col", "column with a unique record id; the row id is a hash of it (default: file name and position)"),
    "label": ("--label-col", "column with a graded relevance label (integers; booleans become 0/1)"),
    "language_col": ("--language-col", "column naming each row's programming language"),
    "split_col": ("--split-col", "column naming each row's split (validation/dev become valid)"),
    "repo": ("--repo-col", "column with the repository (owner/name)"),
    "path": ("--path-col", "column with the file path inside the repository"),
    "url": ("--url-col", "column with a URL of the code"),
    "func_name": ("--func-name-col", "column with the function name"),
    "sha": ("--sha-col", "column with the commit sha"),
    "license": ("--license-col", "column with the code's license (SPDX id)"),
    "query_tokens": ("--query-tokens-col", "column with query tokens (a list, or one space-joined string)"),
    "code_tokens": ("--code-tokens-col", "column with code tokens (a list, or one space-joined string)"),
}
_TEXT = ("query", "code", "repo", "path", "url", "func_name", "sha", "license")


@dataclass(frozen=True)
class ColumnMap:
    """Input column names for each pairs column; ``language``/``split`` may be constants instead."""

    query: str | None = "query"
    code: str = "code"
    id: str | None = None
    label: str | None = None
    language_col: str | None = None
    split_col: str | None = None
    repo: str | None = None
    path: str | None = None
    url: str | None = None
    func_name: str | None = None
    sha: str | None = None
    license: str | None = None
    query_tokens: str | None = None
    code_tokens: str | None = None
    language: str | None = None  # a constant for every row

    def __post_init__(self) -> None:
        if not self.code:
            raise CodequarryError("--code-col is required: name the column that holds the code")
        if self.language and self.language_col:
            raise CodequarryError("give --language (one language for every row) or --language-col, not both")

    def columns(self) -> dict[str, str]:
        """field → input column, for the fields that are mapped."""
        out = {}
        for f in fields(self):
            if f.name == "language":
                continue
            v = getattr(self, f.name)
            if v:
                out[f.name] = v
        return out

    def check(self, available: Iterable[str], where: str) -> None:
        """Raise a ``CodequarryError`` naming the available columns when a mapped one is missing."""
        have = list(available)
        missing = [(f, c) for f, c in self.columns().items() if c not in have]
        if missing:
            lines = ", ".join(f"{_OPTIONS[f][0]} {c!r}" for f, c in missing)
            raise CodequarryError(f"{where}: no column for {lines}. Available columns: {', '.join(map(str, have)) or '(none)'}")

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def add_mapping_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``--*-col`` options and ``--language``."""
    g = parser.add_argument_group("column mapping (unmapped columns are kept in the JSON meta column)")
    for name, (flag, text) in _OPTIONS.items():
        default = {"query": "query", "code": "code"}.get(name)
        g.add_argument(flag, dest=f"map_{name}", default=default, metavar="COL", help=text)
    g.add_argument("--language", dest="map_language", metavar="NAME",
                   help="one programming language for every row (lower-case, e.g. python); or use --language-col")


def mapping_from_args(args: argparse.Namespace) -> ColumnMap:
    kw = {name: getattr(args, f"map_{name}") for name in _OPTIONS}
    kw["language"] = args.map_language
    kw = {k: (v if v != "" else None) for k, v in kw.items()}
    if kw["code"] is None:
        kw["code"] = ""
    return ColumnMap(**kw)


def mapping_options(mapping: ColumnMap | Mapping[str, Any] | None) -> ColumnMap:
    """A ``ColumnMap`` from a ColumnMap, a dict of its fields, or None (the defaults)."""
    if mapping is None:
        return ColumnMap()
    if isinstance(mapping, ColumnMap):
        return mapping
    unknown = set(mapping) - {f.name for f in fields(ColumnMap)}
    if unknown:
        raise CodequarryError(f"unknown column mapping key(s) {sorted(unknown)}; known: {[f.name for f in fields(ColumnMap)]}")
    return ColumnMap(**mapping)


def to_label(value: Any) -> int | None:
    """A label as an int (bools → 0/1, integral floats and digit strings accepted); ValueError otherwise."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        s = value.strip()
        if s.lower() in ("true", "false"):
            return int(s.lower() == "true")
        return int(s)
    raise ValueError(f"not an integer label: {value!r:.60}")


def to_tokens(value: Any) -> list[str] | None:
    """Tokens from a list of strings or one space-joined string; ValueError for anything else."""
    if value is None:
        return None
    if isinstance(value, str):
        return [t for t in value.split(" ") if t]
    if isinstance(value, (list, tuple)) and all(isinstance(t, str) for t in value):
        return list(value)
    raise ValueError(f"not a token list: {value!r:.60}")


def map_record(rec: Any, cmap: ColumnMap, *, source: str, locator: str, fallback_id: tuple[Any, ...],
               default_split: str) -> tuple[dict[str, Any], str] | Bad:
    """One input record → (pairs row, split), or a ``Bad`` saying why it cannot be one."""
    if not isinstance(rec, Mapping):
        return Bad("wrong_type", locator, f"expected an object with columns, got {type(rec).__name__}", repr(rec)[:2000])
    cols = cmap.columns()
    for f, c in cols.items():
        if c not in rec:
            return Bad("missing_field", locator, f"no column {c!r} ({_OPTIONS[f][0]})", repr(rec)[:2000])
    row = base_row(source)
    for f in _TEXT:
        c = cols.get(f)
        if c is None:
            continue
        v = rec[c]
        if v is not None and not isinstance(v, str):
            return Bad("wrong_type", locator, f"column {c!r} ({f}): expected text, got {type(v).__name__} {v!r:.60}")
        row[f] = v
    try:
        if "label" in cols:
            row["label"] = to_label(rec[cols["label"]])
    except ValueError as exc:
        return Bad("bad_label", locator, f"column {cols['label']!r}: {exc}")
    for f in ("query_tokens", "code_tokens"):
        if f in cols:
            try:
                row[f] = to_tokens(rec[cols[f]])
            except ValueError as exc:
                return Bad("wrong_type", locator, f"column {cols[f]!r} ({f}): {exc}")
    lang = rec[cols["language_col"]] if "language_col" in cols else cmap.language
    if lang is not None and not isinstance(lang, str):
        return Bad("wrong_type", locator, f"language: expected text, got {lang!r:.60}")
    row["language"] = normalize_language(lang)
    split = default_split
    if "split_col" in cols:
        value = rec[cols["split_col"]]
        if not isinstance(value, str) or not normalize_split(value):
            return Bad("bad_split", locator, f"column {cols['split_col']!r}: {value!r:.60} is not a split name")
        split = normalize_split(value)
    meta = {k: v for k, v in rec.items() if k not in cols.values()}
    if "id" in cols:
        rid = rec[cols["id"]]
        if rid is None or (isinstance(rid, str) and not rid):
            return Bad("missing_id", locator, f"column {cols['id']!r} is empty")
        row["id"] = make_id(source, rid)
        meta["source_id"] = rid
    else:
        row["id"] = make_id(source, *fallback_id)
    row["meta"] = meta or None
    return row, split
