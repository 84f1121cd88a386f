"""Column mapping for generic sources (``hub``, ``files``): which input column feeds which pairs column.

Mapped columns fill the pairs row; every other column is kept in ``meta`` (JSON). A mapped column
that the input lacks is a ``CodequarryError`` listing the columns that exist; a single record that
lacks it, or holds a value of the wrong type, is an exclusion with its reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from functools import cache
from typing import Any

from codequarry import options
from codequarry.builders._io import Bad
from codequarry.builders._sink import base_row
from codequarry.builders._text import _SPLIT_ALIASES, normalize_language
from codequarry.errors import CodequarryError
from codequarry.options import option
from codequarry.schema import make_id

_TEXT = ("query", "code", "repo", "path", "url", "func_name", "sha", "license")


@dataclass(frozen=True)
class ColumnMap:
    """Input column names for each pairs column; ``language``/``split`` may be constants instead.

    Each field is an option of the generic sources (``--query-col`` …); an empty column name means none.
    """

    query: str | None = option("query", flag="--query-col", metavar="COL",
                               help="column holding the natural-language query ('' for none, e.g. a code corpus)")
    code: str = option("code", flag="--code-col", metavar="COL", help="column holding the code")
    id: str | None = option(None, flag="--id-col", metavar="COL",
                            help="column with a unique record id; the row id is a hash of it (default: file name and "
                                 "position)")
    label: str | None = option(None, flag="--label-col", metavar="COL",
                               help="column with a graded relevance label (integers; booleans become 0/1)")
    language_col: str | None = option(None, flag="--language-col", metavar="COL",
                                      help="column naming each row's programming language")
    split_col: str | None = option(None, flag="--split-col", metavar="COL",
                                   help="column naming each row's split (validation/dev become valid)")
    repo: str | None = option(None, flag="--repo-col", metavar="COL", help="column with the repository (owner/name)")
    path: str | None = option(None, flag="--path-col", metavar="COL", help="column with the file path inside the repository")
    url: str | None = option(None, flag="--url-col", metavar="COL", help="column with a URL of the code")
    func_name: str | None = option(None, flag="--func-name-col", metavar="COL", help="column with the function name")
    sha: str | None = option(None, flag="--sha-col", metavar="COL", help="column with the commit sha")
    license: str | None = option(None, flag="--license-col", metavar="COL", help="column with the code's license (SPDX id)")
    query_tokens: str | None = option(None, flag="--query-tokens-col", metavar="COL",
                                      help="column with query tokens (a list, or one space-joined string)")
    code_tokens: str | None = option(None, flag="--code-tokens-col", metavar="COL",
                                     help="column with code tokens (a list, or one space-joined string)")
    language: str | None = option(None, metavar="NAME",
                                  help="one programming language for every row (lower-case, e.g. python); or use "
                                       "--language-col")

    def __post_init__(self) -> None:
        for f in fields(self):
            if f.name != "code" and getattr(self, f.name) == "":
                object.__setattr__(self, f.name, None)  # '' on the command line: no such column
        if not self.code:
            raise CodequarryError("--code-col is required: name the column that holds the code")
        if self.language and self.language_col:
            raise CodequarryError("give --language (one language for every row) or --language-col, not both")
        if self.language:
            object.__setattr__(self, "language", known_language(self.language))

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
            lines = ", ".join(f"{flag_of(f)} {c!r}" for f, c in missing)
            raise CodequarryError(f"{where}: no column for {lines}. Available columns: {', '.join(map(str, have)) or '(none)'}")

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@cache
def flag_of(name: str) -> str:
    """The CLI flag of a mapping field (``query`` → ``--query-col``)."""
    return next(s.flag for s in options.specs(ColumnMap) if s.name == name)


def split_name(value: Any) -> str | None:
    """A split name as given (case and surrounding spaces aside; ``validation``/``dev`` → ``valid``), or None
    when it is not one: unlike ``normalize_split`` nothing is renamed, so ``../../x`` is refused, not made ``x``."""
    from codequarry.schema import check_split_name

    if not isinstance(value, str):
        return None
    name = value.strip().lower()
    name = _SPLIT_ALIASES.get(name, name)
    try:
        return check_split_name(name)
    except CodequarryError:
        return None


def known_language(value: Any, option: str = "--language") -> str:
    """A language option's value as a dataset language name; a name that is neither registered
    (codequarry.languages) nor an alias of one is refused with the list of valid names."""
    from codequarry.languages import LANGUAGES

    name = normalize_language(value)
    valid = sorted({spec.dataset_language for _, spec in LANGUAGES.items()})
    if name not in valid:
        raise CodequarryError(f"{option} {value!r} is not a known language; use one of: {', '.join(valid)} "
                              "(or aliases such as JS, C#; rows of other languages can name theirs in --language-col)")
    return name


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
            return Bad("missing_field", locator, f"no column {c!r} ({flag_of(f)})", repr(rec)[:2000])
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
        named = split_name(value)
        if named is None:
            return Bad("bad_split", locator, f"column {cols['split_col']!r}: {value!r:.60} is not a split name "
                       "(letters, digits and underscores)")
        split = named
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
