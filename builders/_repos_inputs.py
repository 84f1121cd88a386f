"""Inputs of ``build repos``: each ``--path`` resolved to a repository, and its candidate files listed.

A ``--path`` becomes a ``Repo`` (a folder, a git repository read through ``_git``'s sandbox, or a
clone URL cloned first). Its files are listed (``git ls-files`` in a repository, a sorted walk that
never follows links in a plain folder) into ``FileTask`` items, with the decisions that need no
reading made here: language by extension, ``--exclude`` globs, CodeSearchNet's skip words, links,
special files and file names that are not UTF-8. ``batches`` groups the tasks for the workers.
"""

from __future__ import annotations

import os
import stat
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

from codequarry.errors import CodequarryError

_VCS_DIRS = frozenset({".git", ".hg", ".svn"})
_BATCH_FILES = 64
_BATCH_BYTES = 2 << 20


@dataclass(frozen=True)
class Repo:
    """One input, resolved: where its files are and what every row from it carries."""

    input: str
    root: str
    name: str
    is_git: bool = False
    sha: str | None = None
    web: str | None = None
    license: str | None = None
    shallow: bool = False
    remote: str | None = None

    def url(self, path: str, start: int, end: int) -> str | None:
        if not self.web or not self.sha:
            return None
        return f"{self.web}/blob/{self.sha}/{path}#L{start}-L{end}"


def resolve_repo(spec: str, *, clone_root: Path | None, depth: int | None) -> Repo:
    """Turn a ``--path`` value into a Repo (cloning a URL first)."""
    from codequarry.builders import _git
    from codequarry.builders._licenses import detect_license

    spec = str(spec)
    if _git.is_clone_url(spec):
        if clone_root is None:
            raise CodequarryError("internal: clone_root is required for URLs")
        root = _git.clone(spec, clone_root / _git.clone_dir_name(spec), depth=depth)
    else:
        root = Path(spec).expanduser()
        if not root.exists():
            raise CodequarryError(f"--path {spec}: no such file or folder (give a folder, a git repository or a clone URL)")
        if not root.is_dir():
            raise CodequarryError(f"--path {spec} is a file; give the folder or repository that holds it")
    root = root.resolve()
    license_id = detect_license(root)
    if _git.is_repo_root(root):
        info = _git.repo_info(root)
        remote = info.remote or (spec if _git.is_clone_url(spec) else None)
        name, web = _git.remote_web(remote)
        if web is None and not (remote and _git.is_clone_url(remote)):
            name = root.name  # a local-path remote names nothing useful: use the folder's name
        return Repo(input=spec, root=str(root), name=name or root.name, is_git=True, sha=info.sha, web=web,
                    license=license_id, shallow=info.shallow, remote=remote)
    return Repo(input=spec, root=str(root), name=root.name or str(root), license=license_id)


# --------------------------------------------------------------------------------------------
# file listing


@dataclass(frozen=True)
class FileTask:
    """One candidate file: where it is and, when decided while listing, why it is excluded as a whole."""

    repo: int
    path: str  # POSIX path relative to the repo root
    language: str | None
    size: int = 0
    reason: str | None = None
    detail: str | None = None


@dataclass(frozen=True)
class Selection:
    """Which files are candidates: languages, skip words (None = each language's CSN words), excludes."""

    languages: tuple[str, ...]
    skip_words: tuple[str, ...] | None = None
    skip: bool = True
    exclude: tuple[str, ...] = ()

    def language_of(self, path: str) -> str | None:
        lang = _language_for_path(path)
        return lang if lang in self.languages else None

    def excluded(self, path: str) -> bool:
        return any(fnmatchcase(path, pat) or fnmatchcase(path.rsplit("/", 1)[-1], pat) for pat in self.exclude)

    def skip_word(self, path: str, language: str) -> str | None:
        from codequarry.languages import get_language

        if not self.skip:
            return None
        return get_language(language).skip_word(path, self.skip_words)


def _language_for_path(path: str) -> str | None:
    from codequarry.languages import language_for_path

    return language_for_path(path)


def _utf8_name(path: str) -> bool:
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _escape_name(path: str) -> str:
    """A path holding undecodable bytes (surrogate escapes) as printable, valid UTF-8 text."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def iter_files(repos: Sequence[Repo], selection: Selection, stats: Counter[str]) -> Iterator[FileTask]:
    """Every candidate file of every repo, in a deterministic order, with file-level exclusions decided early."""
    from codequarry.builders import _git
    from codequarry.builders._io import walk_folder

    for index, repo in enumerate(repos):
        if repo.is_git:
            listing: Iterable[tuple[str, os.DirEntry[str] | None, str | None]] = (
                (p, None, None) for p in _git.ls_files(Path(repo.root)))
        else:
            listing = walk_folder(repo.root, lambda name, is_dir: is_dir and name in _VCS_DIRS)
        for path, entry, problem in listing:
            if problem is not None:
                stats["folders_unreadable"] += 1
                yield FileTask(index, path, None, reason="unreadable", detail=problem)
                continue
            lang = selection.language_of(path)
            if lang is not None and not _utf8_name(path):
                stats["files_with_invalid_names"] += 1
                yield FileTask(index, _escape_name(path), lang, reason="invalid_file_name",
                               detail="the file name is not valid UTF-8 (not read)")
                continue
            if entry is not None and lang is None:
                try:
                    if not entry.is_symlink():  # d_type only: no system call for the many non-source files
                        continue
                except OSError:
                    continue
            try:
                st = entry.stat(follow_symlinks=False) if entry is not None else os.lstat(os.path.join(repo.root, path))
            except OSError as exc:
                if lang:
                    yield FileTask(index, path, lang, reason="unreadable", detail=f"{type(exc).__name__}: {exc.strerror or exc}")
                continue
            if stat.S_ISLNK(st.st_mode):
                target_is_dir = os.path.isdir(os.path.join(repo.root, path))
                if lang or target_is_dir:
                    kind = "directory" if target_is_dir else "file"
                    yield FileTask(index, path, lang, reason="symlink", detail=f"{kind} symlink not followed")
                continue
            if lang is None:
                continue
            stats["files_seen"] += 1
            if selection.excluded(path):
                stats["files_excluded_by_pattern"] += 1
                continue
            if not stat.S_ISREG(st.st_mode):
                yield FileTask(index, path, lang, reason="not_a_file", detail="not a regular file")
                continue
            word = selection.skip_word(path, lang)
            if word is not None:
                yield FileTask(index, path, lang, st.st_size, reason="skip_path", detail=f"path contains {word!r}")
                continue
            yield FileTask(index, path, lang, st.st_size)


def batches(tasks: Iterable[FileTask], max_files: int = _BATCH_FILES, max_bytes: int = _BATCH_BYTES) -> Iterator[list[FileTask]]:
    """Consecutive tasks grouped by count and by bytes to parse (file order is kept)."""
    batch: list[FileTask] = []
    size = 0
    for task in tasks:
        batch.append(task)
        if task.reason is None:
            size += task.size
        if len(batch) >= max_files or size >= max_bytes:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def check_languages(languages: Sequence[str] | None) -> tuple[str, ...]:
    """Language names to extract: every registered one by default; a dataset language brings its dialects."""
    from codequarry.languages import LANGUAGES, get_language

    if not languages:
        return tuple(LANGUAGES.names())
    names: list[str] = []
    for lang in languages:
        spec = get_language(lang)
        family = [n for n, s in LANGUAGES.items() if s.dataset_language == spec.dataset_language]
        for name in family if spec.name == spec.dataset_language else [spec.name]:
            if name not in names:
                names.append(name)
    return tuple(names)
