"""Reading record files line by line and JSON value by value, every bad input an accounted ``Bad`` item.

Readers stream: JSON Lines line by line, JSON arrays element by element (an incremental parser, so
a 2 GB array never sits in memory); ``iter_records`` also dispatches to the table formats in
``_tables`` (CSV/TSV row by row, Parquet and Arrow batch by batch). They yield ``(locator, record)``
pairs, or a ``Bad`` for each thing that could not be read: ``malformed_json``, ``invalid_utf8``,
``malformed_csv``, ``truncated_file`` (a compressed stream that ends early: the records before it
are kept), ``corrupt_file``, ``unreadable_file``, ``empty_file``, ``line_too_long``,
``record_too_large``, ``number_too_large``, ``symlink``/``not_a_file`` (see ``_io.open_regular``).
Builders pass each ``Bad`` to the sink as an exclusion, so nothing is dropped silently and a bad
record never stops a build.

Inputs are untrusted (docs/security.md). Lines, JSON elements and CSV fields are bounded
(``MAX_LINE_BYTES``): a file without line breaks cannot grow memory. Lines end at ``\n``, ``\r\n``
or a lone ``\r``; a UTF-8 byte-order mark is skipped. A bad record's raw text is kept in its
exclusion only once the file has given a good record: before that the file may not be a record
file at all, and only its size and a short hash are recorded.
"""

from __future__ import annotations

import codecs
import errno
import hashlib
import json
import lzma
import zlib
from collections.abc import Iterator
from typing import IO, Any

from codequarry.builders._io import COMPRESSION_SUFFIXES, RECORD_FORMATS, Bad, Input, NotRegularFile
from codequarry.errors import CodequarryError

_JSON_CHUNK = 1 << 20
_RAW_BYTES = 2000
_BOM = b"\xef\xbb\xbf"
MAX_LINE_BYTES = 32 << 20  # one line, one JSON element, one CSV record: beyond this it is excluded unread
_LINE_CHUNK = 1 << 20
_MAX_INT_DIGITS = 4300  # Python's default limit for converting a decimal string to int



def _text_raw(data: bytes) -> str:
    return data[:_RAW_BYTES].decode("utf-8", "backslashreplace")


def _describe(data: bytes) -> str:
    """A bounded, non-verbatim description of bytes that are not known to be a record."""
    return f"({len(data):,} bytes, sha256 {hashlib.sha256(data).hexdigest()[:16]}; not copied: no good record in the file yet)"


def _raw(data: bytes, trusted: bool) -> str:
    """The raw text of a bad record once its file has given a good one; a description before that."""
    return _text_raw(data) if trusted else _describe(data)


def _stream_error(exc: BaseException, inp: Input, where: str, done: int) -> Bad:
    if isinstance(exc, NotRegularFile):
        return Bad("symlink" if exc.errno == errno.ELOOP else "not_a_file", where, exc.strerror)
    if isinstance(exc, EOFError):
        return Bad("truncated_file", where, f"compressed stream ended early after {done} complete records; "
                   "the rest of the file is unreadable (re-download it)")
    if isinstance(exc, (PermissionError, FileNotFoundError, IsADirectoryError)):
        return Bad("unreadable_file", where, f"{type(exc).__name__}: {exc}")
    return Bad("corrupt_file", where, f"{type(exc).__name__}: {exc}")


_STREAM_ERRORS = (EOFError, OSError, zlib.error, lzma.LZMAError, ValueError)


def split_lines(fh: IO[bytes], max_line: int = MAX_LINE_BYTES) -> Iterator[bytes | int]:
    """Lines of a binary stream with their ends (``\n``, ``\r\n`` or a lone ``\r``), read in chunks.

    A line longer than ``max_line`` is not kept: its length in bytes (an int) comes instead, so a
    stream without line breaks is read through in bounded memory.
    """
    # read1: whatever the stream has decoded so far, so lines before a corrupt or cut part still come out
    read = getattr(fh, "read1", fh.read)
    tail = b""
    skipped = 0  # bytes of an over-long line dropped so far
    drop_lf = False  # the over-long line ended at a chunk's last "\r": a "\n" right after belongs to it
    while True:
        chunk = read(_LINE_CHUNK)
        if drop_lf and chunk:
            drop_lf = False
            if chunk.startswith(b"\n"):
                chunk = chunk[1:]
                if not chunk:
                    continue
        lines = (tail + chunk).splitlines(keepends=True)
        tail = b""
        if chunk and lines and not lines[-1].endswith(b"\n"):
            tail = lines.pop()  # incomplete, or a "\r" whose "\n" may start the next chunk
        for line in lines:
            if skipped:
                yield skipped + len(line)
                skipped = 0
            elif len(line) > max_line:
                yield len(line)
            else:
                yield line
        if not chunk:
            if skipped:
                yield skipped
            return
        if skipped or len(tail) > max_line:
            skipped += len(tail)
            if tail.endswith(b"\r"):
                yield skipped
                skipped, drop_lf = 0, True
            tail = b""


def _too_long(where: str, size: int, max_line: int) -> Bad:
    return Bad("line_too_long", where, f"a line of {size:,} bytes, over the {max_line:,}-byte limit (not read)")


def iter_lines(inp: Input, max_line: int = MAX_LINE_BYTES) -> Iterator[tuple[int, bytes] | Bad]:
    """Binary lines (1-based numbers, ends kept) of a possibly compressed file; an over-long line and
    stream errors become ``Bad`` items."""
    n = 0
    try:
        with inp.open() as fh:
            for n, line in enumerate(split_lines(fh, max_line), 1):  # noqa: B007
                if isinstance(line, int):
                    yield _too_long(f"{inp.name}:{n}", line, max_line)
                else:
                    yield n, line
    except _STREAM_ERRORS as exc:
        yield _stream_error(exc, inp, f"{inp.name}:{n + 1}", n)


def _json_value(text: str) -> tuple[Any, tuple[str, str] | None]:
    """(value, None), or (None, (reason, detail)) for a JSON text that gives no value we can keep."""
    try:
        return json.loads(text), None
    except RecursionError:
        return None, ("malformed_json", "nested too deeply")
    except json.JSONDecodeError as exc:
        return None, ("malformed_json", str(exc))
    except ValueError as exc:  # an integer beyond Python's digit limit: int() refuses to convert it
        return None, ("number_too_large", str(exc).split(";")[0])


def iter_jsonl(inp: Input) -> Iterator[tuple[str, Any] | Bad]:
    """One JSON value per line; blank lines are not records, every other bad line is a ``Bad``."""
    seen = good = False
    for item in iter_lines(inp):
        if isinstance(item, Bad):
            seen = True
            yield item
            continue
        n, line = item
        if n == 1 and line.startswith(_BOM):
            line = line[len(_BOM):]
        if not line.strip():
            continue
        seen = True
        where = f"{inp.name}:{n}"
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield Bad("invalid_utf8", where, f"byte {exc.start}: {exc.reason}", _raw(line, good))
            continue
        value, problem = _json_value(text)
        if problem is None:
            good = True
            yield where, value
        else:
            yield Bad(problem[0], where, problem[1], _raw(line, good))
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
    first = head.removeprefix(_BOM).lstrip()[:1]
    if first == b"[":
        yield from iter_json_array(inp)
    elif first == b"{":
        yield from iter_jsonl(inp)
    elif not first:
        yield Bad("empty_file", inp.name, "no records in the file")
    else:
        yield Bad("malformed_json", inp.name, "expected a JSON array of records or one JSON object per line",
                  _describe(head))


def iter_json_array(inp: Input) -> Iterator[tuple[str, Any] | Bad]:
    """Elements of a top-level JSON array, parsed incrementally with bounded memory.

    Invalid UTF-8 bytes are carried as surrogate escapes, so the element they sit in can be
    excluded by itself (the sink refuses text that is not valid Unicode). A syntax error ends the
    file with one ``malformed_json`` item: the elements before it are kept.
    """
    big: list[int] = []

    def parse_int(digits: str) -> int | None:
        if len(digits.lstrip("-")) > _MAX_INT_DIGITS:
            big.append(len(digits))
            return None
        return int(digits)

    decoder = json.JSONDecoder()
    careful = json.JSONDecoder(parse_int=parse_int)  # only for an element the fast decoder cannot convert
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
                    big.clear()
                    try:
                        try:
                            value, end = decoder.raw_decode(buf, pos)
                        except json.JSONDecodeError:
                            raise
                        except ValueError:
                            value, end = careful.raw_decode(buf, pos)
                    except json.JSONDecodeError as exc:
                        if len(buf) - pos <= MAX_LINE_BYTES and more(len(buf) - pos):
                            continue
                        snippet = buf[pos:pos + _RAW_BYTES].encode("utf-8", "surrogateescape")
                        if len(buf) - pos > MAX_LINE_BYTES:
                            yield Bad("record_too_large", f"{inp.name}[{index}]", f"an element over {MAX_LINE_BYTES:,} "
                                      "characters (the rest of the file is not read)")
                            return
                        yield Bad("malformed_json", f"{inp.name}[{index}]", f"{exc.msg} (the rest of the file is unreadable)",
                                  snippet.decode("utf-8", "backslashreplace") if index else _describe(snippet))
                        return
                    except RecursionError:
                        yield Bad("malformed_json", f"{inp.name}[{index}]", "nested too deeply (the rest of the file is unreadable)")
                        return
                    if end >= len(buf) and not eof and more():
                        continue  # a number cut at the chunk boundary: parse it again with the rest
                    break
                pos = end
                if big:
                    yield Bad("number_too_large", f"{inp.name}[{index}]", f"an integer of {max(big):,} digits, over "
                              f"Python's {_MAX_INT_DIGITS:,}-digit limit")
                else:
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


MAX_JSON_DOCUMENT = 256 * 1024 * 1024  # a whole-document read (code_idx_map.txt is about 3 MB)


def load_json_value(inp: Input, max_bytes: int = MAX_JSON_DOCUMENT) -> Any:
    """A whole (small) JSON document, e.g. CoSQA's ``code_idx_map.txt``; errors are ``CodequarryError``.

    At most ``max_bytes`` (decompressed) are read; deep nesting and integers beyond Python's digit
    limit are one-line errors like malformed JSON, never a traceback.
    """
    try:
        with inp.open() as fh:
            data = fh.read(max_bytes + 1)
    except _STREAM_ERRORS as exc:
        raise CodequarryError(f"cannot read {inp.name}: {exc}") from exc
    if len(data) > max_bytes:
        raise CodequarryError(f"{inp.name}: larger than {max_bytes:,} bytes, the bound for a whole JSON document")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CodequarryError(f"{inp.name}: invalid UTF-8 at byte {exc.start}; re-download the file") from exc
    value, problem = _json_value(text)
    if problem is not None:
        raise CodequarryError(f"{inp.name}: not valid JSON ({problem[0].replace('_', ' ')}: {problem[1]}); "
                              "re-download the file")
    return value


def iter_records(inp: Input, fmt: str | None = None) -> Iterator[tuple[str, Any] | Bad]:
    """Records of any supported file, by ``fmt`` or by the file's extension."""
    fmt = fmt or inp.format
    if fmt == "jsonl":
        return iter_jsonl(inp)
    if fmt == "json":
        return iter_json(inp)
    if fmt in ("csv", "tsv", "parquet", "arrow"):
        from codequarry.builders import _tables

        if fmt == "parquet":
            return _tables.iter_parquet(inp)
        if fmt == "arrow":
            return _tables.iter_arrow(inp)
        return _tables.iter_csv(inp, "\t" if fmt == "tsv" else ",")
    raise CodequarryError(
        f"{inp.name}: unsupported file type; expected one of {', '.join(sorted(RECORD_FORMATS))} "
        f"(optionally compressed: {', '.join(COMPRESSION_SUFFIXES)})"
    )
