"""Reading source files record by record, turning every bad input into an accounted ``Bad`` item.

Inputs are files on disk or members of zip/tar archives (vetted by ``_archive``), optionally
compressed (``.gz``, ``.bz2``, ``.xz``). Readers stream: JSON Lines line by line, JSON arrays
element by element (an incremental parser, so a 2 GB array never sits in memory), CSV/TSV row
by row, Parquet and Arrow batch by batch. They yield ``(locator, record)`` pairs, or a ``Bad``
for each thing that could not be read: ``malformed_json``, ``invalid_utf8``, ``malformed_csv``,
``truncated_file`` (a compressed stream that ends early: the records before it are kept),
``corrupt_file``, ``unreadable_file``, ``empty_file``. Builders pass each ``Bad`` to the sink as
an exclusion, so nothing is dropped silently and a bad record never stops a build.
"""

from __future__ import annotations

import bz2
import codecs
import csv
import gzip
import io
import json
import lzma
import os
import sys
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from codequarry.releases import archive as _archive
from codequarry.errors import CodequarryError

COMPRESSION_SUFFIXES = (".gz", ".bz2", ".xz")
RECORD_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv", ".tsv": "tsv",
                  ".parquet": "parquet", ".arrow": "arrow"}
_JSON_CHUNK = 1 << 20
_RAW_BYTES = 2000


@dataclass(frozen=True)
class Bad:
    """A record (or the rest of a file) that could not be read, with the reason it is excluded."""

    reason: str
    locator: str
    detail: str | None = None
    raw: str | None = None


@dataclass(frozen=True)
class Input:
    """One input file: a path on disk, or a member of an archive on disk."""

    name: str  # shown in locators: the path relative to the folder given, or ARCHIVE!MEMBER
    path: Path
    member: str | None = None

    @property
    def filename(self) -> str:
        """The base name (of the member for archive members)."""
        return (self.member or self.path.name).replace("\\", "/").rsplit("/", 1)[-1]

    @property
    def compression(self) -> str | None:
        low = self.filename.lower()
        return next((s for s in COMPRESSION_SUFFIXES if low.endswith(s)), None)

    @property
    def stem_name(self) -> str:
        """The file name without its compression suffix (``x.jsonl.gz`` → ``x.jsonl``)."""
        comp = self.compression
        return self.filename[: -len(comp)] if comp else self.filename

    @property
    def format(self) -> str | None:
        low = self.stem_name.lower()
        return next((fmt for suf, fmt in RECORD_FORMATS.items() if low.endswith(suf)), None)

    def open_raw(self) -> IO[bytes]:
        """The stored bytes (still compressed)."""
        if self.member is None:
            return open(self.path, "rb")
        return _archive.open_member(self.path, self.member)

    def open(self) -> IO[bytes]:
        """The decompressed bytes."""
        raw = self.open_raw()
        comp = self.compression
        if comp == ".gz":
            return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
        if comp == ".bz2":
            return bz2.BZ2File(raw, "rb")  # type: ignore[return-value]
        if comp == ".xz":
            return lzma.LZMAFile(raw, "rb")  # type: ignore[return-value]
        return raw


# --------------------------------------------------------------------------------------------
# finding inputs


def as_paths(paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None, *, option: str = "--path") -> list[Path]:
    """Normalize one path or many to a list of existing paths (a clear error for a missing one)."""
    if paths is None:
        return []
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    out = []
    for p in paths:
        path = Path(p).expanduser()
        if not path.exists():
            raise CodequarryError(f"{option} {path} does not exist")
        out.append(path)
    return out


def discover(paths: Sequence[Path], *, accept: Callable[[str], bool] | None = None,
             archives: bool = True) -> tuple[list[Input], list[Bad]]:
    """Input files under ``paths``: folders are walked (sorted, hidden entries and symlinked folders
    skipped, so link loops cannot trap the walk), archives are opened and their safe members listed.

    ``accept(relative_name)`` filters files found inside folders and archives; files named
    directly are always returned. Unsafe archive members come back as ``Bad`` items.
    """
    inputs: list[Input] = []
    bad: list[Bad] = []
    for root in paths:
        if root.is_dir():
            for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                for fname in sorted(filenames):
                    if fname.startswith("."):
                        continue
                    full = Path(dirpath) / fname
                    rel = full.relative_to(root).as_posix()
                    if archives and _archive.is_archive(fname) and (accept is None or not accept(rel)):
                        found, problems = _archive_inputs(full, accept, prefix=rel)
                        inputs += found
                        bad += problems
                    elif accept is None or accept(rel):
                        inputs.append(Input(rel, full))
        elif archives and _archive.is_archive(root):
            found, problems = _archive_inputs(root, accept, prefix=root.name)
            inputs += found
            bad += problems
        else:
            inputs.append(Input(root.name, root))
    return inputs, bad


def _archive_inputs(path: Path, accept: Callable[[str], bool] | None, *, prefix: str) -> tuple[list[Input], list[Bad]]:
    inputs: list[Input] = []
    bad: list[Bad] = []
    for member, reason in _archive.iter_members(path):
        if member.kind == "dir":
            continue
        if accept is not None and not accept(member.name):
            continue
        where = f"{prefix}!{member.name}"
        if reason is not None:
            bad.append(Bad(f"archive_{reason}", where, _archive.REASONS[reason]))
        elif member.kind != "file":
            bad.append(Bad("archive_link", where, f"{member.kind} member (-> {member.linkname}) is not read"))
        else:
            inputs.append(Input(where, path, member.name))
    return inputs, bad


# --------------------------------------------------------------------------------------------
# readers


def _text_raw(data: bytes) -> str:
    return data[:_RAW_BYTES].decode("utf-8", "backslashreplace")


def _stream_error(exc: BaseException, inp: Input, where: str, done: int) -> Bad:
    if isinstance(exc, EOFError):
        return Bad("truncated_file", where, f"compressed stream ended early after {done} complete records; "
                   "the rest of the file is unreadable (re-download it)")
    if isinstance(exc, (PermissionError, FileNotFoundError, IsADirectoryError)):
        return Bad("unreadable_file", where, f"{type(exc).__name__}: {exc}")
    return Bad("corrupt_file", where, f"{type(exc).__name__}: {exc}")


_STREAM_ERRORS = (EOFError, OSError, zlib.error, lzma.LZMAError, ValueError)


def iter_lines(inp: Input) -> Iterator[tuple[int, bytes] | Bad]:
    """Binary lines (1-based numbers) of a possibly compressed file; stream errors become one ``Bad``."""
    n = 0
    try:
        with inp.open() as fh:
            for n, line in enumerate(fh, 1):  # noqa: B007
                yield n, line
    except _STREAM_ERRORS as exc:
        yield _stream_error(exc, inp, f"{inp.name}:{n + 1}", n)


def iter_jsonl(inp: Input) -> Iterator[tuple[str, Any] | Bad]:
    """One JSON value per line; blank lines are not records, every other bad line is a ``Bad``."""
    seen = False
    for item in iter_lines(inp):
        if isinstance(item, Bad):
            seen = True
            yield item
            continue
        n, line = item
        if not line.strip():
            continue
        seen = True
        where = f"{inp.name}:{n}"
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield Bad("invalid_utf8", where, f"byte {exc.start}: {exc.reason}", _text_raw(line))
            continue
        try:
            yield where, json.loads(text)
        except (json.JSONDecodeError, RecursionError) as exc:
            detail = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
            yield Bad("malformed_json", where, detail, _text_raw(line))
    if not seen:
        yield Bad("empty_file", inp.name, "no records in the file")


def iter_json(inp: Input) -> Iterator[tuple[str, Any] | Bad]:
    """A ``.json`` file: a top-level array streamed element by element, or JSON Lines."""
    try:
        with inp.open() as fh:
            head = fh.read(4096)
    except _STREAM_ERRORS as exc:
        yield _stream_error(exc, inp, inp.name, 0)
        return
    first = head.lstrip()[:1]
    if first == b"[":
        yield from iter_json_array(inp)
    elif first == b"{":
        yield from iter_jsonl(inp)
    elif not first:
        yield Bad("empty_file", inp.name, "no records in the file")
    else:
        yield Bad("malformed_json", inp.name, "expected a JSON array of records or one JSON object per line",
                  _text_raw(head))


def iter_json_array(inp: Input) -> Iterator[tuple[str, Any] | Bad]:
    """Elements of a top-level JSON array, parsed incrementally with bounded memory.

    Invalid UTF-8 bytes are carried as surrogate escapes, so the element they sit in can be
    excluded by itself (the sink refuses text that is not valid Unicode). A syntax error ends the
    file with one ``malformed_json`` item: the elements before it are kept.
    """
    decoder = json.JSONDecoder()
    index = 0
    try:
        with inp.open() as raw:
            text = codecs.getincrementaldecoder("utf-8")(errors="surrogateescape")
            buf = ""
            eof = False
            pos = 0

            def more(min_chars: int = 0) -> bool:
                nonlocal buf, pos, eof
                if eof:
                    return False
                want = max(_JSON_CHUNK, min_chars)
                chunk = raw.read(want)
                if not chunk:
                    buf = buf[pos:] + text.decode(b"", final=True)
                    pos = 0
                    eof = True
                    return False
                buf = buf[pos:] + text.decode(chunk)
                pos = 0
                return True

            def skip_ws() -> str:
                nonlocal pos
                while True:
                    while pos < len(buf) and buf[pos] in " \t\r\n\ufeff":
                        pos += 1
                    if pos < len(buf):
                        return buf[pos]
                    if not more():
                        return ""

            if skip_ws() != "[":
                yield Bad("malformed_json", inp.name, "expected a JSON array")
                return
            pos += 1
            if skip_ws() == "]":
                yield Bad("empty_file", inp.name, "the JSON array is empty")
                return
            while True:
                if not skip_ws():
                    yield Bad("malformed_json", f"{inp.name}[{index}]", "file ends inside the array")
                    return
                while True:
                    try:
                        value, end = decoder.raw_decode(buf, pos)
                    except json.JSONDecodeError as exc:
                        if more(len(buf) - pos):
                            continue
                        snippet = buf[pos:pos + _RAW_BYTES].encode("utf-8", "surrogateescape")
                        yield Bad("malformed_json", f"{inp.name}[{index}]", f"{exc.msg} (the rest of the file is unreadable)",
                                  snippet.decode("utf-8", "backslashreplace"))
                        return
                    except RecursionError:
                        yield Bad("malformed_json", f"{inp.name}[{index}]", "nested too deeply (the rest of the file is unreadable)")
                        return
                    if end >= len(buf) and not eof and more():
                        continue  # a number cut at the chunk boundary: parse it again with the rest
                    break
                pos = end
                yield f"{inp.name}[{index}]", value
                index += 1
                sep = skip_ws()
                if sep == ",":
                    pos += 1
                    continue
                if sep == "]":
                    return
                yield Bad("malformed_json", f"{inp.name}[{index}]", f"expected ',' or ']' after element {index - 1}, "
                          f"found {sep!r} (the rest of the file is unreadable)" if sep else "file ends inside the array")
                return
    except _STREAM_ERRORS as exc:
        yield _stream_error(exc, inp, f"{inp.name}[{index}]", index)


def load_json_value(inp: Input) -> Any:
    """A whole (small) JSON document, e.g. CoSQA's ``code_idx_map.txt``; errors are ``CodequarryError``."""
    try:
        with inp.open() as fh:
            data = fh.read()
    except _STREAM_ERRORS as exc:
        raise CodequarryError(f"cannot read {inp.name}: {exc}") from exc
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise CodequarryError(f"{inp.name}: invalid UTF-8 at byte {exc.start}; re-download the file") from exc
    except json.JSONDecodeError as exc:
        raise CodequarryError(f"{inp.name}: not valid JSON ({exc}); re-download the file") from exc


def _raise_csv_limit() -> None:
    limit = sys.maxsize
    while True:
        try:
            csv.field_size_limit(limit)
            return
        except OverflowError:
            limit //= 10


_MISSING = object()


def iter_csv(inp: Input, delimiter: str = ",") -> Iterator[tuple[str, Any] | Bad]:
    """Rows of a CSV/TSV file with a header line, as dicts (quoted multi-line fields are one record)."""
    _raise_csv_limit()
    n = 0
    try:
        with inp.open() as raw:
            fh = io.TextIOWrapper(raw, encoding="utf-8", errors="surrogateescape", newline="")
            reader = csv.DictReader(fh, delimiter=delimiter, restval=_MISSING)
            try:
                header = reader.fieldnames
            except csv.Error as exc:
                yield Bad("malformed_csv", f"{inp.name}:1", f"header: {exc}")
                return
            if not header:
                yield Bad("empty_file", inp.name, "no header line")
                return
            rows = iter(reader)
            while True:
                try:
                    row = next(rows)
                except StopIteration:
                    break
                except csv.Error as exc:
                    yield Bad("malformed_csv", f"{inp.name}:{reader.line_num}", str(exc))
                    continue
                n += 1
                where = f"{inp.name}:{reader.line_num}"
                if None in row:
                    yield Bad("malformed_csv", where, f"{len(header) + len(row[None])} fields, the header has {len(header)}",
                              _csv_raw(row))
                elif any(v is _MISSING for v in row.values()):
                    got = sum(v is not _MISSING for v in row.values())
                    yield Bad("malformed_csv", where, f"{got} fields, the header has {len(header)}", _csv_raw(row))
                else:
                    yield where, row
            if n == 0:
                yield Bad("empty_file", inp.name, "a header but no rows")
    except _STREAM_ERRORS as exc:
        yield _stream_error(exc, inp, f"{inp.name}:{n + 2}", n)


def _csv_raw(row: dict[Any, Any]) -> str:
    vals = [v for k, v in row.items() if k is not None and v is not _MISSING] + list(row.get(None) or [])
    return json.dumps(vals, ensure_ascii=False)[:_RAW_BYTES].encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


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


def iter_records(inp: Input, fmt: str | None = None) -> Iterator[tuple[str, Any] | Bad]:
    """Records of any supported file, by ``fmt`` or by the file's extension."""
    fmt = fmt or inp.format
    if fmt == "jsonl":
        return iter_jsonl(inp)
    if fmt == "json":
        return iter_json(inp)
    if fmt in ("csv", "tsv"):
        return iter_csv(inp, "\t" if fmt == "tsv" else ",")
    if fmt == "parquet":
        return iter_parquet(inp)
    if fmt == "arrow":
        return iter_arrow(inp)
    raise CodequarryError(
        f"{inp.name}: unsupported file type; expected one of {', '.join(sorted(RECORD_FORMATS))} "
        f"(optionally compressed: {', '.join(COMPRESSION_SUFFIXES)})"
    )
