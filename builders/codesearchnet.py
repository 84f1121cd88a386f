"""CodeSearchNet (Husain et al., 2019): 2M documented functions in six languages, and the NDCG retrieval pool.

Inputs (``--path``, any mix; folders are walked and ``{lang}.zip`` archives are read in place,
every member vetted by ``codequarry.releases.archive`` and nothing extracted to disk; the files are read by
``codequarry.releases.csn``, as the ``csn`` tasks read them):

* the release layout ``{lang}/final/jsonl/{train,valid,test}/{lang}_{split}_{k}.jsonl.gz`` (or any
  ``.jsonl``/``.jsonl.gz`` file of release records): 12 keys per record, all kept;
* ``{lang}_dedupe_definitions_v2.pkl``: the list of dicts (``nwo, sha, path, language, identifier,
  parameters, argument_list, return_statement, docstring, docstring_summary, docstring_tokens,
  function, function_tokens, url, score``) that ``predict.py`` ranks for the human-annotated NDCG
  evaluation, loaded only through the restricted unpickler, into split ``corpus``. It is one
  pickled list, so it is loaded whole (a few GB of RAM for Python);
* the Hub copy ``code_search_net`` — ``--hub`` (streamed with ``datasets``; ``--revision``) or a
  local download of its Parquet/Arrow files — whose 11 columns (``repository_name,
  func_path_in_repository, func_name, whole_func_string, language, func_code_string,
  func_code_tokens, func_documentation_string, func_documentation_tokens, split_name,
  func_code_url``) are renamed to the release keys first.

**The same record gives the same row whichever way it came in**: id ``make_id("codesearchnet",
url)`` (records without a url — CSN's schema fixtures — use their file and line instead); split =
``partition``/``split_name`` (else the file's split); ``sha`` = the record's, else the one in the
url (the Hub copy drops ``sha``); ``start_line``/``end_line`` from the url's ``#L{start}-L{end}``.

Query: CodeSearchNet's ``docstring`` is the *full* docstring while its ``docstring_tokens``
tokenize only the summary (protocols.md §1b), so ``query`` is the summary text — before the first
blank line, else before the first ``@``, else all, stripped — and ``query_tokens`` are the given
``docstring_tokens``. ``meta`` keeps ``docstring`` (full), ``partition``, ``original_string`` when it
differs from ``code`` (it equals ``code`` in the release, so it is not stored twice), and any key
beyond the 12 (the fixtures' ``comment_tokens, doc_id, hash_key, hash_val, lineno``). Corpus rows
take ``query`` from ``docstring_summary`` (null without a docstring) and keep ``parameters,
argument_list, return_statement, docstring, score`` in ``meta``.

``--languages`` and ``--splits`` select what is read; files of other languages/splits are not
opened, and records outside the selection found in mixed files are counted in ``skipped``. A
``{lang}.zip`` lying next to its extracted folder is not read twice (its members are skipped).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codequarry import options
from codequarry.builders._io import Bad, Input, as_paths, discover
from codequarry.builders._sink import Sink, base_row
from codequarry.builders._text import (
    csv_list,
    docstring_summary,
    normalize_language,
    normalize_split,
    parse_csn_url,
)
from codequarry.citations import bibtex
from codequarry.errors import CodequarryError
from codequarry.options import option
from codequarry.pairs import SourceInfo
from codequarry.releases.csn import (
    DEDUPE_FILE,
    HUB_ID,
    LANGUAGES,
    RELEASE_FILE,
    RELEASE_KEYS,
    check_record,
    iter_dedupe,
    iter_release,
    to_release,
)
from codequarry.releases.files import not_read
from codequarry.schema import KNOWN_EXTRA_FIELDS, make_id

INFO = SourceInfo(
    name="codesearchnet",
    url="https://github.com/github/CodeSearchNet",
    homepage="https://github.com/github/CodeSearchNet",
    license="other",
    revision="v2",
    description="CodeSearchNet: documented functions in Go, Java, JavaScript, PHP, Python, Ruby (code under each repo's own license).",
    citation=bibtex("codesearchnet"),
)

SPLITS = ("train", "valid", "test", "corpus")
_CORPUS_COLUMNS = {"nwo", "sha", "path", "language", "identifier", "docstring_summary", "docstring_tokens", "function",
                   "function_tokens", "url"}
_SPLIT_DIR = re.compile(r"(?:^|/)(?:partial-)?(train|valid|validation|test)(?:[-_/.]|$)")
_TEXT_KEYS = ("repo", "path", "func_name", "original_string", "language", "code", "docstring", "sha", "url", "partition")
_EXTRA = [KNOWN_EXTRA_FIELDS["start_line"], KNOWN_EXTRA_FIELDS["end_line"]]


def _base(name: str) -> str:
    return name.rsplit("/", 1)[-1].rsplit("!", 1)[-1]


def _accept(name: str) -> bool:
    base = _base(name).lower()
    return bool(DEDUPE_FILE.search(base)) or base.endswith((".jsonl", ".jsonl.gz", ".parquet", ".arrow"))


@dataclass(frozen=True)
class Options:
    """The options of ``codequarry build codesearchnet`` (and of ``build``)."""

    path: tuple[str, ...] | None = option(None, metavar="PATH",
                                          help="release folders ({lang}/final/jsonl/...), {lang}.zip archives, "
                                               ".jsonl(.gz) files, {lang}_dedupe_definitions_v2.pkl, or a local "
                                               "Parquet/Arrow download of the Hub copy")
    hub: str | None = option(None, nargs="?", const=HUB_ID, metavar="ID",
                             help=f"stream the Hub copy instead of local files (default id: {HUB_ID})")
    revision: str | None = option(None, help="Hub revision for --hub (branch, tag or commit sha)")
    languages: tuple[str, ...] | None = option(None, metavar="LANG",
                                               help=f"languages to read (default: all found; known: "
                                                    f"{', '.join(LANGUAGES)})")
    splits: tuple[str, ...] | None = option(None, metavar="SPLIT",
                                            help=f"splits to read: {', '.join(SPLITS)} (corpus: the "
                                                 "dedupe-definitions pool); default: all found")


def build(out: str | Path, *, loader: Any = None, overwrite: bool = False, created_by: str | None = None,
          **values: Any) -> dict[str, Any]:
    """Build CodeSearchNet rows from release files, dedupe pickles, a Hub download or the Hub (``values``: the
    ``Options``; ``loader``: a stand-in for ``datasets.load_dataset``, library only); returns the manifest."""
    opts = options.from_keywords(Options, values, "source 'codesearchnet'")
    hub, revision = opts.hub, opts.revision
    langs = [normalize_language(x) for x in csv_list(opts.languages) or []] or None
    split_sel = [normalize_split(x) for x in csv_list(opts.splits) or []] or None
    for s in split_sel or []:
        if s not in SPLITS:
            raise CodequarryError(f"--splits: unknown split {s!r}; choose from {', '.join(SPLITS)}")
    paths = as_paths(opts.path)
    if not paths and not hub:
        raise CodequarryError("give --path (local release files, zips, pickles or a Hub download) or --hub")
    if paths and hub:
        raise CodequarryError("give either --path or --hub, not both")
    source = INFO
    if hub:
        source = SourceInfo(**{**INFO.to_dict(), "url": f"https://huggingface.co/datasets/{hub}", "revision": revision})
    params = options.params_of(opts, path=paths or None, languages=langs, splits=split_sel)
    with Sink(out, source=source, params=params, overwrite=overwrite, created_by=created_by, extra_fields=_EXTRA) as sink:
        if hub:
            _read_hub(sink, hub, revision=revision, langs=langs, splits=split_sel, loader=loader)
        else:
            _read_local(sink, paths, langs=langs, splits=split_sel)
        return sink.close()


# --------------------------------------------------------------------------------------------
# inputs


def _read_local(sink: Sink, paths: list[Path], *, langs: list[str] | None, splits: list[str] | None) -> None:
    inputs, problems = discover(paths, accept=_accept)
    for item in problems:
        sink.bad(item)
    if not inputs:
        raise CodequarryError(f"no CodeSearchNet files found under {', '.join(map(str, paths))} (expected "
                              "{lang}_{split}_{k}.jsonl.gz, {lang}_dedupe_definitions_v2.pkl, {lang}.zip or Parquet/Arrow files)"
                              f"{not_read(problems)}")
    on_disk = {inp.filename for inp in inputs if inp.member is None}
    for inp in inputs:
        if inp.member is not None and inp.filename in on_disk:
            sink.skip("files_already_read_outside_archive")  # {lang}.zip next to its extracted folder
            continue
        base = inp.filename.lower()
        dedupe = DEDUPE_FILE.search(base)
        release = RELEASE_FILE.search(base)
        file_lang = (dedupe or release)["lang"] if (dedupe or release) else None
        file_split = "corpus" if dedupe else release["split"] if release else _split_from_path(inp.name)
        if langs and file_lang and file_lang not in langs:
            sink.skip("files_language_not_selected")
            continue
        if splits and file_split and file_split not in splits:
            sink.skip("files_split_not_selected")
            continue
        sink.note_input(inp, kind="corpus" if dedupe else "records")
        if dedupe:
            _read_dedupe(sink, inp, langs=langs)
            continue
        for item in iter_release(inp):
            if isinstance(item, Bad):
                sink.bad(item, split=file_split)
                continue
            where, rec = item
            _add_record(sink, rec, where, file_split=file_split, langs=langs, splits=splits)


def _split_from_path(name: str) -> str | None:
    m = _SPLIT_DIR.search(name.lower())
    return normalize_split(m[1]) if m else None


def _read_hub(sink: Sink, hub_id: str, *, revision: str | None, langs: list[str] | None, splits: list[str] | None,
              loader: Any) -> None:
    from codequarry.builders.hub import iter_stream, open_streams

    if splits and "corpus" in splits:
        raise CodequarryError("the Hub copy has no dedupe-definitions corpus; read {lang}_dedupe_definitions_v2.pkl with --path")
    for config in langs or ["all"]:
        for hub_split, stream in open_streams(hub_id, config=config, revision=revision, loader=loader):
            split = normalize_split(hub_split)
            if splits and split not in splits:
                sink.skip("hub_splits_not_selected")
                continue
            where = f"{hub_id}/{config}/{hub_split}"
            for i, rec in iter_stream(stream, where):
                _add_record(sink, rec, f"{where}#{i}", file_split=split, langs=langs, splits=splits)


# --------------------------------------------------------------------------------------------
# records


def _add_record(sink: Sink, rec: Any, where: str, *, file_split: str | None, langs: list[str] | None,
                splits: list[str] | None) -> None:
    problem = check_record(rec, where)
    if problem is not None:
        sink.bad(problem)
        return
    rec = to_release(rec)
    lang = normalize_language(rec.get("language")) if isinstance(rec.get("language"), str) else None
    part = rec.get("partition")
    split = normalize_split(part) if isinstance(part, str) and part.strip() else file_split
    if langs and lang not in langs:
        sink.skip("language_not_selected")
        return
    if splits and split not in splits:
        sink.skip("split_not_selected")
        return
    result = release_row(rec, where)
    if isinstance(result, Bad):
        sink.bad(result, split=split)
    elif split is None:
        sink.exclude("unknown_split", locator=where, detail="no partition field and no split in the file name",
                     row=result)
    else:
        sink.add(result, split)


def release_row(rec: Mapping[str, Any], where: str) -> dict[str, Any] | Bad:
    """The pairs row of one release-form record (see the module docstring)."""
    for key in _TEXT_KEYS:
        v = rec.get(key)
        if v is not None and not isinstance(v, str):
            return Bad("wrong_type", where, f"{key} must be a string, got {type(v).__name__} {v!r:.60}")
    code = rec.get("code") if rec.get("code") is not None else rec.get("original_string")
    if code is None:
        return Bad("missing_field", where, "no code or original_string", repr(rec)[:2000])
    url = rec.get("url") or None
    parsed = parse_csn_url(url) or {}
    docstring = rec.get("docstring")
    meta: dict[str, Any] = {"docstring": docstring, "partition": rec.get("partition")}
    original = rec.get("original_string")
    if original is not None and original != code:
        meta["original_string"] = original
    meta.update({k: v for k, v in rec.items() if k not in RELEASE_KEYS})
    row = base_row(INFO.name)
    row.update(
        id=make_id(INFO.name, url) if url else make_id(INFO.name, where),
        query=docstring_summary(docstring), code=code, language=normalize_language(rec.get("language")),
        repo=rec.get("repo") or parsed.get("repo"), path=rec.get("path") or parsed.get("path"),
        func_name=rec.get("func_name"), url=url, sha=rec.get("sha") or parsed.get("sha"),
        query_tokens=rec.get("docstring_tokens"), code_tokens=rec.get("code_tokens"), meta=meta,
        start_line=parsed.get("start_line"), end_line=parsed.get("end_line"),
    )
    return row


def _read_dedupe(sink: Sink, inp: Input, *, langs: list[str] | None) -> None:
    for item in iter_dedupe(inp):
        if isinstance(item, Bad):
            sink.bad(item, split="corpus")
            continue
        where, rec = item
        lang = normalize_language(rec.get("language")) if isinstance(rec.get("language"), str) else None
        if langs and lang not in langs:
            sink.skip("language_not_selected")
            continue
        result = corpus_row(rec, where)
        if isinstance(result, Bad):
            sink.bad(result, split="corpus")
        else:
            sink.add(result, "corpus")


def corpus_row(rec: Mapping[str, Any], where: str) -> dict[str, Any] | Bad:
    """The ``corpus`` row of one dedupe-definitions record."""
    for key in ("nwo", "sha", "path", "language", "identifier", "docstring", "docstring_summary", "function", "url"):
        v = rec.get(key)
        if v is not None and not isinstance(v, str):
            return Bad("wrong_type", where, f"{key} must be a string, got {type(v).__name__} {v!r:.60}")
    if rec.get("function") is None:
        return Bad("missing_field", where, "no function", repr(rec)[:2000])
    url = rec.get("url") or None
    parsed = parse_csn_url(url) or {}
    summary = rec.get("docstring_summary")
    query = summary.strip() if isinstance(summary, str) and summary.strip() else docstring_summary(rec.get("docstring"))
    meta = {k: v for k, v in rec.items() if k not in _CORPUS_COLUMNS}
    row = base_row(INFO.name)
    row.update(
        id=make_id(INFO.name, "corpus", url or where), query=query, code=rec["function"],
        language=normalize_language(rec.get("language")), repo=rec.get("nwo") or parsed.get("repo"),
        path=rec.get("path") or parsed.get("path"), func_name=rec.get("identifier"), url=url,
        sha=rec.get("sha") or parsed.get("sha"), query_tokens=rec.get("docstring_tokens") if query else None,
        code_tokens=rec.get("function_tokens"), meta=meta,
        start_line=parsed.get("start_line"), end_line=parsed.get("end_line"),
    )
    return row
