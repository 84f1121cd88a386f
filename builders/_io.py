"""Reading source files record by record, turning every bad input into an accounted ``Bad`` item.

Inputs are files on disk or members of zip/tar archives (vetted by ``_archive``), optionally
compressed (``.gz``, ``.bz2``, ``.xz``). Readers stream: JSON Lines line by line, JSON arrays
element by element (an incremental parser, so a 2 GB array never sits in memory), CSV/TSV row
by row, Parquet and Arrow batch by batch. They yield ``(locator, record)`` pairs, or a ``Bad``
for each thing that could not be read: ``malformed_json``, ``invalid_utf8``, ``malformed_csv``,
``truncated_file`` (a compressed stream that ends early: the records before it are kept),
``corrupt_file``, ``unreadable_file``, ``empty_file``, ``line_too_long``, ``record_too_large``,
``number_too_large``. Builders pass each ``Bad`` to the sink as an exclusion, so nothing is dropped
silently and a bad record never stops a build.

Inputs are untrusted (docs/security.md). Inside a folder given as input, symbolic links (to files
or folders) are never followed and FIFOs, sockets and devices are never opened: each is a counted
``symlink`` / ``not_a_file`` exclusion; files are opened relative to the folder with ``O_NOFOLLOW``
on every path component, so a link swapped in later is refused too. Lines, JSON elements and CSV
fields are bounded (``MAX_LINE_BYTES``): a file without line breaks cannot grow memory. Lines end
at ``\n``, ``\r\n`` or a lone ``\r``; a UTF-8 byte-order mark is skipped. A bad record's raw text
is kept in its exclusion only once the file has given a good record: before that the file may
not be a record file at all, and only its size and a short hash are recorded.
"""

from __future__ import annotations

import bz2
import codecs
import csv
import errno
import gzip
import hashlib
import io
import json
import lzma
import os
import stat
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from codequarry.errors import CodequarryError
from codequarry.releases import archive as _archive

COMPRESSION_SUFFIXES = (".gz", ".bz2", ".xz")
RECORD_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv", ".tsv": "tsv",
                  ".parquet": "parquet", ".arrow": "arrow"}
_JSON_CHUNK = 1 << 20
_RAW_BYTES = 2000
_BOM = b"\xef\xbb\xbf"
MAX_LINE_BYTES = 32 << 20  # one line, one JSON element, one CSV record: beyond this it is excluded unread
_LINE_CHUNK = 1 << 20
_MAX_INT_DIGITS = 4300  # Python's default limit for converting a decimal string to int


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
    root: Path | None = None  # the input folder it was found in: opened under it, links refused

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
            return open_regular(self.path, root=self.root)
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


class NotRegularFile(OSError):
    """A path that is a symbolic link, FIFO, socket, device or folder where a regular file was expected."""


def open_regular(path: str | os.PathLike[str], *, root: str | os.PathLike[str] | None = None) -> IO[bytes]:
    """Open a regular file for reading without blocking on FIFOs or following links inside ``root``.

    With ``root``, ``path`` must lie under it and every component below ``root`` is opened with
    ``O_NOFOLLOW`` (folders relative to their parent), so no link, however it got there, leads
    outside. Without ``root`` (a file the user named) links are followed, but a FIFO, socket or
    device is still refused. Raises ``NotRegularFile`` (an OSError) for what is not a regular file.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    nofollow = getattr(os, "O_NOFOLLOW", 0)
    if root is None:
        fd = os.open(path, flags)
    else:
        base = Path(root)
        try:
            parts = Path(path).relative_to(base).parts
        except ValueError:
            raise NotRegularFile(errno.EPERM, "not under the input folder", str(path)) from None
        if not parts or ".." in parts:
            raise NotRegularFile(errno.EPERM, "not under the input folder", str(path))
        dir_fd = os.open(base, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0))
        try:
            for part in parts[:-1]:
                try:
                    nxt = os.open(part, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | nofollow
                                  | getattr(os, "O_CLOEXEC", 0), dir_fd=dir_fd)
                except OSError as exc:
                    if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                        raise NotRegularFile(errno.ELOOP, "a folder on the path is a symbolic link (not followed)",
                                             str(path)) from None
                    raise
                os.close(dir_fd)
                dir_fd = nxt
            try:
                fd = os.open(parts[-1], flags | nofollow, dir_fd=dir_fd)
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    raise NotRegularFile(errno.ELOOP, "symbolic link (not followed)", str(path)) from None
                raise
        finally:
            os.close(dir_fd)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFile(errno.EINVAL, f"{_kind(mode)}, not a regular file (not read)", str(path))
        if flags & getattr(os, "O_NONBLOCK", 0):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _kind(mode: int) -> str:
    """What a non-regular file is, in words."""
    for test, word in ((stat.S_ISLNK, "symbolic link"), (stat.S_ISDIR, "folder"), (stat.S_ISFIFO, "FIFO"),
                       (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device")):
        if test(mode):
            return word
    return "special file"


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


def _path_values(value: Any) -> Iterator[str | os.PathLike[str]]:
    if isinstance(value, (str, os.PathLike)):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _path_values(item)


def check_out_apart(out: str | os.PathLike[str], inputs: Any) -> None:
    """Refuse an ``--out`` folder that holds one of the inputs: writing (and ``--overwrite``) would delete it.

    ``inputs`` is a path, a list of paths, or a mapping of option name → value (a builder's
    options): every value that names an existing file or folder is checked. Values that are not
    paths (names, URLs, numbers) are ignored; an ``--out`` inside an input folder is allowed.
    """
    dst = Path(out).expanduser().resolve()
    items = inputs.items() if isinstance(inputs, Mapping) else [("path", inputs)]
    for _, value in items:
        for p in _path_values(value):
            src = Path(p).expanduser()
            if not os.path.lexists(src):
                continue
            src = src.resolve()
            if src == dst or dst in src.parents:
                raise CodequarryError(f"the input {p} lies inside --out {out}: writing the output there would delete "
                                      "it. Choose an --out folder outside the input")


def discover(paths: Sequence[Path], *, accept: Callable[[str], bool] | None = None,
             archives: bool = True) -> tuple[list[Input], list[Bad]]:
    """Input files under ``paths``: folders are walked (sorted, hidden entries skipped), archives are
    opened and their safe members listed.

    ``accept(relative_name)`` filters files found inside folders and archives; files named
    directly are always returned. Inside folders, links are not followed and special files are
    not opened: a symlinked folder, or a symlink / FIFO / socket / device that ``accept`` takes,
    comes back as a ``Bad`` (``symlink``, ``not_a_file``), as do unsafe archive members, folders
    that cannot be listed and names that are not valid UTF-8 (``invalid_file_name``).
    """
    inputs: list[Input] = []
    bad: list[Bad] = []
    for root in paths:
        if root.is_dir():
            for full, rel, mode in _walk_folder(root, bad):
                if stat.S_ISLNK(mode) and os.path.isdir(full):
                    bad.append(Bad("symlink", rel, "symbolic link to a folder (not followed)"))
                    continue
                wanted_archive = archives and _archive.is_archive(full.name) and (accept is None or not accept(rel))
                if not wanted_archive and accept is not None and not accept(rel):
                    continue
                if not stat.S_ISREG(mode):
                    reason = "symlink" if stat.S_ISLNK(mode) else "not_a_file"
                    bad.append(Bad(reason, rel, f"{_kind(mode)} (not followed or opened)"))
                elif wanted_archive:
                    found, problems = _archive_inputs(full, accept, prefix=rel)
                    inputs += found
                    bad += problems
                else:
                    inputs.append(Input(rel, full, root=root))
        elif archives and _archive.is_archive(root):
            found, problems = _archive_inputs(root, accept, prefix=root.name)
            inputs += found
            bad += problems
        else:
            inputs.append(Input(root.name, root))
    return inputs, bad


def _walk_folder(root: Path, bad: list[Bad]) -> Iterator[tuple[Path, str, int]]:
    """(path, relative name, lstat mode) of every non-folder entry under ``root``, sorted, links not followed."""
    stack: list[tuple[Path, str]] = [(root, "")]
    while stack:
        folder, rel = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            bad.append(Bad("unreadable_file", rel.rstrip("/") or ".", f"cannot list folder: {exc.strerror or exc}"))
            continue
        subdirs = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            name = rel + entry.name
            try:
                name.encode("utf-8")
            except UnicodeEncodeError:
                bad.append(Bad("invalid_file_name", _escape_name(name), "the file name is not valid UTF-8 (not read)"))
                continue
            try:
                mode = entry.stat(follow_symlinks=False).st_mode
            except OSError as exc:
                bad.append(Bad("unreadable_file", name, f"{type(exc).__name__}: {exc.strerror or exc}"))
                continue
            if stat.S_ISDIR(mode):
                subdirs.append((Path(entry.path), name + "/"))
            else:
                yield Path(entry.path), name, mode
        stack.extend(reversed(subdirs))


def _escape_name(name: str) -> str:
    """A file name that may hold undecodable bytes (surrogate escapes), printable and valid UTF-8."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


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
