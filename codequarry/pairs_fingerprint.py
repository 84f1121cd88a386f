"""The content fingerprint of a pairs dir: a sha256 over canonical rows, independent of sharding and order."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from codequarry.pairs_layout import FORMAT_VERSION


def type_name(typ: pa.DataType) -> str:
    """A stable type name (list child names differ between Arrow and Parquet round trips)."""
    if pa.types.is_list(typ) or pa.types.is_large_list(typ):
        return f"list<{type_name(typ.value_type)}>"
    if pa.types.is_struct(typ):
        return "struct<" + ",".join(f"{f.name}:{type_name(f.type)}" for f in typ) + ">"
    return str(typ)


_B = pa.large_binary()


def _field(values: pa.Array, lengths: pa.Array, tag: bytes) -> pa.Array:
    """``tag + length + ':' + value`` per row (self-delimiting), ``N`` for nulls."""
    n = pc.cast(pc.cast(lengths, pa.string()), _B)
    joined = pc.binary_join_element_wise(pa.scalar(tag, _B), n, pa.scalar(b":", _B), values, pa.scalar(b"", _B))
    return pc.coalesce(joined, pa.scalar(b"N", _B))


def _encode(arr: pa.Array) -> pa.Array:
    """One self-delimiting byte string per value, so concatenating columns can never be ambiguous."""
    typ = arr.type
    if pa.types.is_list(typ) or pa.types.is_large_list(typ):
        lengths = pc.list_value_length(arr)
        items = _encode(pc.list_flatten(arr))
        offsets = np.concatenate([[0], np.cumsum(lengths.fill_null(0).to_numpy(zero_copy_only=False))]).astype(np.int64)
        joined = pc.binary_join(pa.LargeListArray.from_arrays(pa.array(offsets, pa.int64()), items), pa.scalar(b"", _B))
        return pc.if_else(pc.is_null(arr), pa.scalar(b"N", _B), _field(joined, lengths, b"L"))
    if pa.types.is_string(typ) or pa.types.is_large_string(typ) or pa.types.is_binary(typ) or pa.types.is_large_binary(typ):
        data = pc.cast(arr, _B)
    elif pa.types.is_integer(typ) or pa.types.is_floating(typ) or pa.types.is_boolean(typ):
        data = pc.cast(pc.cast(arr, pa.string()), _B)
    else:  # nested structs and the like: canonical JSON per value
        data = pa.array([None if v is None else json.dumps(v, sort_keys=True, ensure_ascii=False, default=str).encode()
                         for v in arr.to_pylist()], _B)
    return _field(data, pc.binary_length(data), b"S")


def canonical_rows(table: pa.Table) -> pa.Array:
    """Each row as one canonical byte string: its columns in name order, each value self-delimiting."""
    if table.num_rows == 0:
        return pa.array([], _B)
    fields = [_encode(table.column(name).combine_chunks()) for name in sorted(table.column_names)]
    return pc.binary_join_element_wise(*fields, pa.scalar(b"", _B))


class Fingerprinter:
    """Order-independent sha256 over canonical rows, grouped by (config, split).

    Each row hashes to an integer; integers are summed mod 2**256 per (config, split), so the
    result does not depend on row order, sharding or worker count, only on the multiset of rows.
    """

    _MOD = 1 << 256

    def __init__(self) -> None:
        self._acc: dict[tuple[str, str], list[int]] = {}
        self._columns: dict[str, str] = {}

    def update(self, table: pa.Table, *, config: str, split: str) -> None:
        for f in table.schema:
            self._columns.setdefault(f.name, type_name(f.type))
        acc = self._acc.setdefault((config, split), [0, 0])
        total = acc[0]
        sha = hashlib.sha256
        for row in canonical_rows(table).to_pylist():
            total += int.from_bytes(sha(row).digest(), "big")
        acc[0] = total % self._MOD
        acc[1] += table.num_rows

    def state(self) -> dict[str, Any]:
        """The running sums as JSON-ready data, so fingerprints of parts written apart can be merged."""
        return {"columns": dict(self._columns),
                "parts": [[c, s, f"{acc:064x}", n] for (c, s), (acc, n) in sorted(self._acc.items())]}

    def merge(self, state: Mapping[str, Any]) -> None:
        """Add the rows counted in ``state`` (from ``state()`` of another Fingerprinter)."""
        for name, typ in state["columns"].items():
            if self._columns.setdefault(name, typ) != typ:
                raise ValueError(f"column {name!r} has type {typ} in one part and {self._columns[name]} in another")
        for config, split, acc_hex, n in state["parts"]:
            acc = self._acc.setdefault((config, split), [0, 0])
            acc[0] = (acc[0] + int(acc_hex, 16)) % self._MOD
            acc[1] += int(n)

    def hexdigest(self) -> str:
        payload = {
            "format": FORMAT_VERSION,
            "columns": sorted(self._columns.items()),
            "parts": {f"{c}/{s}": [n, f"{acc:064x}"] for (c, s), (acc, n) in sorted(self._acc.items())},
        }
        return "sha256:" + hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def file_sha256(path: Path) -> str:
    """The sha256 of a file's bytes (hex), read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()



def table_fingerprint(parts: Mapping[tuple[str, str], pa.Table]) -> str:
    """Fingerprint in-memory tables keyed by (config, split), as the writer would."""
    fp = Fingerprinter()
    for (config, split), table in parts.items():
        fp.update(table, config=config, split=split)
    return fp.hexdigest()
