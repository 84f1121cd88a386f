"""Finding and opening input files safely: the ``Input``/``Bad`` items every builder and release reader uses.

Inputs are files on disk or members of zip/tar archives (vetted by ``releases.archive``), optionally
compressed (``.gz``, ``.bz2``, ``.xz``). ``discover`` walks the folders given, ``open_regular``
opens a file, ``check_out_apart`` keeps an ``--out`` folder from holding its own input. The record
readers built on them are in ``_readers`` (lines, JSON) and ``_tables`` (CSV/TSV, Parquet, Arrow).

Inputs are untrusted (docs/security.md). Inside a folder given as input, symbolic links (to files
or folders) are never followed and FIFOs, sockets and devices are never opened: each is a counted
``symlink`` / ``not_a_file`` exclusion; files are opened relative to the folder with ``O_NOFOLLOW``
on every path component, so a link swapped in later is refused too. A file name that is not UTF-8
is an ``invalid_file_name`` exclusion.
"""

from __future__ import annotations

import bz2
import errno
import gzip
import lzma
import os
import stat
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from codequarry.errors import CodequarryError
from codequarry.releases import archive as _archive

COMPRESSION_SUFFIXES = (".gz", ".bz2", ".xz")
RECORD_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv", ".tsv": "tsv",
                  ".parquet": "parquet", ".arrow": "arrow"}


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


def walk_folder(root: str | os.PathLike[str], skip: Callable[[str, bool], bool] | None = None,
                ) -> Iterator[tuple[str, os.DirEntry[str] | None, str | None]]:
    """Everything under a folder, sorted, without following links: the one walk of every builder.

    Yields (relative POSIX path, entry, None) for each file, link and special file (folders are
    descended into, links to folders are yielded as entries, never followed, so loops cannot trap
    the walk), and (folder path, None, problem) for a folder that cannot be listed. ``skip(name,
    is_folder)`` leaves an entry out (and a folder's whole content). Entries come from ``scandir``:
    callers can tell files from links without a system call per entry.
    """
    stack: list[tuple[str, str]] = [(os.fspath(root), "")]
    while stack:
        folder, rel = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            yield rel.rstrip("/") or ".", None, f"cannot list folder: {exc.strerror or exc}"
            continue
        subdirs = []
        for entry in entries:
            try:
                is_dir = not entry.is_symlink() and entry.is_dir(follow_symlinks=False)
            except OSError:
                is_dir = False
            if skip is not None and skip(entry.name, is_dir):
                continue
            if is_dir:
                subdirs.append((entry.path, rel + entry.name + "/"))
            else:
                yield rel + entry.name, entry, None
        stack.extend(reversed(subdirs))


def _walk_folder(root: Path, bad: list[Bad]) -> Iterator[tuple[Path, str, int]]:
    """(path, relative name, lstat mode) of every non-folder entry under ``root`` that is not hidden."""
    for name, entry, problem in walk_folder(root, lambda n, _: n.startswith(".")):
        if entry is None:
            bad.append(Bad("unreadable_file", name, problem))
            continue
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
        yield Path(entry.path), name, mode


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
