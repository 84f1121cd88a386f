"""The pair row schema shared by every stage (docs/formats.md §1).

Core columns come first, in a fixed order; annotation columns added by cleaners (and a few
builder columns such as line ranges) follow in the order they were added. Everything
source-specific that does not fit goes into the JSON ``meta`` column.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

import pyarrow as pa

from codequarry.errors import CodequarryError

CORE_FIELDS: tuple[pa.Field, ...] = (
    pa.field("id", pa.string(), nullable=False),
    pa.field("query", pa.string()),
    pa.field("code", pa.string()),
    pa.field("language", pa.string()),
    pa.field("source", pa.string()),
    pa.field("repo", pa.string()),
    pa.field("path", pa.string()),
    pa.field("func_name", pa.string()),
    pa.field("url", pa.string()),
    pa.field("sha", pa.string()),
    pa.field("license", pa.string()),
    pa.field("label", pa.int32()),
    pa.field("query_tokens", pa.list_(pa.string())),
    pa.field("code_tokens", pa.list_(pa.string())),
    pa.field("meta", pa.string()),
)
CORE_COLUMNS: tuple[str, ...] = tuple(f.name for f in CORE_FIELDS)
PAIR_SCHEMA = pa.schema(list(CORE_FIELDS))

# Well-known extra columns: builders and cleaners that produce them use these names and types.
KNOWN_EXTRA_FIELDS: dict[str, pa.Field] = {
    f.name: f
    for f in (
        pa.field("start_line", pa.int32()),  # 1-based, inclusive
        pa.field("end_line", pa.int32()),
    )
}

#: Canonical split order (other split names are allowed and sort after these, alphabetically).
SPLIT_ORDER: tuple[str, ...] = ("train", "valid", "test")
_SPLIT_RE = re.compile(r"^\w+(\.\w+)*$")
RESERVED_CONFIGS = frozenset({"data", "all"})
_CONFIG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]*$")


def split_sort_key(split: str) -> tuple[int, str]:
    """Sort splits train, valid, test, then any other name alphabetically."""
    return (SPLIT_ORDER.index(split), "") if split in SPLIT_ORDER else (len(SPLIT_ORDER), split)


def check_split_name(split: str) -> str:
    if not isinstance(split, str) or not _SPLIT_RE.match(split):
        raise CodequarryError(f"invalid split name {split!r}: use letters, digits and underscores (e.g. train, valid, test)")
    return split


def check_config_name(config: str) -> str:
    if not isinstance(config, str) or not _CONFIG_RE.match(config):
        raise CodequarryError(f"invalid config name {config!r}: use letters, digits, '_', '-', '.' or '+'")
    if config in RESERVED_CONFIGS:
        raise CodequarryError(f"config name {config!r} is reserved (the Hub forbids 'data'; 'all' is the union of configs)")
    return config


def make_id(source: str, *locator: object) -> str:
    """A stable row id: a hash of the source name and the record's locator (file, line, key …)."""
    h = hashlib.blake2b(digest_size=12)
    h.update(source.encode("utf-8"))
    for part in locator:
        h.update(b"\x1f")
        h.update(str(part).encode("utf-8", "surrogatepass"))
    return f"{source}-{h.hexdigest()}"


def dump_meta(meta: Mapping[str, Any] | str | None) -> str | None:
    """Serialize a meta mapping canonically (sorted keys), so equal metas give equal bytes.

    ``meta`` is standard JSON that any parser reads: a NaN or ±Infinity (which Python's json
    module would write as the non-standard ``NaN``/``Infinity``) is stored as ``null``, in a mapping
    and in a meta that arrives already serialized alike.
    """
    if meta is None:
        return None
    if isinstance(meta, str):
        if "NaN" not in meta and "Infinity" not in meta:
            return meta
        try:
            parsed = json.loads(meta)
        except (ValueError, RecursionError):
            return meta  # not JSON at all: kept as the source gave it
        if _has_non_finite(parsed):
            meta = parsed
        else:
            return meta
    try:
        return json.dumps(meta, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str,
                          allow_nan=False)
    except ValueError:
        return json.dumps(finite_json(meta), sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str,
                          allow_nan=False)


def finite_json(value: Any) -> Any:
    """``value`` with every NaN/±Infinity float replaced by None (meta must be standard JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {k: finite_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_json(v) for v in value]
    return value


def _has_non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_has_non_finite(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_non_finite(v) for v in value)
    return False


def load_meta(text: str | None) -> dict[str, Any]:
    return json.loads(text) if text else {}


def _field_for(name: str, values: list[Any]) -> pa.Field:
    if name in KNOWN_EXTRA_FIELDS:
        return KNOWN_EXTRA_FIELDS[name]
    return pa.field(name, pa.array(values).type)


def rows_to_table(rows: Iterable[Mapping[str, Any]], extra_fields: Iterable[pa.Field] = ()) -> pa.Table:
    """Build a pairs table from row dicts: core columns first (missing → null), then extras.

    ``meta`` may be given as a dict (serialized canonically). Keys that are neither core
    columns nor declared/known extras are inferred from the values.
    """
    rows = list(rows)
    declared = {f.name: f for f in extra_fields}
    extra_names: list[str] = list(declared)
    for row in rows:
        for key in row:
            if key not in CORE_COLUMNS and key not in extra_names:
                extra_names.append(key)
    arrays: list[pa.Array] = []
    fields: list[pa.Field] = []
    for field in CORE_FIELDS:
        values = [row.get(field.name) for row in rows]
        if field.name == "meta":
            values = [dump_meta(v) for v in values]
        arrays.append(_to_array(values, field))
        fields.append(field)
    for name in extra_names:
        values = [row.get(name) for row in rows]
        field = declared.get(name) or _field_for(name, values)
        arrays.append(_to_array(values, field))
        fields.append(field)
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def _to_array(values: list[Any], field: pa.Field) -> pa.Array:
    try:
        return pa.array(values, type=field.type)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as exc:
        bad = next((v for v in values if v is not None and not _fits(v, field.type)), None)
        raise CodequarryError(f"column {field.name!r} expects {field.type}, got {bad!r:.80}: {exc}") from exc


def _fits(value: Any, typ: pa.DataType) -> bool:
    try:
        pa.array([value], type=typ)
        return True
    except Exception:
        return False


def conform(table: pa.Table) -> pa.Table:
    """Reorder and cast a table to the pairs layout: core columns (added as nulls if absent) then extras."""
    n = table.num_rows
    arrays: list[pa.ChunkedArray | pa.Array] = []
    fields: list[pa.Field] = []
    names = table.column_names
    if len(set(names)) != len(names):
        raise CodequarryError(f"duplicate column names in table: {names}")
    for field in CORE_FIELDS:
        if field.name in names:
            col = table.column(field.name)
            if col.type != field.type:
                try:
                    col = col.cast(field.type)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                    raise CodequarryError(f"column {field.name!r} has type {col.type}, expected {field.type}") from exc
            arrays.append(col)
        else:
            arrays.append(pa.nulls(n, field.type))
        fields.append(field)
    for name in names:
        if name not in CORE_COLUMNS:
            col = table.column(name)
            known = KNOWN_EXTRA_FIELDS.get(name)
            if known is not None and col.type != known.type:
                col = col.cast(known.type)
            arrays.append(col)
            fields.append(pa.field(name, col.type))
    if table.column("id").null_count if "id" in names else n:
        raise CodequarryError("every row needs a non-null 'id'")
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))
