"""``repos``: documented functions from local folders and git repositories, extracted as CodeSearchNet did.

Inputs (``--path``, repeatable): a folder, a git repository (a folder holding ``.git``; a
subfolder of a repository is read as a plain folder), or a clone URL (``https://…``,
``git@host:owner/name``, ``file://…``; cloned with ``git clone --depth`` into ``--clone-dir``, where
an existing clone is reused, or into a temporary folder). Files are listed with ``git ls-files``
(tracked, then untracked files that .gitignore does not exclude) in a repository, and by a sorted
walk that never follows symlinks in a plain folder; VCS metadata folders are skipped.

Each file of a selected language whose path has none of CodeSearchNet's skip words is parsed with
tree-sitter and its functions are extracted by codequarry.languages under CSN's rules (or every
function with ``--scope all``). A documented function gives one row: ``query`` = the docstring
summary, ``query_tokens`` = CSN's docstring tokens of it, ``code`` = the function's source (with its
docstring, as CSN; ``--strip-docstring`` removes an in-body docstring), ``code_tokens`` = CSN's code
tokens, ``func_name`` = CSN's qualified name, ``start_line``/``end_line`` (1-based, inclusive), and
``meta`` = {docstring (full, cleaned), name, class_name, parameters, node_type, has_error, dialect}.

Repositories: ``repo`` is ``owner/name`` from the origin remote (else the folder name), ``sha`` is
HEAD, ``url`` is ``{web}/blob/{sha}/{path}#L{start}-L{end}`` when the remote has a web form
(``https://github.com/owner/name`` for GitHub; other http(s)/ssh hosts as ``https://host/path``,
which GitLab and Gitea serve) and null otherwise (plain folders, file:// and local remotes); as in
CSN the path is not percent-encoded. The url points at HEAD: lines of uncommitted edits may differ.
``license`` is the SPDX id found in the top-level LICENSE/LICENCE/COPYING files, null when unknown.
Row ids are ``make_id("repos", repo, path, func_name, start_line)``: they do not depend on the
commit, so an unchanged function keeps its id when a repository is rebuilt at a newer commit.

``--since DATE`` runs ``git blame --porcelain`` once per file that has kept functions and keeps a
function only when every line of it was last changed by a commit whose committer date is at or
after DATE (the date the change landed in the repository). Uncommitted lines count as new. In a
shallow clone, lines blamed on the history boundary have an unknown, older date and are excluded;
clone URLs are therefore cloned with full history when ``--since`` is given.

Records and accounting (read = written + excluded): a record is a candidate function of a parsed
file — written, or excluded as ``no_docstring``, ``blacklisted``, ``empty_body``,
``too_few_code_tokens``, ``empty_query`` (a docstring whose summary is empty) or
``older_than_since`` — or a file that could not be used as a whole: ``skip_path`` (CSN's skip
words), ``symlink`` (file or directory links are not followed), ``not_a_file``, ``unreadable``,
``too_large`` (over ``--max-file-bytes``), ``binary`` (a NUL byte), ``invalid_utf8`` (with
``--decode-errors exclude``, the default, as CSN skipped undecodable files; ``replace`` parses them
and decodes with U+FFFD, counting them in the manifest), ``root_has_error`` (CSN's Ruby rule) and
``extraction_failed``. A parsed file with no candidate function adds no record.

Work is split into batches of files processed by ``--workers`` processes; results are merged in
file order, so rows, exclusions and the fingerprint are the same for any worker count, and only a
bounded window of batches is in flight, so memory does not grow with the corpus.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
import tempfile
import time
from collections import Counter, deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from fnmatch import fnmatchcase
from itertools import islice
from pathlib import Path
from typing import Any, Literal

from codequarry.citations import bibtex
from codequarry.errors import CodequarryError
from codequarry.options import option
from codequarry.pairs import SourceInfo

INFO = SourceInfo(
    name="repos",
    url="https://github.com/github/CodeSearchNet/tree/master/function_parser",
    homepage="https://github.com/github/CodeSearchNet",
    license=None,
    revision=None,
    description=("Documented functions extracted with tree-sitter from local folders and git repositories, "
                 "following CodeSearchNet's function_parser rules (query = docstring summary)."),
    citation=bibtex("codesearchnet"),
)

SOURCE = "repos"
DEFAULT_MAX_FILE_BYTES = 1_000_000
DECODE_POLICIES = ("exclude", "replace")
_VCS_DIRS = frozenset({".git", ".hg", ".svn"})
_BOM = b"\xef\xbb\xbf"
_BATCH_FILES = 64
_BATCH_BYTES = 2 << 20


# --------------------------------------------------------------------------------------------
# inputs


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


def _walk(root: str) -> Iterator[tuple[str, os.DirEntry[str] | None, str | None]]:
    """(relative path, entry, None) for every file and symlink under root, sorted, directory links not followed;
    (folder path, None, problem) for a folder that cannot be listed."""
    stack: list[tuple[str, str]] = [(root, "")]
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
            path = rel + entry.name
            try:
                is_dir = not entry.is_symlink() and entry.is_dir(follow_symlinks=False)
            except OSError:
                is_dir = False
            if is_dir:
                if entry.name not in _VCS_DIRS:
                    subdirs.append((entry.path, path + "/"))
            else:
                yield path, entry, None
        stack.extend(reversed(subdirs))


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

    for index, repo in enumerate(repos):
        if repo.is_git:
            listing: Iterable[tuple[str, os.DirEntry[str] | None, str | None]] = (
                (p, None, None) for p in _git.ls_files(Path(repo.root)))
        else:
            listing = _walk(repo.root)
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


# --------------------------------------------------------------------------------------------
# per-file work (runs in worker processes)


@dataclass(frozen=True)
class Settings:
    """Everything a worker needs besides the files: extraction rules and row options."""

    scope: str = "csn"
    require_docstring: bool = True
    min_code_tokens: int = 2
    apply_blacklist: bool = True
    skip_empty: bool = True
    strip_docstring: bool = False
    since: int | None = None  # epoch seconds
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    decode_errors: str = "exclude"
    split: str = "train"


_ROW_COLUMNS = ("id", "query", "code", "language", "repo", "path", "func_name", "url", "meta", "start_line",
                "end_line")
# an exclusion record: reason, locator, detail, then these pair columns (no code: it is at its path and lines)
_EXCLUSION_COLUMNS = ("language", "repo", "path", "func_name", "url", "sha", "license")


@dataclass
class BatchResult:
    """What a batch of files gave, as columns (cheap to turn into Arrow and to pickle back)."""

    files: int = 0
    read: int = 0
    cols: dict[str, list[Any]] = field(default_factory=lambda: {c: [] for c in _ROW_COLUMNS})
    query_tokens: tuple[list[str], list[int]] = field(default_factory=lambda: ([], [0]))
    code_tokens: tuple[list[str], list[int]] = field(default_factory=lambda: ([], [0]))
    exclusions: list[tuple[Any, ...]] = field(default_factory=list)
    stats: Counter[str] = field(default_factory=Counter)
    table: Any = None  # pa.Table of rows
    excluded: Any = None  # pa.Table of exclusion records (ExclusionWriter columns)


def read_source(root: str, task: FileTask, max_bytes: int) -> tuple[bytes | None, str | None, str | None]:
    """(bytes, None, None) or (None, reason, detail) for a file: unreadable, too large, binary."""
    from codequarry.builders._io import NotRegularFile, open_regular

    try:
        with open_regular(os.path.join(root, task.path), root=root) as fh:
            data = fh.read(max_bytes + 1)
    except NotRegularFile as exc:
        return None, "symlink" if exc.errno == errno.ELOOP else "not_a_file", exc.strerror
    except OSError as exc:
        return None, "unreadable", f"{type(exc).__name__}: {exc.strerror or exc}"
    if len(data) > max_bytes:
        return None, "too_large", f"over {max_bytes:,} bytes (--max-file-bytes)"
    nul = data.find(b"\x00")
    if nul >= 0:
        return None, "binary", f"NUL byte at offset {nul}"
    if data.startswith(_BOM):
        data = data[3:]
    return data, None, None


def _exclude_file(res: BatchResult, repo: Repo, task: FileTask, reason: str, detail: str | None) -> None:
    res.read += 1
    res.exclusions.append((reason, f"{repo.name}:{task.path}", detail, task.language and _dataset_language(task.language),
                           repo.name, task.path, None, None, repo.sha, repo.license))


def _exclude_function(res: BatchResult, repo: Repo, task: FileTask, lang: str, func: Any, reason: str,
                      detail: str | None) -> None:
    res.exclusions.append((reason, f"{repo.name}:{task.path}#L{func.start_line}-L{func.end_line}", detail, lang,
                           repo.name, task.path, func.qualified_name, repo.url(task.path, func.start_line, func.end_line),
                           repo.sha, repo.license))


def _dataset_language(name: str) -> str:
    from codequarry.languages import get_language

    return get_language(name).dataset_language


def _since_ok(times: list[int | None] | None, start: int, end: int, since: int) -> bool:
    if times is None or end > len(times):
        return False
    return all(t is not None and t >= since for t in times[start - 1:end])


def process_file(repo: Repo, task: FileTask, settings: Settings, res: BatchResult) -> None:
    """Extract one file into row columns and exclusions (never raises for bad input)."""
    from codequarry.languages import ExtractionRules, extract_tree, get_language, get_parser
    from codequarry.languages.docstrings import tokenize_docstring
    from codequarry.schema import dump_meta, make_id

    if task.reason is not None:
        _exclude_file(res, repo, task, task.reason, task.detail)
        return
    if task.size > settings.max_file_bytes:
        _exclude_file(res, repo, task, "too_large", f"{task.size:,} bytes, over {settings.max_file_bytes:,} (--max-file-bytes)")
        return
    data, reason, detail = read_source(repo.root, task, settings.max_file_bytes)
    if data is None:
        _exclude_file(res, repo, task, reason or "unreadable", detail)
        return
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if settings.decode_errors == "exclude":
            _exclude_file(res, repo, task, "invalid_utf8",
                          f"invalid UTF-8 at byte {exc.start} (--decode-errors replace keeps the file)")
            return
        res.stats["files_decoded_with_replacement"] += 1
    spec = get_language(task.language or "")
    rules = ExtractionRules(scope=settings.scope, require_docstring=settings.require_docstring,  # type: ignore[arg-type]
                            min_code_tokens=settings.min_code_tokens, apply_blacklist=settings.apply_blacklist,
                            skip_empty=settings.skip_empty)
    try:
        tree = get_parser(spec).parse(data)
        extraction = extract_tree(tree, data, spec, rules)
    except Exception as exc:  # a grammar or extraction bug must not end the build: account for the file
        _exclude_file(res, repo, task, "extraction_failed", f"{type(exc).__name__}: {exc}")
        return
    res.stats["files_parsed"] += 1
    if tree.root_node.has_error:
        res.stats["files_with_parse_errors"] += 1
    if extraction.skipped:
        _exclude_file(res, repo, task, extraction.skipped, "CodeSearchNet skips Ruby files whose root has an ERROR node")
        return
    times: list[int | None] | None = None
    blame_problem = "some lines were last changed before --since"
    if settings.since is not None and extraction.functions:
        from codequarry.builders import _git

        try:
            times = _git.blame_times(Path(repo.root), task.path, shallow=repo.shallow)
        except CodequarryError as exc:
            res.stats["files_blame_failed"] += 1
            blame_problem = f"no blame for this file: {exc}"
    lang = spec.dataset_language
    res.read += len(extraction.rejected) + len(extraction.functions)
    for func, why in extraction.rejected:
        _exclude_function(res, repo, task, lang, func, why, func.name)
    cols = res.cols
    qflat, qoffs = res.query_tokens
    cflat, coffs = res.code_tokens
    for func in extraction.functions:
        if not func.summary and (settings.require_docstring or func.docstring):
            _exclude_function(res, repo, task, lang, func, "empty_query", "the docstring's summary is empty")
            continue
        if settings.since is not None and not _since_ok(times, func.start_line, func.end_line, settings.since):
            _exclude_function(res, repo, task, lang, func, "older_than_since", blame_problem)
            continue
        meta: dict[str, Any] = {"docstring": func.docstring, "name": func.name, "class_name": func.class_name,
                                "parameters": list(func.parameters), "node_type": func.node_type,
                                "has_error": func.has_error}
        if spec.name != lang:
            meta["dialect"] = spec.name
        cols["id"].append(make_id(SOURCE, repo.name, task.path, func.qualified_name, func.start_line))
        cols["query"].append(func.summary or None)
        cols["code"].append(func.code_without_docstring if settings.strip_docstring else func.code)
        cols["language"].append(lang)
        cols["repo"].append(repo.name)
        cols["path"].append(task.path)
        cols["func_name"].append(func.qualified_name)
        cols["url"].append(repo.url(task.path, func.start_line, func.end_line))
        cols["meta"].append(dump_meta(meta))
        cols["start_line"].append(func.start_line)
        cols["end_line"].append(func.end_line)
        qflat.extend(tokenize_docstring(func.summary))
        qoffs.append(len(qflat))
        cflat.extend(func.code_tokens)
        coffs.append(len(cflat))


def rows_table(res: BatchResult, repos: dict[int, Repo]) -> Any:
    """The batch's rows as a pairs table (core columns then start_line/end_line), built column by column."""
    import pyarrow as pa

    from codequarry.schema import CORE_FIELDS, KNOWN_EXTRA_FIELDS

    cols = res.cols
    n = len(cols["id"])
    by_name = {r.name: r for r in repos.values()}
    sha = [by_name[r].sha for r in cols["repo"]]
    lic = [by_name[r].license for r in cols["repo"]]
    arrays = {
        "id": pa.array(cols["id"], pa.string()), "query": pa.array(cols["query"], pa.string()),
        "code": pa.array(cols["code"], pa.string()), "language": pa.array(cols["language"], pa.string()),
        "source": pa.array([SOURCE] * n, pa.string()), "repo": pa.array(cols["repo"], pa.string()),
        "path": pa.array(cols["path"], pa.string()), "func_name": pa.array(cols["func_name"], pa.string()),
        "url": pa.array(cols["url"], pa.string()), "sha": pa.array(sha, pa.string()),
        "license": pa.array(lic, pa.string()), "label": pa.nulls(n, pa.int32()),
        "query_tokens": pa.ListArray.from_arrays(pa.array(res.query_tokens[1], pa.int32()),
                                                 pa.array(res.query_tokens[0], pa.string())),
        "code_tokens": pa.ListArray.from_arrays(pa.array(res.code_tokens[1], pa.int32()),
                                                pa.array(res.code_tokens[0], pa.string())),
        "meta": pa.array(cols["meta"], pa.string()),
        "start_line": pa.array(cols["start_line"], pa.int32()), "end_line": pa.array(cols["end_line"], pa.int32()),
    }
    fields = [*CORE_FIELDS, KNOWN_EXTRA_FIELDS["start_line"], KNOWN_EXTRA_FIELDS["end_line"]]
    return pa.Table.from_arrays([arrays[f.name] for f in fields], schema=pa.schema(fields))


def exclusion_table(records: list[tuple[Any, ...]], split: str) -> Any:
    """Exclusion records as one Arrow table (built in the worker; the writer appends it as is)."""
    import pyarrow as pa

    n = len(records)
    columns = list(zip(*records))
    table: dict[str, Any] = {
        "step": pa.array(["build"] * n, pa.string()),
        "reason": pa.array(columns[0], pa.string()),
        "detail": pa.array(columns[2], pa.string()),
        "locator": pa.array(columns[1], pa.string()),
        "split": pa.array([split] * n, pa.string()),
        "source": pa.array([SOURCE] * n, pa.string()),
    }
    for i, name in enumerate(_EXCLUSION_COLUMNS):
        table[name] = pa.array(columns[3 + i], pa.string())
    return pa.table(table)


def process_batch(job: tuple[dict[int, Repo], list[FileTask], Settings]) -> BatchResult:
    """A batch of files → rows and exclusions as Arrow tables (built in the worker), in file order.

    The cyclic garbage collector is paused meanwhile: the work allocates many small objects and
    no cycles, and the collector's passes cost more than they free.
    """
    import gc

    repos, tasks, settings = job
    res = BatchResult(files=len(tasks))
    paused = gc.isenabled()
    gc.disable()
    try:
        for task in tasks:
            process_file(repos[task.repo], task, settings, res)
        if res.cols["id"]:
            res.table = rows_table(res, repos)
        if res.exclusions:
            res.excluded = exclusion_table(res.exclusions, settings.split)
    finally:
        if paused:
            gc.enable()
    res.cols, res.exclusions = {}, []
    res.query_tokens = res.code_tokens = ([], [0])
    return res


def ordered_map(func: Any, jobs: Iterable[Any], workers: int) -> Iterator[Any]:
    """``map(func, jobs)`` in order over ``workers`` processes, with at most ~3 jobs per worker in flight."""
    if workers <= 1:
        yield from map(func, jobs)
        return
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    # fork is quickest, but forking a threaded process is deprecated from Python 3.12 on
    methods = mp.get_all_start_methods()
    method = "fork" if "fork" in methods and sys.version_info < (3, 12) else (
        "forkserver" if "forkserver" in methods else "spawn")
    window: deque[Any] = deque()
    with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context(method)) as pool:
        for job in jobs:
            window.append(pool.submit(func, job))
            if len(window) >= workers * 3:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()


# --------------------------------------------------------------------------------------------
# the build


def parse_since(value: str | None) -> int | None:
    """``--since`` as epoch seconds: an ISO date or date-time (UTC when no zone is given)."""
    if value is None:
        return None
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError:
        raise CodequarryError(f"--since {value!r} is not a date; use YYYY-MM-DD or an ISO date-time such as "
                              "2024-06-01T00:00:00Z") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp())


def _check_languages(languages: Sequence[str] | None) -> tuple[str, ...]:
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


def build(
    out: str | os.PathLike[str],
    *,
    paths: Sequence[str | os.PathLike[str]],
    languages: Sequence[str] | None = None,
    skip_words: Sequence[str] | None = None,
    no_skip: bool = False,
    exclude: Sequence[str] = (),
    scope: str = "csn",
    strip_docstring: bool = False,
    include_undocumented: bool = False,
    min_code_tokens: int = 2,
    no_blacklist: bool = False,
    keep_empty: bool = False,
    since: str | None = None,
    workers: int = 1,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    decode_errors: str = "exclude",
    split: str = "train",
    clone_dir: str | os.PathLike[str] | None = None,
    depth: int = 1,
    limit_files: int | None = None,
    overwrite: bool = False,
    created_by: str | None = None,
) -> dict[str, Any]:
    """Extract documented functions from folders, repositories or clone URLs into a pairs dir; returns the manifest."""
    from codequarry.languages.functions import SCOPES
    from codequarry.pairs import PairsWriter
    from codequarry.progress import progress
    from codequarry.schema import KNOWN_EXTRA_FIELDS, check_split_name

    if not paths:
        raise CodequarryError("give at least one --path (a folder, a git repository or a clone URL)")
    if scope not in SCOPES:
        raise CodequarryError(f"--scope {scope!r}: use one of {', '.join(SCOPES)}")
    if decode_errors not in DECODE_POLICIES:
        raise CodequarryError(f"--decode-errors {decode_errors!r}: use one of {', '.join(DECODE_POLICIES)}")
    if workers < 1:
        raise CodequarryError(f"--workers must be at least 1, got {workers}")
    if max_file_bytes < 1:
        raise CodequarryError(f"--max-file-bytes must be positive, got {max_file_bytes}")
    if min_code_tokens < 0:
        raise CodequarryError(f"--min-code-tokens must be >= 0, got {min_code_tokens}")
    if limit_files is not None and limit_files < 0:
        raise CodequarryError(f"--limit-files must be >= 0, got {limit_files}")
    check_split_name(split)
    since_ts = parse_since(since)
    selection = Selection(languages=_check_languages(languages),
                          skip_words=tuple(w.lower() for w in skip_words) if skip_words is not None else None,
                          skip=not no_skip, exclude=tuple(exclude))
    settings = Settings(scope=scope, require_docstring=not include_undocumented, min_code_tokens=min_code_tokens,
                        apply_blacklist=not no_blacklist, skip_empty=not keep_empty, strip_docstring=strip_docstring,
                        since=since_ts, max_file_bytes=max_file_bytes, decode_errors=decode_errors, split=split)
    params = {"paths": [str(p) for p in paths], "languages": list(selection.languages),
              "skip_words": list(skip_words) if skip_words is not None else "csn", "no_skip": no_skip,
              "exclude": list(exclude), "scope": scope, "strip_docstring": strip_docstring,
              "include_undocumented": include_undocumented, "min_code_tokens": min_code_tokens,
              "no_blacklist": no_blacklist, "keep_empty": keep_empty, "since": since,
              "max_file_bytes": max_file_bytes, "decode_errors": decode_errors, "split": split, "depth": depth,
              "limit_files": limit_files}
    temp = None
    clone_root = Path(clone_dir) if clone_dir is not None else None
    if clone_root is None and any(_is_url(str(p)) for p in paths):
        temp = tempfile.TemporaryDirectory(prefix="codequarry-clones-")
        clone_root = Path(temp.name)
    try:
        repos = [resolve_repo(str(p), clone_root=clone_root, depth=None if since_ts is not None else depth or None)
                 for p in paths]
        _check_repos(repos, since_ts)
        writer = PairsWriter(out, created_by=created_by or f"codequarry build {SOURCE}", sources=[INFO],
                             params=params, overwrite=overwrite,
                             extra_fields=[KNOWN_EXTRA_FIELDS["start_line"], KNOWN_EXTRA_FIELDS["end_line"]])
        stats: Counter[str] = Counter()
        started = time.perf_counter()
        try:
            by_index = dict(enumerate(repos))
            jobs = (({t.repo: by_index[t.repo] for t in batch}, batch, settings)
                    for batch in batches(islice(iter_files(repos, selection, stats), limit_files)))
            bar = progress(desc="build repos", unit="file")
            pending = _PendingExclusions(writer)
            for res in ordered_map(process_batch, jobs, workers):
                writer.add_read(res.read)
                if res.excluded is not None:
                    pending.add(res.excluded)
                if res.table is not None:
                    writer.write(res.table, split=split)
                stats.update(res.stats)
                bar.update(res.files)
                bar.set_postfix(rows=writer.written, excluded=writer.excluded + pending.rows, refresh=False)
            pending.flush()
            bar.close()
            writer.set_manifest(SOURCE, {
                "repos": [{"input": r.input, "repo": r.name, "sha": r.sha, "remote": r.remote, "license": r.license,
                           "git": r.is_git, "shallow": r.shallow} for r in repos],
                "stats": dict(sorted(stats.items())),
                "seconds": round(time.perf_counter() - started, 3),
            })
            return writer.close()
        except BaseException:
            writer.abort()
            raise
    finally:
        if temp is not None:
            temp.cleanup()


class _PendingExclusions:
    """Batches' exclusion tables, handed to the writer in file order a few thousand rows at a time."""

    def __init__(self, writer: Any, rows: int = 16_384) -> None:
        self.writer, self.limit = writer, rows
        self.tables: list[Any] = []
        self.rows = 0

    def add(self, table: Any) -> None:
        self.tables.append(table)
        self.rows += table.num_rows
        if self.rows >= self.limit:
            self.flush()

    def flush(self) -> None:
        if self.tables:
            import pyarrow as pa

            self.writer.exclude_arrow(pa.concat_tables(self.tables))
        self.tables, self.rows = [], 0


def _is_url(spec: str) -> bool:
    from codequarry.builders._git import is_clone_url

    return is_clone_url(spec)


def _check_repos(repos: Sequence[Repo], since_ts: int | None) -> None:
    seen: dict[str, str] = {}
    for repo in repos:
        if repo.name in seen:
            raise CodequarryError(
                f"--path {repo.input} and --path {seen[repo.name]} both give repo name {repo.name!r}; row ids and "
                "paths would collide. Build them separately or give a parent folder instead.")
        seen[repo.name] = repo.input
        if since_ts is not None and not repo.is_git:
            raise CodequarryError(f"--since needs git history, but {repo.input} is not a git repository (no .git)")


# --------------------------------------------------------------------------------------------
# CLI


@dataclass(frozen=True)
class Options:
    """The options of ``codequarry build repos`` (and of ``build``)."""

    paths: tuple[str, ...] = option(required=True, flag="--path", repeat=True, metavar="SRC",
                                    help="a folder, a git repository or a clone URL (https://…, git@host:o/n, "
                                         "file://…); repeatable")
    languages: tuple[str, ...] | None = option(None, metavar="LANG",
                                               help="languages to extract (default: every registered one, "
                                                    "codequarry.languages)")
    scope: Literal["csn", "all"] = option("csn", help="csn: the definitions CodeSearchNet takes per language "
                                                      "(default); all: every function and method at any depth")
    skip_words: tuple[str, ...] | None = option(None, nargs="*", metavar="WORD",
                                                help="skip files whose lower-cased path contains one of these "
                                                     "(default: CodeSearchNet's per-language words: test; tests for "
                                                     "java/php; vendor for go/ruby; node_modules for js)")
    no_skip: bool = option(False, help="do not skip any path (turns skip words off)")
    exclude: tuple[str, ...] = option((), repeat=True, metavar="GLOB",
                                      help="leave out files whose path or name matches this glob (counted in the "
                                           "manifest); repeatable")
    strip_docstring: bool = option(False, help="remove an in-body docstring (python) from `code`; CodeSearchNet "
                                               "keeps it (default)")
    include_undocumented: bool = option(False, help="also write functions without a docstring (their query is empty)")
    min_code_tokens: int = option(2, help="drop functions with fewer code tokens (default 2: CodeSearchNet keeps "
                                          "more than 1)")
    no_blacklist: bool = option(False, help="keep the names CodeSearchNet blacklists (toString, __construct, "
                                            "initialize, …)")
    keep_empty: bool = option(False, help="keep what CodeSearchNet treats as empty (python bodies starting with "
                                          "pass/raise, one-line Java/C# bodies)")
    since: str | None = option(None, metavar="DATE",
                               help="keep only functions whose lines were all last changed at or after DATE "
                                    "(YYYY-MM-DD or ISO date-time, UTC by default), by git blame: builds fresh test "
                                    "sets that postdate a model's training data. Needs git repositories; clone URLs "
                                    "are then cloned with full history")
    workers: int = option(1, help="worker processes parsing files (output is identical for any N; default 1)")
    max_file_bytes: int = option(DEFAULT_MAX_FILE_BYTES, help="exclude bigger files, e.g. minified bundles")
    decode_errors: str = option("exclude", choices=DECODE_POLICIES,
                                help="files that are not valid UTF-8: exclude them (default, as CodeSearchNet) or "
                                     "replace bad bytes with U+FFFD")
    split: str = option("train", help="split name for every row (default train; `clean` re-splits)")
    clone_dir: str | None = option(None, metavar="DIR",
                                   help="where clone URLs are cloned and kept (an existing clone is reused); default: "
                                        "a temporary folder removed after the build")
    depth: int = option(1, help="clone depth for URLs (default 1; 0 = full history)")
    limit_files: int | None = option(None, help="stop after the first N candidate files, in listing order (for quick "
                                                "trials)")
