"""Small helpers the steps share: column access, language lookup, name splitting, adding columns."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import pyarrow as pa

from codequarry.errors import CodequarryError

_NAME_SPLIT = re.compile(r"::|\.|#|->")
_SUBTOKEN = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


def column(batch: pa.Table, name: str) -> list[Any]:
    """A column as Python values (all None when the batch lacks it)."""
    if name not in batch.column_names:
        return [None] * batch.num_rows
    return batch.column(name).to_pylist()


@lru_cache(maxsize=256)
def lang_spec(language: str | None) -> Any:
    """The codequarry.languages spec of a row's language, or None when unknown (never raises)."""
    if not language:
        return None
    from codequarry.languages import get_language

    try:
        return get_language(language)
    except CodequarryError:
        return None


def short_name(func_name: str | None) -> str | None:
    """The function's own name without class/module qualifiers (``Foo.bar`` → ``bar``)."""
    if not func_name:
        return None
    parts = [p for p in _NAME_SPLIT.split(func_name) if p]
    return parts[-1] if parts else func_name


def subtokens(text: str) -> list[str]:
    """Lower-cased identifier subtokens: camelCase, snake_case, digits (``getHTTPResponse2`` → get, http, response, 2)."""
    return [t.lower() for t in _SUBTOKEN.findall(text)]


def with_column(batch: pa.Table, field: pa.Field, values: Any) -> pa.Table:
    """Add ``field`` (or replace it in place) with ``values``."""
    array = values if isinstance(values, (pa.Array, pa.ChunkedArray)) else pa.array(values, field.type)
    if field.name in batch.column_names:
        return batch.set_column(batch.column_names.index(field.name), field, array)
    return batch.append_column(field, array)
