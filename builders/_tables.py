"""Reading table files: CSV/TSV (strict, bounded), Parquet and Arrow, record by record.

Part of the record readers (``_readers``): the same ``(locator, record)`` / ``Bad`` items, the same
bounds and the same rule for raw text in exclusions.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import IO, Any

from codequarry.builders._io import Bad, Input
from codequarry.builders._readers import (
    _BOM,
    _STREAM_ERRORS,
    MAX_LINE_BYTES,
    _raw,
    _stream_error,
    split_lines,
)

_MISSING = object()


class _LineTooLong(Exception):
    """A CSV line over the limit: the rest of the file cannot be parsed reliably."""

    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


def _csv_lines(fh: IO[bytes]) -> Iterator[str]:
    """Text lines for the csv module: bounded, any line end, the byte-order mark dropped, bad bytes escaped."""
    first = True
    for line in split_lines(fh):
        if isinstance(line, int):
            raise _LineTooLong(line)
        if first:
            line = line.removeprefix(_BOM)
            first = False
        yield line.decode("utf-8", "surrogateescape")


def iter_csv(inp: Input, delimiter: str = ",") -> Iterator[tuple[str, Any] | Bad]:
    """Rows of a CSV/TSV file with a header line, as dicts (quoted multi-line fields are one record).

    Parsing is strict: text after a closing quote, a quote left open until the end of the file,
    a field over ``MAX_LINE_BYTES`` or a row with the wrong number of fields is an exclusion, and a
    header that repeats a column name rejects the file (its rows would be ambiguous).
    """
    csv.field_size_limit(MAX_LINE_BYTES)
    n = good = 0
    try:
        with inp.open() as raw:
            reader = csv.DictReader(_csv_lines(raw), delimiter=delimiter, restval=_MISSING, strict=True)
            try:
                header = reader.fieldnames
            except csv.Error as exc:
                yield Bad("malformed_csv", f"{inp.name}:1", f"header: {exc}")
                return
            if not header:
                yield Bad("empty_file", inp.name, "no header line")
                return
            repeated = sorted({h for h in header if header.count(h) > 1})
            if repeated:
                yield Bad("malformed_csv", f"{inp.name}:1", f"the header repeats column {', '.join(map(repr, repeated))}; "
                          "rename the columns (the file is not read)")
                return
            rows = iter(reader)
            while True:
                start = reader.line_num + 1
                try:
                    row = next(rows)
                except StopIteration:
                    break
                except csv.Error as exc:
                    n += 1
                    detail = str(exc)
                    if "unexpected end of data" in detail:  # DictReader's own line_num is not updated on errors
                        detail = (f"a quoted field opened on line {start} is never closed: lines {start}-"
                                  f"{reader.reader.line_num} are one broken record")
                    yield Bad("malformed_csv", f"{inp.name}:{start}", detail)
                    continue
                n += 1
                where = f"{inp.name}:{reader.line_num}"
                if None in row:
                    yield Bad("malformed_csv", where, f"{len(header) + len(row[None])} fields, the header has {len(header)}",
                              _csv_raw(row, good > 0))
                elif any(v is _MISSING for v in row.values()):
                    got = sum(v is not _MISSING for v in row.values())
                    yield Bad("malformed_csv", where, f"{got} fields, the header has {len(header)}", _csv_raw(row, good > 0))
                else:
                    good += 1
                    yield where, row
            if n == 0:
                yield Bad("empty_file", inp.name, "a header but no rows")
    except _LineTooLong as exc:
        yield Bad("line_too_long", f"{inp.name}:{reader.line_num + 1}", f"a line of {exc.size:,} bytes, over the "
                  f"{MAX_LINE_BYTES:,}-byte limit (the rest of the file is not read)")
    except _STREAM_ERRORS as exc:
        yield _stream_error(exc, inp, f"{inp.name}:{n + 2}", n)


def _csv_raw(row: dict[Any, Any], trusted: bool = True) -> str:
    vals = [v for k, v in row.items() if k is not None and v is not _MISSING] + list(row.get(None) or [])
    text = json.dumps(vals, ensure_ascii=False).encode("utf-8", "surrogateescape")
    return _raw(text, trusted)


def iter_parquet(inp: Input, batch_rows: int = 4096) -> Iterator[tuple[str, Any] | Bad]:
    """Rows of a Parquet file, read one record batch at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    i = 0
    try:
        if inp.member is None and inp.compression is None:
            source: Any = str(inp.path)
        else:
            with inp.open() as fh:
                source = pa.BufferReader(fh.read())
        pf = pq.ParquetFile(source)
        if pf.metadata.num_rows == 0:
            yield Bad("empty_file", inp.name, "the Parquet file has no rows")
            return
        for batch in pf.iter_batches(batch_size=batch_rows):
            for rec in batch.to_pylist():
                yield f"{inp.name}#{i}", rec
                i += 1
    except (pa.ArrowException, *_STREAM_ERRORS) as exc:
        yield _stream_error(exc, inp, f"{inp.name}#{i}", i)


def iter_arrow(inp: Input) -> Iterator[tuple[str, Any] | Bad]:
    """Rows of an Arrow IPC file or stream (the ``datasets`` cache / ``save_to_disk`` format)."""
    import pyarrow as pa

    i = 0
    try:
        with inp.open() as fh:
            data = fh if fh.seekable() else io.BytesIO(fh.read())
            try:
                reader: Any = pa.ipc.open_stream(data)
                batches: Any = reader
            except pa.ArrowInvalid:
                data.seek(0)
                reader = pa.ipc.open_file(data)
                batches = (reader.get_batch(k) for k in range(reader.num_record_batches))
            for batch in batches:
                for rec in batch.to_pylist():
                    yield f"{inp.name}#{i}", rec
                    i += 1
        if i == 0:
            yield Bad("empty_file", inp.name, "the Arrow file has no rows")
    except (pa.ArrowException, *_STREAM_ERRORS) as exc:
        yield _stream_error(exc, inp, f"{inp.name}#{i}", i)
