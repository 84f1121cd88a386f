"""A large ``id → value`` decision as Arrow columns on disk, read through a hash index (no Python object per row).

Global steps decide per row: exact_dedup maps each dropped id to the id it copies, near_dedup each
cluster member to (kept id, cluster size), leakage each leaked train row to (held-out id, split, match).
Loaded as a Python dict, such a decision costs every worker process ~150 bytes a row (key string,
value, dict slot) plus the JSON parser's peak, which grows with the corpus. :class:`ArrowMap` keeps
the same mapping in an Arrow IPC file instead: one column of keys, one column per tuple position of
the values, and an index (the keys' 64-bit xxh3 hashes sorted, with the row of each). Workers
memory-map the file, so its pages are shared through the page cache, and a lookup is a binary search
on the hashes confirmed by comparing the key itself (so a hash collision can never give a wrong
answer). Entries keep their insertion order, so iterating gives what the dict gave.

Only dicts that are large and regular are stored this way (``encodable``): string keys, and values
that are all plain scalars of one type or all flat tuples of one shape (one type per position, None
allowed). Anything else stays JSON (``decision_store``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import xxhash

from codequarry.errors import CodequarryError, one_line

MIN_ROWS = 4096  # smaller decisions stay JSON (not worth a file)
KEY, HASH, ROW = "key", "_hash", "_row"
_TYPES: dict[type, pa.DataType] = {str: pa.string(), int: pa.int64(), bool: pa.bool_(), float: pa.float64()}


def key_hashes(keys: Sequence[str]) -> np.ndarray:
    """The 64-bit xxh3 hash of each key's UTF-8 bytes."""
    return np.fromiter((xxhash.xxh3_64_intdigest(k.encode("utf-8", "surrogatepass")) for k in keys), np.uint64,
                       len(keys))


def _shape(values: Sequence[Any]) -> tuple[bool, list[pa.DataType]] | None:
    """(values are tuples, the Arrow type of each position) when every value has one shape; else None."""
    first = next(iter(values))
    is_tuple = type(first) is tuple
    width = len(first) if is_tuple else 1
    types: list[type | None] = [None] * width
    for v in values:
        items = v if is_tuple else (v,)
        if (type(v) is tuple) != is_tuple or len(items) != width:
            return None
        for i, x in enumerate(items):
            t = type(x)
            if t is type(None):
                continue
            if t not in _TYPES or (types[i] is not None and types[i] is not t):
                return None
            types[i] = t
    return is_tuple, [_TYPES[t] if t is not None else pa.string() for t in types]


def encodable(value: Any) -> bool:
    """Whether ``value`` is a dict worth storing as an :class:`ArrowMap` (large, string keys, regular values)."""
    return (type(value) is dict and len(value) >= MIN_ROWS and all(type(k) is str for k in value)
            and _shape(list(value.values())) is not None)


def write(path: Path, value: Mapping[str, Any]) -> None:
    """Write ``value`` (``encodable``) as an Arrow IPC file, atomically."""
    columns = _columns(value)
    if columns is None:
        raise TypeError("not a mapping of string keys to values of one shape")
    keys, cols, is_tuple = columns
    _write_columns(path, keys, cols, is_tuple, key_hashes(list(value)))


def _columns(value: Mapping[str, Any]) -> tuple[pa.Array, list[pa.Array], bool] | None:
    """(keys, value columns, values are tuples) of a mapping ``write`` could store; None if it could not."""
    if isinstance(value, ArrowMap):
        return value._keys, list(value._values), value._tuple
    if not value:
        return None
    if not all(type(k) is str for k in value):
        return None
    values = list(value.values())
    shape = _shape(values)
    if shape is None:
        return None
    is_tuple, types = shape
    cols = [pa.array([v[i] for v in values] if is_tuple else values, typ) for i, typ in enumerate(types)]
    return pa.array(list(value), pa.string()), cols, is_tuple


def write_union(path: Path, parts: Sequence[Mapping[str, Any]]) -> bool:
    """Write the union of disjoint mappings (``ArrowMap``s and small dicts), in part order, as one map file,
    column by column: no Python object per entry beyond one part's keys at a time. False (nothing written) when
    they do not share one shape, so the caller merges them as dicts; a key in two parts is a RuntimeError."""
    pieces = [c for c in (_columns(p) for p in parts if len(p)) if c is not None]
    if len(pieces) != sum(1 for p in parts if len(p)) or not pieces:
        return False
    is_tuple = pieces[0][2]
    types = [c.type for c in pieces[0][1]]
    for _, cols, tup in pieces:
        if tup != is_tuple or len(cols) != len(types):
            return False
        for i, c in enumerate(cols):
            if c.type != types[i] and not pa.types.is_null(c.type) and c.null_count != len(c):
                return False
    keys = pa.concat_arrays([k.cast(pa.string()) for k, _, _ in pieces])
    if pc.count_distinct(keys).as_py() != len(keys):
        raise RuntimeError(f"{path}: the parts' decisions share a key (they must be disjoint)")
    cols = [pa.concat_arrays([c[i].cast(types[i]) for _, c, _ in pieces]) for i in range(len(types))]
    hashes = np.concatenate([key_hashes(k.to_pylist()) for k, _, _ in pieces])
    _write_columns(path, keys, cols, is_tuple, hashes)
    return True


def _write_columns(path: Path, keys: pa.Array, cols: Sequence[pa.Array], is_tuple: bool, hashes: np.ndarray) -> None:
    order = np.lexsort((np.arange(len(keys)), hashes))
    table = pa.table({KEY: keys, **{f"v{i}": c for i, c in enumerate(cols)},
                      HASH: pa.array(hashes[order], pa.uint64()), ROW: pa.array(order.astype(np.int64), pa.int64())})
    table = table.replace_schema_metadata({"tuple": "1" if is_tuple else "0"})
    tmp = path.with_name(f"{path.name}.tmp.{os.getpid()}")
    with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, table.schema) as w:
        w.write_table(table)
    os.replace(tmp, path)


def read(path: Path) -> ArrowMap:
    """Memory-map a file ``write`` made; a missing, damaged or foreign file is a clear error."""
    try:
        with pa.memory_map(str(path), "r") as source:
            table = pa.ipc.open_file(source).read_all()
        return ArrowMap(table)
    except FileNotFoundError:
        problem = "is missing"
    except (OSError, pa.ArrowException, ValueError) as exc:
        problem = f"is damaged ({one_line(exc)})"
    raise CodequarryError(f"{path}: this decision file of the unfinished clean {problem}; "
                          "pass --overwrite to start over")


class ArrowMap(Mapping[str, Any]):
    """A read-only ``str → value`` mapping over the table ``write`` made (see the module docstring)."""

    def __init__(self, table: pa.Table) -> None:
        names = table.column_names
        nvals = len(names) - 3
        meta = table.schema.metadata or {}
        if names[:1] != [KEY] or names[-2:] != [HASH, ROW] or nvals < 1 \
                or names[1:-2] != [f"v{i}" for i in range(nvals)] or meta.get(b"tuple") not in (b"0", b"1") \
                or table.schema.field(KEY).type != pa.string() or table.schema.field(HASH).type != pa.uint64() \
                or table.schema.field(ROW).type != pa.int64():
            raise ValueError("not a decision map (unexpected columns)")
        self._tuple = meta[b"tuple"] == b"1"
        if not self._tuple and nvals != 1:
            raise ValueError("not a decision map (several value columns for scalar values)")
        table = table.combine_chunks()
        self._keys = table.column(KEY).chunk(0) if table.num_rows else pa.array([], pa.string())
        self._values = [table.column(f"v{i}").chunk(0) if table.num_rows else pa.array([], table.schema.field(f"v{i}").type)
                        for i in range(nvals)]
        self._hashes = table.column(HASH).to_numpy()
        self._rows = table.column(ROW).to_numpy()
        n = table.num_rows
        if n and (self._rows.min() < 0 or self._rows.max() >= n or bool(np.any(np.diff(self._hashes) < 0))):
            raise ValueError("not a decision map (index out of range or unsorted)")

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys.to_pylist())

    def _value(self, row: int) -> Any:
        if self._tuple:
            return tuple(v[row].as_py() for v in self._values)
        return self._values[0][row].as_py()

    def find(self, keys: Sequence[str]) -> np.ndarray:
        """Each key's row in the table, or -1 where the key is absent (vectorised over the keys)."""
        keys = list(keys)
        out = np.full(len(keys), -1, dtype=np.int64)
        if not keys or not len(self._hashes):
            return out
        h = key_hashes(keys)
        lo = np.searchsorted(self._hashes, h, side="left")
        hi = np.searchsorted(self._hashes, h, side="right")
        one = np.flatnonzero(hi - lo == 1)  # the usual hit: one key with this hash; confirm it is this key
        if len(one):
            rows = self._rows[lo[one]]
            same = pc.equal(self._keys.take(pa.array(rows)), pa.array([keys[i] for i in one.tolist()], pa.string()))
            ok = same.to_numpy(zero_copy_only=False)
            out[one[ok]] = rows[ok]
        for i in np.flatnonzero(hi - lo > 1).tolist():  # several keys share this hash: compare each
            for j in range(int(lo[i]), int(hi[i])):
                row = int(self._rows[j])
                if self._keys[row].as_py() == keys[i]:
                    out[i] = row
                    break
        return out

    def get_many(self, keys: Sequence[str]) -> list[Any]:
        """Each key's value, None where absent."""
        found = self.find(keys)
        out: list[Any] = [None] * len(found)
        at = np.flatnonzero(found >= 0)
        if len(at):
            rows = pa.array(found[at])
            cols = [v.take(rows).to_pylist() for v in self._values]
            for i, value in zip(at.tolist(), zip(*cols) if self._tuple else cols[0]):
                out[i] = value
        return out

    def __getitem__(self, key: str) -> Any:
        if type(key) is not str:
            raise KeyError(key)
        row = int(self.find([key])[0])
        if row < 0:
            raise KeyError(key)
        return self._value(row)

    def __contains__(self, key: object) -> bool:
        return type(key) is str and int(self.find([key])[0]) >= 0

    def items(self) -> Iterator[tuple[str, Any]]:  # type: ignore[override]
        values = [v.to_pylist() for v in self._values]
        column = zip(*values) if self._tuple else values[0]
        return zip(self._keys.to_pylist(), column)

    def values(self) -> Iterator[Any]:  # type: ignore[override]
        return (v for _, v in self.items())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Mapping):
            return NotImplemented
        return len(self) == len(other) and dict(self.items()) == dict(other.items())

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ArrowMap({len(self)} entries)"


def get_many(decision: Mapping[str, Any], keys: Sequence[str]) -> list[Any]:
    """``decision.get(k)`` for every key: vectorised for an :class:`ArrowMap`, a dict lookup otherwise."""
    if isinstance(decision, ArrowMap):
        return decision.get_many(keys)
    return [decision.get(k) for k in keys]
