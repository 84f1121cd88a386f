"""CodeSearchNet (Husain et al., 2019) as released: what its files are called and what their records hold.

Three forms, read here for both ``build codesearchnet`` and the ``csn``/``csn-ndcg`` tasks:

* the release: ``{lang}.zip`` from the S3 bucket holding
  ``{lang}/final/jsonl/{train,valid,test}/{lang}_{split}_{k}.jsonl.gz`` (12 keys per record, see
  ``RELEASE_KEYS``); members are read in place through ``archive`` (vetted, never extracted);
* ``{lang}_dedupe_definitions_v2.pkl``: one pickled list of dicts (the NDCG retrieval pool), read
  only through the restricted, budgeted unpickler (``pickles``);
* the Hub copy ``code-search-net/code_search_net``: 11 columns, renamed to the release keys by
  ``to_release`` (``HUB_KEYS``).

Every record must be a JSON object / dict whose keys are strings (a pickled dict with tuple or
mixed int/str keys is a ``wrong_type`` item, not a ``TypeError`` later).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from codequarry.builders._io import Bad, Input, discover
from codequarry.builders._readers import iter_records
from codequarry.errors import CodequarryError
from codequarry.releases.pickles import safe_load

LANGUAGES = ("go", "java", "javascript", "php", "python", "ruby")
HUB_ID = "code-search-net/code_search_net"
RELEASE_KEYS = ("repo", "path", "func_name", "original_string", "language", "code", "code_tokens", "docstring",
                "docstring_tokens", "sha", "url", "partition")
HUB_KEYS = {"repository_name": "repo", "func_path_in_repository": "path", "func_name": "func_name",
            "whole_func_string": "original_string", "language": "language", "func_code_string": "code",
            "func_code_tokens": "code_tokens", "func_documentation_string": "docstring",
            "func_documentation_tokens": "docstring_tokens", "split_name": "partition", "func_code_url": "url"}
RELEASE_FILE = re.compile(r"(?P<lang>[a-z_]+?)_(?P<split>train|valid|test)_(?P<k>\d+)\.jsonl(?:\.gz)?$")
DEDUPE_FILE = re.compile(r"(?P<lang>[a-z_]+?)_dedupe_definitions_v2\.pkl$")
_RECORD_SUFFIXES = (".jsonl", ".jsonl.gz")


def to_release(rec: Mapping[str, Any]) -> dict[str, Any]:
    """A Hub-form record (``repository_name`` …) renamed to the release keys; release records unchanged."""
    if "func_code_string" in rec or "repository_name" in rec:
        return {HUB_KEYS.get(k, k): v for k, v in rec.items()}
    return dict(rec)


def check_record(rec: Any, where: str, *, kind: str = "an object") -> Bad | None:
    """Why ``rec`` is not a record (not a mapping, or a key that is not a string), or None."""
    if not isinstance(rec, Mapping):
        return Bad("wrong_type", where, f"expected {kind}, got {type(rec).__name__}", repr(rec)[:2000])
    odd = next((k for k in rec if not isinstance(k, str)), None)
    if odd is not None:
        return Bad("wrong_type", where, f"record keys must be strings, got {type(odd).__name__} {odd!r:.60}")
    return None


def iter_release(inp: Input, fmt: str | None = None) -> Iterator[tuple[str, dict[str, Any]] | Bad]:
    """Records of one release file (jsonl/jsonl.gz, or Parquet/Arrow of the Hub copy), checked by ``check_record``."""
    for item in iter_records(inp, fmt):
        if isinstance(item, Bad):
            yield item
            continue
        where, rec = item
        problem = check_record(rec, where)
        yield problem if problem is not None else (where, dict(rec))


def iter_dedupe(inp: Input) -> Iterator[tuple[str, dict[str, Any]] | Bad]:
    """Records of a ``{lang}_dedupe_definitions_v2.pkl``: a pickled list of dicts (loaded whole, released as read)."""
    with inp.open() as fh:
        data = safe_load(fh, where=inp.name)
    if not isinstance(data, list):
        raise CodequarryError(f"{inp.name}: expected a pickled list of dicts, got {type(data).__name__}")
    for i, rec in enumerate(_drain(data)):
        where = f"{inp.name}[{i}]"
        problem = check_record(rec, where, kind="a dict")
        yield problem if problem is not None else (where, rec)


def _drain(items: list[Any]) -> Iterator[Any]:
    """Yield and release list items front to back, so rows already written can be freed."""
    chunk = 10_000
    while items:
        head = items[:chunk]
        del items[:chunk]
        yield from head


# --------------------------------------------------------------------------------------------
# one language's split, as the tasks read it


def split_files(path: Path, language: str, split: str) -> tuple[list[Input], list[Bad]]:
    """The ``{language}_{split}_*.jsonl[.gz]`` files under ``path``, sorted by base name, and unreadable members.

    ``path`` is one such file, a folder holding them anywhere below (else a ``{language}.zip`` below
    it), or the zip itself; CSN's ``get_dataset_from`` concatenates files in sorted name order too.
    """
    prefix = f"{language}_{split}_"

    def wanted(name: str) -> bool:
        base = name.rsplit("/", 1)[-1]
        return base.startswith(prefix) and base.endswith(_RECORD_SUFFIXES)

    found: list[Input] = []
    bad: list[Bad] = []
    if path.is_file() and path.suffix == ".zip":
        found, bad = _named(discover([path], accept=wanted), path.parent)
    elif path.is_file():
        found = [Input(str(path), path)]
    else:
        found, bad = _named(discover([path], accept=wanted, archives=False), path)
        if not found and not bad:
            for z in sorted(path.rglob(f"{language}.zip")):
                more, problems = _named(discover([z], accept=wanted), z.parent)
                found += more
                bad += problems
    found.sort(key=lambda inp: inp.filename)
    return found, bad


def _named(result: tuple[list[Input], list[Bad]], root: Path) -> tuple[list[Input], list[Bad]]:
    """Inputs renamed to full paths (``/dir/python.zip!member``), the names task results have always listed."""
    inputs, bad = result
    named = [Input(str(root / inp.name) if inp.member is None else f"{inp.path}!{inp.member}", inp.path, inp.member)
             for inp in inputs]
    return named, [Bad(b.reason, str(root / b.locator), b.detail, b.raw) for b in bad]
