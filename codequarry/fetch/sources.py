"""The ``data`` block of a task in ``tasks.yaml``: where its files come from, pinned, and what they must hold.

A task's ``data`` is a list of sources; each source fills one ``--data`` input of the task:

.. code-block:: yaml

    data:
      - kind: http                      # a file at a URL, pinned by sha256
        url: https://host/path/{language}.zip
        sha256: {python: "…"}           # a hex digest, a {language: digest} map, or omitted: recorded on
                                        # the first download into the cache and verified on every use after
        size: 940909997                 # optional, bytes (or a {language: bytes} map)
        rows: 500                       # optional row count (JSON list/object, JSON Lines, text lines)
        input: ""                       # "" = the unnamed --data (default); NAME = --data NAME=…
        give: folder                    # for input "": pass the file's folder (default) or the file itself
        path: some/where/file.txt       # optional place in the cache (default: derived from the URL)
      - kind: hub                       # a Hugging Face Hub dataset repo at a pinned commit
        repo_id: google/code_x_glue_tc_nl_code_search_adv
        revision: 0123…(40 hex digits)  # a commit, never a branch: the rows must not change under us (omitted:
                                        # the commit of ``main`` is recorded on first download and used after)
        files: ["data/test-*.parquet"]  # optional allow_patterns (default: the whole repo)
        rows: {test: 19210}             # optional: rows per split in the Parquet files named {split}-*.parquet
      - kind: manual                    # no stable public source: say exactly how to obtain it
        instructions: "…"

``{language}`` in any string is replaced by the task's language. Validation happens when the block is
parsed (``parse_sources``), so a typo in ``tasks.yaml`` is an error naming the task and the field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from codequarry.errors import CodequarryError

KINDS = ("http", "hub", "manual")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_INPUT = re.compile(r"^(|[a-z][a-z0-9_-]*)$")
_FIELDS = {
    "http": {"kind", "url", "sha256", "size", "rows", "input", "give", "path"},
    "hub": {"kind", "repo_id", "revision", "files", "rows", "input"},
    "manual": {"kind", "instructions", "input"},
}


class SourceError(CodequarryError):
    """A ``data`` block in ``tasks.yaml`` that does not follow the schema."""


@dataclass(frozen=True)
class HttpSource:
    """One file at a URL; ``sha256`` None means: record it on first download, verify it after."""

    url: str
    sha256: str | None = None
    size: int | None = None
    rows: int | None = None
    input: str = ""
    give: str = "folder"
    path: str = ""

    @property
    def cache_path(self) -> str:
        """Where the file lives under the data cache: the declared ``path`` or ``http/HOST/URL-PATH``."""
        if self.path:
            return self.path
        parts = urlsplit(self.url)
        return "/".join(["http", parts.netloc, *[p for p in parts.path.split("/") if p]])


@dataclass(frozen=True)
class HubSource:
    """A Hub dataset repo at a pinned commit (optionally only the files matching ``files``)."""

    repo_id: str
    revision: str | None = None
    files: tuple[str, ...] = ()
    rows: Mapping[str, int] | None = None
    input: str = ""


@dataclass(frozen=True)
class ManualSource:
    """Data without a stable public URL: ``instructions`` tell the user how to get it and pass it with --data."""

    instructions: str
    input: str = ""


Source = HttpSource | HubSource | ManualSource


def _pick(value: Any, language: str | None, field: str, where: str) -> Any:
    """A per-language map picks the task's language; anything else is used as is."""
    if isinstance(value, Mapping):
        if language is None or language not in value:
            raise SourceError(f"{where}: {field} is a per-language map but has no entry for {language!r}")
        return value[language]
    return value


def _text(value: Any, language: str | None) -> Any:
    if isinstance(value, str) and language is not None:
        return value.replace("{language}", language)
    return value


def _int(value: Any, field: str, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SourceError(f"{where}: {field} must be a non-negative integer, got {value!r}")
    return value


def parse_source(spec: Any, *, language: str | None = None, where: str = "tasks.yaml") -> Source:
    """One validated source from its YAML mapping (``{language}`` filled in, per-language maps resolved)."""
    if not isinstance(spec, Mapping):
        raise SourceError(f"{where}: a data source must be a mapping, got {type(spec).__name__}")
    kind = spec.get("kind")
    if kind not in KINDS:
        raise SourceError(f"{where}: data source kind must be one of {', '.join(KINDS)}, got {kind!r}")
    unknown = sorted(set(spec) - _FIELDS[kind])
    if unknown:
        raise SourceError(f"{where}: unknown field(s) {', '.join(unknown)} for a {kind} source; "
                          f"allowed: {', '.join(sorted(_FIELDS[kind]))}")
    name = spec.get("input", "")
    if not isinstance(name, str) or not _INPUT.match(name):
        raise SourceError(f"{where}: input must be '' or a lower-case input name, got {name!r}")
    if kind == "manual":
        text = spec.get("instructions")
        if not isinstance(text, str) or not text.strip():
            raise SourceError(f"{where}: a manual source needs instructions (how to obtain the data)")
        return ManualSource(instructions=" ".join(_text(text, language).split()), input=name)
    if kind == "http":
        url = _text(spec.get("url"), language)
        if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
            raise SourceError(f"{where}: an http source needs an http(s) url, got {url!r}")
        digest = _pick(spec.get("sha256"), language, "sha256", where)
        if digest is not None and (not isinstance(digest, str) or not _HEX64.match(digest)):
            raise SourceError(f"{where}: sha256 must be 64 lower-case hex digits, got {digest!r}")
        give = spec.get("give", "folder")
        if give not in ("folder", "file"):
            raise SourceError(f"{where}: give must be 'folder' or 'file', got {give!r}")
        path = _text(spec.get("path", ""), language)
        if not isinstance(path, str) or path.startswith("/") or ".." in path.split("/"):
            raise SourceError(f"{where}: path must be a relative path inside the cache, got {path!r}")
        return HttpSource(url=url, sha256=digest, size=_int(_pick(spec.get("size"), language, "size", where), "size", where),
                          rows=_int(_pick(spec.get("rows"), language, "rows", where), "rows", where),
                          input=name, give=give, path=path)
    repo_id = _text(spec.get("repo_id"), language)
    if not isinstance(repo_id, str) or repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise SourceError(f"{where}: a hub source needs repo_id 'owner/name', got {repo_id!r}")
    revision = spec.get("revision")
    if revision is not None and (not isinstance(revision, str) or not _COMMIT.match(revision)):
        raise SourceError(f"{where}: a hub source's revision must be a 40-hex-digit commit (a branch can move; "
                          f"omit it to record the current commit on first download), got {revision!r}")
    files = spec.get("files") or ()
    if isinstance(files, str):
        files = (files,)
    if not isinstance(files, Sequence) or not all(isinstance(f, str) and f for f in files):
        raise SourceError(f"{where}: files must be a list of path patterns, got {files!r}")
    rows = spec.get("rows")
    if rows is not None:
        if not isinstance(rows, Mapping):
            raise SourceError(f"{where}: rows of a hub source must map split names to counts, got {rows!r}")
        rows = {str(k): _int(v, f"rows.{k}", where) for k, v in rows.items()}
    return HubSource(repo_id=repo_id, revision=revision, files=tuple(_text(f, language) for f in files),
                     rows=rows, input=name)


def parse_sources(block: Any, *, language: str | None = None, where: str = "tasks.yaml") -> tuple[Source, ...]:
    """A task's ``data`` block (a list of sources, or one source mapping) → validated sources."""
    if block is None:
        return ()
    if isinstance(block, Mapping):
        block = [block]
    if not isinstance(block, Sequence) or isinstance(block, str):
        raise SourceError(f"{where}: data must be a list of sources, got {type(block).__name__}")
    sources = tuple(parse_source(s, language=language, where=f"{where} data[{i}]") for i, s in enumerate(block))
    primary_folders = {s.input for s in sources if isinstance(s, HttpSource) and s.give == "file"}
    names = [s.input for s in sources if not (isinstance(s, HttpSource) and s.give == "folder" and s.input == "")]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes or ("" in primary_folders and any(isinstance(s, HttpSource) and s.input == "" and s.give == "folder"
                                               for s in sources)):
        shown = ", ".join(repr(d) for d in dupes) or "''"
        raise SourceError(f"{where}: input {shown} is filled by more than one source")
    return sources


def validate_block(block: Any, languages: Sequence[str] = (), *, where: str = "tasks.yaml") -> None:
    """Check a family's ``data`` block for every language it registers (so a bad entry fails at load time)."""
    for lang in languages or [None]:
        parse_sources(block, language=lang, where=where)
