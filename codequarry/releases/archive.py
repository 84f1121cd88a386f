"""Zip and tar archives read or extracted without ever writing outside the target folder.

Every member is vetted before use: absolute names, ``..`` components, links whose target leaves
the archive root, and device/FIFO entries are refused (``unsafe_reason`` names why). ``extract``
raises a ``CodequarryError`` on the first unsafe member, or skips and reports each one
(``on_unsafe="skip"``) so a builder can count it as an exclusion. Builders that only need to
read members (CodeSearchNet's ``{lang}.zip``) stream them with ``open_member`` instead of
extracting: nothing is written to disk at all.

Two members with the same name (zip and tar both allow it) are ambiguous: reading by name would
silently return only the last one. Every copy of such a name is refused (``duplicate_name``), so a
builder counts each as an exclusion and a strict reader stops with a clear error.

This module is the archive half of the safe file layer shared by the builders and the benchmark
tasks (``codequarry.releases``): both read every upstream archive through it.
"""

from __future__ import annotations

import os
import posixpath
import re
import shutil
import stat
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, cast

from codequarry.errors import CodequarryError

TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
ARCHIVE_SUFFIXES = (".zip", *TAR_SUFFIXES)
_DRIVE = re.compile(r"^[A-Za-z]:")

#: exclusion reasons, one per kind of unsafe member
REASONS = {
    "absolute_path": "member name is an absolute path",
    "path_traversal": "member name climbs out of the target with '..'",
    "bad_name": "member name is empty or contains a NUL byte",
    "link_outside": "link points outside the archive root",
    "special_file": "device file, FIFO or socket",
    "duplicate_name": "the archive holds two or more members with this name (which one is meant is ambiguous)",
}


@dataclass(frozen=True)
class Member:
    """One archive entry, described independently of zip/tar."""

    name: str
    kind: str  # file | dir | symlink | hardlink | special
    size: int = 0
    linkname: str | None = None


@dataclass
class ExtractResult:
    """What ``extract`` wrote, and every member it refused with its reason."""

    files: list[Path] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def is_archive(path: str | os.PathLike[str]) -> bool:
    name = str(path).lower()
    return name.endswith(ARCHIVE_SUFFIXES)


def unsafe_reason(member: Member) -> str | None:
    """Why ``member`` may not be used (a key of ``REASONS``), or None when it stays inside the target."""
    name = member.name
    if not name or "\x00" in name:
        return "bad_name"
    if name.startswith(("/", "\\")) or _DRIVE.match(name):
        return "absolute_path"
    if ".." in re.split(r"[/\\]+", name):
        return "path_traversal"
    if member.kind == "special":
        return "special_file"
    if member.kind in ("symlink", "hardlink"):
        link = member.linkname or ""
        if not link or "\x00" in link or link.startswith(("/", "\\")) or _DRIVE.match(link):
            return "link_outside"
        # a symlink resolves from its own folder; a tar hardlink names another member from the root
        base = posixpath.dirname(name) if member.kind == "symlink" else ""
        resolved = posixpath.normpath(posixpath.join(base, link.replace("\\", "/")))
        if resolved == ".." or resolved.startswith("../"):
            return "link_outside"
    return None


def _zip_member(info: zipfile.ZipInfo, zf: zipfile.ZipFile) -> Member:
    mode = info.external_attr >> 16
    if info.is_dir():
        return Member(info.filename, "dir")
    if stat.S_ISLNK(mode):
        target = zf.read(info).decode("utf-8", "replace")
        return Member(info.filename, "symlink", info.file_size, target)
    if mode and (stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
        return Member(info.filename, "special", info.file_size)
    return Member(info.filename, "file", info.file_size)


def _tar_member(info: tarfile.TarInfo) -> Member:
    if info.isdir():
        kind = "dir"
    elif info.issym():
        kind = "symlink"
    elif info.islnk():
        kind = "hardlink"
    elif info.isreg():
        kind = "file"
    else:
        kind = "special"
    return Member(info.name, kind, info.size, info.linkname or None)


def _open_error(path: Path, exc: Exception) -> CodequarryError:
    return CodequarryError(f"cannot read archive {path}: {exc}; check that the download is complete")


def members(path: str | os.PathLike[str]) -> list[Member]:
    """Every entry of a zip or tar archive, in archive order."""
    path = Path(path)
    try:
        if path.name.lower().endswith(".zip"):
            with zipfile.ZipFile(path) as zf:
                return [_zip_member(i, zf) for i in zf.infolist()]
        with tarfile.open(path, "r:*") as tf:
            return [_tar_member(i) for i in tf.getmembers()]
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
        raise _open_error(path, exc) from exc


def duplicate_names(entries: list[Member], *, as_paths: bool = False) -> set[str]:
    """Names given to more than one non-folder member (a zip may repeat a name; reading by name loses all but one).

    ``as_paths`` compares the paths the names land on when extracted (``a//b``, ``./a/b`` and ``a/b``
    are one file on disk), and returns every name that shares its path with another member.
    """
    def key(name: str) -> str:
        return posixpath.normpath(name.replace("\\", "/")) if as_paths else name

    count: dict[str, int] = {}
    for m in entries:
        if m.kind != "dir":
            count[key(m.name)] = count.get(key(m.name), 0) + 1
    return {m.name for m in entries if m.kind != "dir" and count[key(m.name)] > 1}


def iter_members(path: str | os.PathLike[str]) -> Iterator[tuple[Member, str | None]]:
    """Each entry with the reason it is unsafe (None when safe); every copy of a repeated name is unsafe."""
    entries = members(path)
    dups = duplicate_names(entries)
    for m in entries:
        reason = unsafe_reason(m)
        yield m, reason or ("duplicate_name" if m.name in dups else None)


def open_member(path: str | os.PathLike[str], name: str) -> IO[bytes]:
    """A binary stream of one regular-file member (vetted: unsafe or non-file members raise)."""
    path = Path(path)
    m = Member(name, "file")
    reason = unsafe_reason(m)
    if reason:
        raise CodequarryError(f"{path}!{name}: {REASONS[reason]}")
    try:
        if path.name.lower().endswith(".zip"):
            zf = zipfile.ZipFile(path)
            try:
                if sum(i.filename == name for i in zf.infolist()) > 1:
                    raise CodequarryError(f"{path}!{name}: {REASONS['duplicate_name']}")
                info = zf.getinfo(name)
                if _zip_member(info, zf).kind != "file":
                    raise CodequarryError(f"{path}!{name} is not a regular file")
                return cast(IO[bytes], _ClosingStream(zf.open(info), zf))
            except BaseException:
                zf.close()
                raise
        tf = tarfile.open(path, "r:*")
        try:
            if sum(i.name == name for i in tf.getmembers()) > 1:
                raise CodequarryError(f"{path}!{name}: {REASONS['duplicate_name']}")
            info = tf.getmember(name)
            if not info.isreg():
                raise CodequarryError(f"{path}!{name} is not a regular file")
            fh = tf.extractfile(info)
            if fh is None:
                raise CodequarryError(f"{path}!{name} has no data")
            return cast(IO[bytes], _ClosingStream(fh, tf))
        except BaseException:
            tf.close()
            raise
    except (zipfile.BadZipFile, tarfile.TarError, KeyError, EOFError, OSError) as exc:
        raise _open_error(path, exc) from exc


class _ClosingStream:
    """A member stream that also closes its archive when closed."""

    def __init__(self, fh: IO[bytes], owner: zipfile.ZipFile | tarfile.TarFile) -> None:
        self._fh = fh
        self._owner = owner

    def read(self, n: int = -1) -> bytes:
        return self._fh.read(n)

    def readline(self, limit: int = -1) -> bytes:
        return self._fh.readline(limit)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self._fh.seekable()

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._fh.seek(offset, whence)

    def tell(self) -> int:
        return self._fh.tell()

    def close(self) -> None:
        try:
            self._fh.close()
        finally:
            self._owner.close()

    @property
    def closed(self) -> bool:
        return self._fh.closed

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._fh)

    def __enter__(self) -> _ClosingStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _inside(root: Path, dest: Path) -> bool:
    """True when ``dest`` (after resolving any links already on disk) lies inside ``root``."""
    real_root = os.path.realpath(root)
    real = os.path.realpath(dest)
    return real == real_root or real.startswith(real_root + os.sep)


def extract(path: str | os.PathLike[str], target: str | os.PathLike[str], *, on_unsafe: str = "error") -> ExtractResult:
    """Extract a zip/tar archive into ``target``; unsafe members raise (``on_unsafe="error"``) or are skipped."""
    if on_unsafe not in ("error", "skip"):
        raise ValueError("on_unsafe must be 'error' or 'skip'")
    path, root = Path(path), Path(target)
    root.mkdir(parents=True, exist_ok=True)
    result = ExtractResult()

    def refuse(name: str, reason: str) -> None:
        if on_unsafe == "error":
            raise CodequarryError(f"{path}: member {name!r} refused ({REASONS.get(reason, reason)}); nothing outside "
                                  f"{root} was written. Use a trusted copy of the archive.")
        result.skipped.append((name, reason))

    dups = duplicate_names(members(path), as_paths=True)

    def place(member: Member) -> Path | None:
        reason = unsafe_reason(member) or ("duplicate_name" if member.name in dups else None)
        dest = root / member.name
        if reason is None and not _inside(root, dest.parent if member.kind != "dir" else dest):
            reason = "link_outside"  # an earlier link member would carry this one outside
        if reason is not None:
            refuse(member.name, reason)
            return None
        return dest

    try:
        if path.name.lower().endswith(".zip"):
            with zipfile.ZipFile(path) as zf:
                for info in zf.infolist():
                    m = _zip_member(info, zf)
                    dest = place(m)
                    if dest is None:
                        continue
                    _write(m, dest, root, lambda info=info: zf.open(info), result, refuse)
        else:
            with tarfile.open(path, "r:*") as tf:
                for info in tf:
                    m = _tar_member(info)
                    dest = place(m)
                    if dest is None:
                        continue
                    _write(m, dest, root, lambda info=info: tf.extractfile(info), result, refuse)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError) as exc:
        raise _open_error(path, exc) from exc
    return result


def _write(m: Member, dest: Path, root: Path, opener, result: ExtractResult, refuse) -> None:
    if m.kind == "dir":
        dest.mkdir(parents=True, exist_ok=True)
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    if not _inside(root, dest.parent):
        refuse(m.name, "link_outside")
        return
    if dest.is_symlink() or dest.exists():
        dest.unlink()
    if m.kind == "symlink":
        os.symlink(m.linkname or "", dest)
        if not _inside(root, dest):
            dest.unlink()
            refuse(m.name, "link_outside")
            return
    elif m.kind == "hardlink":
        source = root / (m.linkname or "")
        if not source.is_file() or not _inside(root, source):
            refuse(m.name, "link_outside")
            return
        shutil.copyfile(source, dest)
    else:
        fh = opener()
        if fh is None:
            return
        with fh, open(dest, "wb") as out:
            shutil.copyfileobj(fh, out, 1 << 20)
    result.files.append(dest)
