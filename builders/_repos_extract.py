"""Per-file work of ``build repos`` (runs in worker processes): a batch of files → rows and exclusions.

``process_batch`` reads each file under its repository root (``_io.open_regular``: no link is
followed, no special file opened), parses it with tree-sitter, extracts functions under
CodeSearchNet's rules, and returns the rows and exclusion records as Arrow tables built in the
worker, in file order, so the parent only appends them.
"""

from __future__ import annotations

import errno
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codequarry.builders._repos_inputs import FileTask, Repo
from codequarry.errors import CodequarryError

SOURCE = "repos"
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class Settings:
    """Everything a worker needs besides the files: extraction rules and row options.

    No field has a default: every value comes from the source's ``Options`` (``builders/repos.py``, where
    each option and its default is declared once), turned into what the worker uses (``since`` as epoch
    seconds, ``include_undocumented`` as ``require_docstring``, ...) by ``repos.build``.
    """

    scope: str
    require_docstring: bool
    min_code_tokens: int
    apply_blacklist: bool
    skip_empty: bool
    keep_docstring: bool
    since: int | None  # epoch seconds
    max_file_bytes: int
    decode_errors: str
    split: str


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
        code = func.code if settings.keep_docstring else func.code_without_docstring
        if code != func.code:
            meta["original_string"] = func.code
        cols["code"].append(code)
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
