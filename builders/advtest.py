"""CodeXGLUE NL-code-search-Adv (AdvTest): CodeSearchNet Python, filtered, with normalized names in dev/test.

Files ``train.jsonl``, ``valid.jsonl``, ``test.jsonl`` (from CodeXGLUE's ``dataset.zip``, plain or
gzipped, or that zip itself) hold one object per line with ``url`` (identifies the query), ``idx``
(identifies the code, one running integer over all splits), ``docstring_tokens`` and either
``code_tokens`` (train: CodeSearchNet jsonl records) or ``function_tokens`` (dev/test:
dedupe-definition records whose function name is ``Func`` and arguments ``arg_i``), plus the
original fields. As CodeXGLUE's runner does: ``code_tokens`` = ``code_tokens`` else
``function_tokens``; ``query`` = ``" ".join(docstring_tokens)`` (the docstring summary when no
tokens are given). ``code`` = ``original_string`` / ``function`` / ``code``, whichever exists.

Rows: split from the file name (train/valid/test; dev and validation → valid), id
``make_id("advtest", idx)`` (idx is unique across splits), ``url`` as given; ``meta`` holds ``idx``
and every original field that has no column (docstring, parameters, score …; a second code field
equal to ``code`` is not repeated).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codequarry import options
from codequarry.builders._io import Bad, Input, as_paths, discover
from codequarry.builders._sink import Sink, base_row
from codequarry.builders._text import docstring_summary, normalize_language, parse_csn_url
from codequarry.citations import bibtex
from codequarry.errors import CodequarryError
from codequarry.options import option
from codequarry.pairs import SourceInfo
from codequarry.releases.codexglue import advtest_split, iter_advtest
from codequarry.releases.files import not_read
from codequarry.schema import make_id

INFO = SourceInfo(
    name="advtest",
    url="https://github.com/microsoft/CodeXGLUE/tree/main/Text-Code/NL-code-search-Adv",
    homepage="https://microsoft.github.io/CodeXGLUE/",
    license="C-UDA-1.0",
    revision="ac74a62",
    description="CodeXGLUE AdvTest: CodeSearchNet Python pairs, filtered, with normalized identifiers in dev/test.",
    citation=bibtex("codexglue"),
)

_CODE_KEYS = ("original_string", "function", "code")
_COLUMNS = {"url", "idx", "docstring_tokens", "code_tokens", "function_tokens", "repo", "nwo", "path", "func_name",
            "identifier", "sha", "language"}


def _accept(name: str) -> bool:
    return advtest_split(name.rsplit("/", 1)[-1]) is not None


@dataclass(frozen=True)
class Options:
    """The options of ``codequarry build advtest`` (and of ``build``)."""

    path: tuple[str, ...] = option(required=True, metavar="PATH",
                                   help="train/valid/test.jsonl files (or .jsonl.gz), a folder holding them, or dataset.zip")


def _split_of(inp: Input) -> str:
    split = advtest_split(inp.stem_name)
    if split is None:
        raise CodequarryError(f"{inp.name}: cannot tell the split; AdvTest files are train.jsonl, valid.jsonl, test.jsonl")
    return split


def build(out: str | Path, *, overwrite: bool = False, created_by: str | None = None, **values: Any) -> dict[str, Any]:
    """Build AdvTest train/valid/test pairs into ``out`` (``values``: the ``Options``); returns the manifest."""
    opts = options.from_keywords(Options, values, "source 'advtest'")
    paths = as_paths(opts.path)
    inputs, problems = discover(paths, accept=_accept)
    if not inputs:
        raise CodequarryError(f"no AdvTest files (train/valid/test.jsonl) found under {', '.join(map(str, paths))}"
                              f"{not_read(problems)}")
    params = options.params_of(opts, path=paths)
    with Sink(out, source=INFO, params=params, overwrite=overwrite, created_by=created_by) as sink:
        for item in problems:
            sink.bad(item)
        for inp in inputs:
            split = _split_of(inp)
            sink.note_input(inp, kind=split)
            for item in iter_advtest(inp):
                if isinstance(item, Bad):
                    sink.bad(item, split=split)
                    continue
                where, rec = item
                result = _row(rec, where)
                if isinstance(result, Bad):
                    sink.bad(result, split=split)
                else:
                    sink.add(result, split)
        return sink.close()


def _str_or_none(rec: dict[str, Any], *keys: str) -> str | None | Bad:
    for k in keys:
        v = rec.get(k)
        if v is None:
            continue
        if not isinstance(v, str):
            return Bad("wrong_type", "", f"{k} must be a string, got {type(v).__name__}")
        return v
    return None


def _row(rec: dict[str, Any], where: str) -> dict[str, Any] | Bad:
    """The row of one line already checked by ``releases.codexglue.check_advtest``."""
    idx = rec.get("idx", rec.get("id"))
    code_key = next((k for k in _CODE_KEYS if rec.get(k) is not None), None)
    if code_key is None:
        return Bad("missing_field", where, "no original_string, function or code", repr(rec)[:2000])
    fields: dict[str, Any] = {}
    for name, keys in (("code", (code_key,)), ("url", ("url",)), ("repo", ("repo", "nwo")), ("path", ("path",)),
                       ("func_name", ("func_name", "identifier")), ("sha", ("sha",)), ("language", ("language",)),
                       ("docstring", ("docstring",)), ("summary", ("docstring_summary",))):
        value = _str_or_none(rec, *keys)
        if isinstance(value, Bad):
            return Bad(value.reason, where, value.detail)
        fields[name] = value
    tokens: dict[str, list[str] | None] = {}
    for name, keys in (("query_tokens", ("docstring_tokens",)), ("code_tokens", ("code_tokens", "function_tokens"))):
        key = next((k for k in keys if rec.get(k) is not None), None)
        value = rec.get(key) if key else None
        if value is not None and (not isinstance(value, list) or not all(isinstance(t, str) for t in value)):
            return Bad("wrong_type", where, f"{key} must be a list of strings")
        tokens[name] = value
    qt = tokens["query_tokens"]
    query = " ".join(qt) if qt else (fields["summary"] or docstring_summary(fields["docstring"]))
    parsed = parse_csn_url(fields["url"]) or {}
    code = fields["code"]
    meta = {k: v for k, v in rec.items()
            if k not in _COLUMNS and k != code_key and not (k in _CODE_KEYS and v == code)}
    meta["idx"] = idx
    row = base_row(INFO.name)
    row.update(id=make_id(INFO.name, idx), query=query or None, code=fields["code"],
               language=normalize_language(fields["language"]) or "python", repo=fields["repo"] or parsed.get("repo"),
               path=fields["path"] or parsed.get("path"), func_name=fields["func_name"], url=fields["url"],
               sha=fields["sha"] or parsed.get("sha"), query_tokens=qt, code_tokens=tokens["code_tokens"], meta=meta)
    return row
