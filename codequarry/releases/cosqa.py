"""CoSQA (Huang et al., 2021) as released in CoCLR's ``data/``: file names, the item shape, the code pool.

* ``qa/cosqa-{train,dev}.json`` (and ``cosqa-all.json``, train + dev in one list): JSON lists of
  ``{idx, doc, code, code_tokens, docstring_tokens, label}``; the token fields are space-joined strings.
* ``search/cosqa-retrieval-{train-19604,dev-500,test-500}.json``: the same plus ``retrieval_idx``.
* ``search/code_idx_map.txt``: one JSON object ``{code: retrieval_idx}``, the 6,267-code pool.

Read here for ``build cosqa`` and the ``cosqa``/``cosqa-qa`` tasks; CodeXGLUE's WebQueryTest
(``codexglue``) shares the ``{idx, doc, code}`` item shape checked by ``check_item``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from codequarry.builders._io import Bad, Input
from codequarry.builders._readers import iter_json, load_json_value
from codequarry.errors import CodequarryError

POOL_FILE = "code_idx_map.txt"
QA_FILE = re.compile(r"^cosqa-(train|dev|all)\.json$")
RETRIEVAL_FILE = re.compile(r"^cosqa-retrieval-(train|dev|test)(?:-\d+)?\.json$")
IDX_SPLIT = re.compile(r"^cosqa-(train|dev|test)-\d+$")
TOKEN_FIELDS = ("code_tokens", "docstring_tokens")


def retrieval_file(split: str) -> str:
    """The released file of one retrieval split (``dev`` → ``cosqa-retrieval-dev-500.json``)."""
    return f"cosqa-retrieval-{split}-500.json" if split in ("dev", "test") else "cosqa-retrieval-train-19604.json"


def kind_of(filename: str) -> str | None:
    """``qa``, ``retrieval`` (queries or the pool) or None, from a file's base name (``.gz`` allowed)."""
    name = filename.lower().removesuffix(".gz")
    if QA_FILE.match(name):
        return "qa"
    if RETRIEVAL_FILE.match(name) or name == POOL_FILE:
        return "retrieval"
    return None


def check_item(rec: Any, where: str, *, retrieval: bool = False, labelled: bool = False) -> Bad | None:
    """Why ``rec`` is not a CoSQA/WebQuery item (``{idx, doc, code}`` strings, 0/1 ``label``), or None."""
    if not isinstance(rec, dict):
        return Bad("wrong_type", where, f"expected an object, got {type(rec).__name__}", repr(rec)[:2000])
    need = ["idx", "doc", "code"] + (["retrieval_idx"] if retrieval else []) + (["label"] if labelled else [])
    missing = [k for k in need if k not in rec]
    if missing:
        return Bad("missing_field", where, f"missing {', '.join(missing)}", repr(rec)[:2000])
    for key in ("idx", "doc", "code"):
        if not isinstance(rec[key], str):
            return Bad("wrong_type", where, f"{key} must be a string, got {rec[key]!r:.60}")
    for key in TOKEN_FIELDS:
        if rec.get(key) is not None and not isinstance(rec[key], str):
            return Bad("wrong_type", where, f"{key} must be a space-joined string, got {type(rec[key]).__name__}")
    label = rec.get("label")
    if label is not None and (isinstance(label, bool) or label not in (0, 1)):
        return Bad("bad_label", where, f"label must be 0 or 1, got {label!r:.60}")
    if retrieval:
        ridx = rec["retrieval_idx"]
        if isinstance(ridx, bool) or not isinstance(ridx, int):
            return Bad("wrong_type", where, f"retrieval_idx must be an integer, got {ridx!r:.60}")
    return None


def iter_items(inp: Input, *, retrieval: bool = False, labelled: bool = False) -> Iterator[tuple[str, dict[str, Any]] | Bad]:
    """The items of a CoSQA (or WebQuery) JSON list, each checked by ``check_item``."""
    for item in iter_json(inp):
        if isinstance(item, Bad):
            yield item
            continue
        where, rec = item
        problem = check_item(rec, where, retrieval=retrieval, labelled=labelled)
        yield problem if problem is not None else (where, rec)


def iter_pool(inp: Input) -> Iterator[tuple[str, str, int] | Bad]:
    """(locator, code, retrieval_idx) per entry of ``code_idx_map.txt``; a non-integer index is a ``Bad``."""
    data = load_json_value(inp)
    if not isinstance(data, dict):
        raise CodequarryError(f"{inp.name}: expected one JSON object {{code: retrieval_idx}}, got {type(data).__name__}")
    for n, (code, idx) in enumerate(data.items()):
        where = f"{inp.name}#{n}"
        if isinstance(idx, bool) or not isinstance(idx, int):
            yield Bad("wrong_type", where, f"retrieval_idx must be an integer, got {idx!r:.60}", str(code)[:2000])
            continue
        yield where, code, idx
