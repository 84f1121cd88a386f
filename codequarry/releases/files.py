"""The strict side of the shared file layer: what a benchmark task does with a reader's ``Bad`` items.

Release readers yield ``(locator, record)`` pairs or ``Bad`` items (``codequarry.builders._io``): a
builder counts each ``Bad`` as an exclusion, a task must score exactly the published data and so
stops at the first one, with a one-line ``CodequarryError`` that names the file and the line.
"""

from __future__ import annotations

import csv
import os
import stat
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from codequarry.builders._io import Bad, Input, walk_folder
from codequarry.builders._readers import iter_jsonl
from codequarry.errors import CodequarryError
from codequarry.pairs_layout import MANIFEST_NAME

T = TypeVar("T")


def input_of(path: Path) -> Input:
    """A file on disk as a reader input; its locators carry the full path, as task errors always have."""
    return Input(str(path), path)


def error_of(bad: Bad) -> CodequarryError:
    """The one-line error for a ``Bad`` item (reason, where, and what was wrong)."""
    detail = f": {bad.detail}" if bad.detail else ""
    return CodequarryError(f"{bad.locator}: {bad.reason.replace('_', ' ')}{detail}")


def not_read(bad: Iterable[Bad], show: int = 3) -> str:
    """`` (not read: NAME: reason; …)`` for the inputs a discovery refused, to end a "no files found" error
    (a symbolic link or FIFO given where the files were expected must be named, not silently missing)."""
    items = list(bad)
    if not items:
        return ""
    shown = "; ".join(f"{b.locator}: {b.reason.replace('_', ' ')}" + (f" ({b.detail})" if b.detail else "")
                      for b in items[:show])
    more = f"; and {len(items) - show} more" if len(items) > show else ""
    return f" (not read: {shown}{more})"


def strict(items: Iterable[T | Bad], *, allow_empty: bool = True) -> Iterator[T]:
    """The items of a reader, raising at the first ``Bad`` (an empty file is no records when ``allow_empty``)."""
    for item in items:
        if isinstance(item, Bad):
            if allow_empty and item.reason == "empty_file":
                continue
            raise error_of(item)
        yield item


def line_of(locator: str) -> int:
    """The line number at the end of a ``NAME:LINE`` locator."""
    return int(locator.rsplit(":", 1)[1])


def jsonl_objects(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) per non-blank line of a JSON Lines file (plain or compressed), strictly.

    The builders' streaming reader (``_readers.iter_jsonl``: UTF-8 checked, compressed streams, bounded
    errors); any unreadable line or a line that is not a JSON object is an error naming the line.
    """
    for where, obj in strict(iter_jsonl(input_of(path))):
        if not isinstance(obj, dict):
            raise CodequarryError(f"{where}: expected a JSON object, got {type(obj).__name__}")
        yield line_of(where), obj


def _link_root(root: Path) -> Path:
    """The folder links under ``root`` may lead into: ``root`` itself, or for a snapshot of a Hub cache
    (``…/datasets--X/snapshots/REV``, whose files are links into ``…/datasets--X/blobs``) the repo's cache folder."""
    for up in (root, *root.parents):
        if up.name == "snapshots" and (up.parent / "blobs").is_dir():
            return up.parent
    return root


def check_folder(path: str | os.PathLike[str], *, option: str = "--data ") -> None:
    """Refuse an input folder (or file) that holds something a task must not read, before any of it is read.

    Task readers open files by name inside the folder they are given, so the whole folder is walked
    once (links never followed): a symbolic link whose target lies outside the folder (or points at
    nothing), and a FIFO, socket or device anywhere in it, is a one-line error naming it. Links that
    stay inside the folder are allowed (they read nothing else). A path named directly that is not a
    folder must be a regular file (a FIFO would block the reader; the path itself may be a link: the
    user chose it). A pairs dir is left to its own verification (``pairs_verify``: links in ``data/``,
    the manifest, every shard's hash), which reports in its own words. Raises ``CodequarryError``.
    """
    p = Path(path)
    if p.is_dir() and os.path.lexists(p / MANIFEST_NAME):
        return  # a pairs dir: verified against its manifest by its one reader (codequarry.pairs_verify)
    if not p.is_dir():
        try:
            mode = os.stat(p).st_mode
        except OSError as exc:
            raise CodequarryError(f"{option}{p}: cannot read it: {exc.strerror or exc}") from None
        if not stat.S_ISREG(mode):
            raise CodequarryError(f"{option}{p}: {_kind(mode)}, not a regular file (not read)")
        return
    root = p.resolve()
    allowed = _link_root(root)
    for rel, entry, problem in walk_folder(root):
        where = f"{option}{p}: {os.fsencode(rel).decode('utf-8', 'backslashreplace')}"
        if entry is None:
            raise CodequarryError(f"{where}: {problem}")
        try:
            mode = entry.stat(follow_symlinks=False).st_mode
        except OSError as exc:
            raise CodequarryError(f"{where}: cannot read it: {exc.strerror or exc}") from None
        if stat.S_ISLNK(mode):
            target = Path(os.path.realpath(entry.path))
            if not os.path.exists(target):
                raise CodequarryError(f"{where}: symbolic link to nothing (not followed)")
            if target != allowed and allowed not in target.parents:
                raise CodequarryError(f"{where}: symbolic link to a path outside the folder (not followed)")
        elif not stat.S_ISREG(mode):
            raise CodequarryError(f"{where}: {_kind(mode)}, not a regular file (not read)")


def _kind(mode: int) -> str:
    for test, word in ((stat.S_ISDIR, "folder"), (stat.S_ISFIFO, "FIFO"), (stat.S_ISSOCK, "socket"),
                       (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device")):
        if test(mode):
            return word
    return "special file"


class CsvRows:
    """The rows of a CSV file as dicts (``csv.DictReader``), with every read error a one-line ``CodequarryError``.

    Opened as UTF-8 with a leading byte-order mark skipped (it is not part of the first column's
    name). Bytes that are not UTF-8 and malformed CSV (a field over the ``csv`` module's 128 KiB
    limit, as in a file without line breaks, which is read no further) are errors naming the file
    and line, not tracebacks. Use as a context manager; iterate for (line number, row).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._fh = open(self.path, encoding="utf-8-sig", newline="")  # noqa: SIM115 (closed by __exit__)
        self._reader = csv.DictReader(self._fh)
        self.fieldnames: list[str] = list(self._guard(lambda: self._reader.fieldnames) or [])

    def _guard(self, read: Callable[[], T]) -> T:
        try:
            return read()
        except UnicodeDecodeError as exc:
            self._fh.close()
            raise CodequarryError(f"{self.path}: not UTF-8 text after line {self._reader.line_num} "
                                  f"(byte 0x{exc.object[exc.start]:02x})") from None
        except csv.Error as exc:
            self._fh.close()
            raise CodequarryError(f"{self.path}:{self._reader.line_num + 1}: malformed CSV: {exc}") from None

    def __iter__(self) -> Iterator[tuple[int, dict[str, str]]]:
        while True:
            row = self._guard(lambda: next(self._reader, None))
            if row is None:
                return
            yield self._reader.line_num, row

    def __enter__(self) -> CsvRows:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._fh.close()
