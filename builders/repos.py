"""``repos``: documented functions from local folders and git repositories, extracted as CodeSearchNet did.

Inputs (``--path``, repeatable): a folder, a git repository (a folder holding ``.git``; a
subfolder of a repository is read as a plain folder), or a clone URL (``https://…``,
``git@host:owner/name``, ``file://…``; cloned with ``git clone --depth`` into ``--clone-dir``, where
an existing clone is reused, or into a temporary folder). Files are listed with ``git ls-files``
(tracked, then untracked files that .gitignore does not exclude) in a repository, and by a sorted
walk that never follows symlinks in a plain folder; VCS metadata folders are skipped.

A repository is untrusted, its ``.git`` included: git runs against a sandbox git dir, never with
the repository's own config, hooks or filters, and a repository owned by another user is refused as
git refuses it (``_git``; docs/security.md). Files are opened with no link followed on any path
component and no special file opened (``_io.open_regular``).

Each file of a selected language whose path has none of CodeSearchNet's skip words is parsed with
tree-sitter and its functions are extracted by codequarry.languages under CSN's rules (or every
function with ``--scope all``). A documented function gives one row: ``query`` = the docstring
summary, ``query_tokens`` = CSN's docstring tokens of it, ``code`` = the function's source *without*
its docstring (as CSN's ``code_tokens``: a query must not be found verbatim in its own code; in
Python the in-body docstring statement is removed, in the other languages the doc comment precedes
the function and is not part of its code), ``code_tokens`` = CSN's code tokens, ``func_name`` =
CSN's qualified name, ``start_line``/``end_line`` (1-based, inclusive), and ``meta`` = {docstring
(full, cleaned), name, class_name, parameters, node_type, has_error, dialect, original_string (the
function's full source, as CSN's field of that name, when it differs from ``code``)}.
``--keep-docstring`` keeps the docstring in ``code`` (CSN's ``original_string``).

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
words), ``symlink`` (file or directory links are not followed), ``not_a_file``, ``invalid_file_name`` (not
UTF-8), ``unreadable``,
``too_large`` (over ``--max-file-bytes``), ``binary`` (a NUL byte), ``invalid_utf8`` (with
``--decode-errors exclude``, the default, as CSN skipped undecodable files; ``replace`` parses them
and decodes with U+FFFD, counting them in the manifest), ``root_has_error`` (CSN's Ruby rule) and
``extraction_failed``. A parsed file with no candidate function adds no record.

Work is split into batches of files processed by ``--workers`` processes (``_workers``: they exit
when the build is killed); results are merged in file order, so rows, exclusions and the
fingerprint are the same for any worker count, and only a bounded window of batches is in flight,
so memory does not grow with the corpus. Modules: ``_repos_inputs`` (resolving ``--path`` values,
listing files), ``_repos_extract`` (per-file work in the workers), this one (options and the build).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from itertools import islice
from pathlib import Path
from typing import Any, Literal

from codequarry import options
from codequarry.builders._io import check_out_apart
from codequarry.builders._repos_extract import SOURCE, Settings, process_batch
from codequarry.builders._repos_inputs import (
    Repo,
    Selection,
    batches,
    check_languages,
    iter_files,
    resolve_repo,
)
from codequarry.builders._workers import ordered_map
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

DECODE_POLICIES = ("exclude", "replace")
DEFAULT_MAX_FILE_BYTES = 1_000_000


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


def build(out: str | os.PathLike[str], *, overwrite: bool = False, created_by: str | None = None,
          **values: Any) -> dict[str, Any]:
    """Extract documented functions from folders, repositories or clone URLs into a pairs dir (``values``: the
    ``Options``); returns the manifest."""
    from codequarry.languages.functions import SCOPES
    from codequarry.pairs import PairsWriter
    from codequarry.progress import progress
    from codequarry.schema import KNOWN_EXTRA_FIELDS, check_split_name

    opts = options.from_keywords(Options, values, "source 'repos'")
    paths, languages, skip_words, exclude, scope = opts.paths, opts.languages, opts.skip_words, opts.exclude, opts.scope
    workers, max_file_bytes, min_code_tokens, limit_files = (opts.workers, opts.max_file_bytes, opts.min_code_tokens,
                                                             opts.limit_files)
    decode_errors, split, since, clone_dir = opts.decode_errors, opts.split, opts.since, opts.clone_dir
    if not paths:
        raise CodequarryError("give at least one --path (a folder, a git repository or a clone URL)")
    check_out_apart(out, {"paths": paths, "clone_dir": clone_dir})
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
    selection = Selection(languages=check_languages(languages),
                          skip_words=tuple(w.lower() for w in skip_words) if skip_words is not None else None,
                          skip=not opts.no_skip, exclude=tuple(exclude))
    settings = Settings(scope=scope, require_docstring=not opts.include_undocumented, min_code_tokens=min_code_tokens,
                        apply_blacklist=not opts.no_blacklist, skip_empty=not opts.keep_empty,
                        keep_docstring=opts.keep_docstring, since=since_ts, max_file_bytes=max_file_bytes,
                        decode_errors=decode_errors, split=split)
    params = options.params_of(opts, languages=selection.languages,
                               skip_words=skip_words if skip_words is not None else "csn")
    temp = None
    clone_root = Path(clone_dir) if clone_dir is not None else None
    if clone_root is None and any(_is_url(str(p)) for p in paths):
        temp = tempfile.TemporaryDirectory(prefix="codequarry-clones-")
        clone_root = Path(temp.name)
    try:
        repos = [resolve_repo(str(p), clone_root=clone_root, depth=None if since_ts is not None else opts.depth or None)
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
    skip_words: tuple[str, ...] | None = option(None, nargs="*", metavar="WORD",
                                                help="skip files whose lower-cased path contains one of these "
                                                     "(default: CodeSearchNet's per-language words: test; tests for "
                                                     "java/php; vendor for go/ruby; node_modules for js)")
    no_skip: bool = option(False, help="do not skip any path (turns skip words off)")
    exclude: tuple[str, ...] = option((), repeat=True, metavar="GLOB",
                                      help="leave out files whose path or name matches this glob (counted in the "
                                           "manifest); repeatable")
    scope: Literal["csn", "all"] = option("csn", help="csn: the definitions CodeSearchNet takes per language "
                                                      "(default); all: every function and method at any depth")
    keep_docstring: bool = option(False, help="keep the docstring inside `code` (default: removed, so that no query is "
                                              "found verbatim in its own code; the full function is kept in "
                                              "meta.original_string)")
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
    workers: int = option(1, record=False, help="worker processes parsing files (output is identical for any N; default 1)")
    max_file_bytes: int = option(DEFAULT_MAX_FILE_BYTES, help="exclude bigger files, e.g. minified bundles")
    decode_errors: str = option("exclude", choices=DECODE_POLICIES,
                                help="files that are not valid UTF-8: exclude them (default, as CodeSearchNet) or "
                                     "replace bad bytes with U+FFFD")
    split: str = option("train", help="split name for every row (default train; `clean` re-splits)")
    clone_dir: str | None = option(None, metavar="DIR", record=False,
                                   help="where clone URLs are cloned and kept (an existing clone is reused); default: "
                                        "a temporary folder removed after the build")
    depth: int = option(1, help="clone depth for URLs (default 1; 0 = full history)")
    limit_files: int | None = option(None, help="stop after the first N candidate files, in listing order (for quick "
                                                "trials)")
