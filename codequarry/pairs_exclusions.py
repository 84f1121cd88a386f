"""Exclusions: every record a stage dropped, with its step, reason, detail and the row (or its raw text)."""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from codequarry.pairs_layout import EXCLUSIONS_DIR
from codequarry.schema import CORE_FIELDS, dump_meta, finite_json

EXCLUSION_FIELDS: tuple[pa.Field, ...] = (
    pa.field("step", pa.string()),
    pa.field("reason", pa.string()),
    pa.field("detail", pa.string()),
    pa.field("locator", pa.string()),
    pa.field("split", pa.string()),
    pa.field("raw", pa.string()),
    *(pa.field(f.name, f.type) for f in CORE_FIELDS),
)
EXCLUSION_SCHEMA = pa.schema(list(EXCLUSION_FIELDS))
RAW_LIMIT = 2000  # characters of an unparseable record kept in exclusions for inspection
FLUSH_ROWS = 50_000  # an exclusions file is written once this many records (or FLUSH_BYTES of them) are held
FLUSH_BYTES = 128 << 20


class ExclusionWriter:
    """Collects excluded records (step, reason, detail, locator, the row or its raw text) into Parquet."""

    def __init__(self, out_dir: Path, *, flush_rows: int = FLUSH_ROWS) -> None:
        self.dir = Path(out_dir) / EXCLUSIONS_DIR
        self.flush_rows = flush_rows
        self._rows: list[dict[str, Any]] = []
        self._tables: list[pa.Table] = []  # bulk additions (add_arrow), kept in insertion order with _rows
        self._table_rows = 0
        self._table_bytes = 0
        self._files: list[Path] = []
        self.reasons: Counter[str] = Counter()
        self.total = 0

    def add(
        self,
        *,
        step: str,
        reason: str,
        locator: str | None = None,
        detail: str | None = None,
        row: Mapping[str, Any] | None = None,
        raw: str | None = None,
        split: str | None = None,
    ) -> None:
        rec: dict[str, Any] = {"step": step, "reason": reason, "detail": detail, "locator": locator, "split": split,
                               "raw": raw[:RAW_LIMIT] if isinstance(raw, str) else None}
        if row:
            for f in CORE_FIELDS:
                v = row.get(f.name)
                if f.name == "meta" and isinstance(v, dict):  # standard JSON: NaN/Infinity become null
                    v = json.dumps(finite_json(v), sort_keys=True, ensure_ascii=False, allow_nan=False, default=str)
                elif f.name == "meta":
                    v = dump_meta(v)
                rec[f.name] = v
        self._rows.append(rec)
        self.reasons[f"{step}/{reason}"] += 1
        self.total += 1
        if len(self._rows) >= self.flush_rows:
            self._flush()

    def add_table(self, table: pa.Table, *, step: str, reasons: Sequence[str], details: Sequence[str | None] | None = None,
                  split: str | None = None) -> None:
        """Exclude every row of ``table`` (pairs columns) with one reason per row."""
        if len(reasons) != table.num_rows:
            raise ValueError("one reason per excluded row is required")
        details = details or [None] * table.num_rows
        core = [f.name for f in CORE_FIELDS if f.name in table.column_names]
        for row, reason, detail in zip(table.select(core).to_pylist(), reasons, details, strict=True):
            self.add(step=step, reason=reason, detail=detail, row=row, split=split)

    def add_arrow(self, table: pa.Table) -> None:
        """Exclude many records at once: ``table`` has ``step`` and ``reason`` (non-null) and any other
        exclusion column (detail, locator, split, raw, pairs columns); missing ones are null."""
        if table.num_rows == 0:
            return
        for name in ("step", "reason"):
            if name not in table.column_names or table.column(name).null_count:
                raise ValueError(f"add_arrow needs a non-null {name!r} column")
        if self._rows:  # keep insertion order with earlier single adds
            self._push(pa.Table.from_pylist(self._rows, schema=EXCLUSION_SCHEMA))
            self._rows = []
        n = table.num_rows
        part = exclusion_table(table)
        for (step, reason), k in Counter(zip(part.column("step").to_pylist(), part.column("reason").to_pylist())).items():
            self.reasons[f"{step}/{reason}"] += k
        self.total += n
        self._push(part)
        if self._table_rows >= self.flush_rows or self._table_bytes >= FLUSH_BYTES:
            self._flush()

    def _push(self, table: pa.Table) -> None:
        self._tables.append(table)
        self._table_rows += table.num_rows
        self._table_bytes += table.nbytes

    def _flush(self) -> None:
        if not self._rows and not self._tables:
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self.dir / f".tmp-{len(self._files):05d}.parquet"
        parts = list(self._tables)
        if self._rows:
            parts.append(pa.Table.from_pylist(self._rows, schema=EXCLUSION_SCHEMA))
        table = pa.concat_tables(parts) if len(parts) > 1 else parts[0]
        pq.write_table(table, path, compression="zstd")
        self._files.append(path)
        self._rows = []
        self._tables = []
        self._table_rows = self._table_bytes = 0

    def close(self) -> list[dict[str, Any]]:
        self._flush()
        out = []
        n = len(self._files)
        for i, tmp in enumerate(self._files):
            final = self.dir / f"exclusions-{i:05d}-of-{n:05d}.parquet"
            os.replace(tmp, final)
            out.append({"path": final.relative_to(self.dir.parent).as_posix(), "rows": pq.read_metadata(final).num_rows})
        return out


def exclusion_table(table: pa.Table) -> pa.Table:
    """``table``'s exclusion records in the exclusions file layout: every exclusion column in order, cast to its
    type, ``raw`` cut at ``RAW_LIMIT``, missing columns null (one layout for every writer of exclusions)."""
    arrays = []
    for f in EXCLUSION_FIELDS:
        if f.name in table.column_names:
            col = table.column(f.name)
            col = col if col.type == f.type else col.cast(f.type)
            if f.name == "raw":
                col = pc.utf8_slice_codeunits(col, 0, RAW_LIMIT)
            arrays.append(col)
        else:
            arrays.append(pa.nulls(table.num_rows, f.type))
    return pa.Table.from_arrays(arrays, schema=EXCLUSION_SCHEMA)
