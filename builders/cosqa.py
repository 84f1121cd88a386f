"""CoSQA: 20,604 Bing web queries paired with CodeSearchNet Python functions, labelled 0/1 (Huang et al., 2021).

Two kinds of files, each built into its own pairs dir (``--kind``):

* ``qa`` — ``cosqa-{train,dev,all}.json``: JSON lists of ``{idx, doc, code, code_tokens,
  docstring_tokens, label}``; the token fields are *space-joined strings* and are split on spaces
  (empty tokens from doubled spaces dropped). Every pair is a row with its 0/1 ``label``. The split
  comes from the file name (train → train, dev → valid); ``cosqa-all.json`` (train + dev in one
  list) is split by each item's ``idx`` prefix (``cosqa-train-N`` / ``cosqa-dev-N``), so it gives
  the same rows as the two separate files.
* ``retrieval`` — ``cosqa-retrieval-{train-19604,dev-500,test-500}.json`` (the same fields plus
  ``retrieval_idx``) and ``code_idx_map.txt`` (one JSON object ``{code: retrieval_idx}``, 6,267 codes).
  Queries go to splits train/valid/test by file name (their ``idx`` values come from both CoSQA
  train and dev, so the ``idx`` prefix says nothing about the retrieval split), with
  ``retrieval_idx`` in ``meta``; the pool goes to split
  ``corpus``, one row per code with ``query`` null and ``meta.retrieval_idx``, so a benchmark reads
  qrels as query ``meta.retrieval_idx`` → corpus row with the same ``meta.retrieval_idx``. A query
  whose ``retrieval_idx`` is not in the pool (when the pool is built with it) is excluded
  (``retrieval_idx_not_in_pool``); pool entries with a repeated index are ``duplicate_id``.

Row ids are ``make_id("cosqa", idx)`` for pairs (the same pair has the same id in a qa and a
retrieval build) and ``make_id("cosqa", "pool", retrieval_idx)`` for pool rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codequarry import options
from codequarry.builders._io import Bad, Input, as_paths, discover
from codequarry.builders._sink import Sink, base_row
from codequarry.builders._text import space_tokens
from codequarry.citations import bibtex
from codequarry.errors import CodequarryError
from codequarry.options import option
from codequarry.pairs import SourceInfo
from codequarry.releases.cosqa import (
    IDX_SPLIT,
    POOL_FILE,
    QA_FILE,
    RETRIEVAL_FILE,
    iter_items,
    iter_pool,
    kind_of,
)
from codequarry.releases.files import not_read
from codequarry.schema import make_id

INFO = SourceInfo(
    name="cosqa",
    url="https://github.com/Jun-jie-Huang/CoCLR",
    homepage="https://github.com/microsoft/CodeXGLUE/tree/main/Text-Code/NL-code-search-WebQuery",
    license="C-UDA-1.0",
    revision="14ebcac",
    description="CoSQA: web queries paired with Python functions, 0/1 labelled QA pairs and a 6,267-code retrieval pool.",
    citation=bibtex("cosqa"),
)

_SPLITS = {"train": "train", "dev": "valid", "test": "test"}
KINDS = ("auto", "qa", "retrieval")


def _kind_of(inp: Input) -> str | None:
    return kind_of(inp.stem_name)


def _accept(name: str) -> bool:
    return kind_of(name.rsplit("/", 1)[-1]) is not None


def _split_for(idx: Any, inp: Input) -> str:
    """The file's split; for ``cosqa-all.json`` (train + dev in one list) the split named in ``idx``."""
    name = inp.stem_name.lower()
    m = QA_FILE.match(name) or RETRIEVAL_FILE.match(name)
    split = m[1] if m else "train"
    if split == "all":
        hit = IDX_SPLIT.match(idx) if isinstance(idx, str) else None
        split = hit[1] if hit else "train"
    return _SPLITS[split]


@dataclass(frozen=True)
class Options:
    """The options of ``codequarry build cosqa`` (and of ``build``)."""

    path: tuple[str, ...] = option(required=True, metavar="PATH",
                                   help="CoSQA files or folders: cosqa-{train,dev,all}.json, cosqa-retrieval-*.json, "
                                        "code_idx_map.txt")
    kind: str = option(
        "auto", choices=KINDS, help="qa: labelled pairs; retrieval: queries + the code pool (split 'corpus'); auto: whichever the "
                     "files are (default)")


def build(out: str | Path, *, overwrite: bool = False, created_by: str | None = None, **values: Any) -> dict[str, Any]:
    """Build CoSQA QA pairs or retrieval queries + pool into the pairs dir ``out`` (``values``: the ``Options``);
    returns the manifest."""
    opts = options.from_keywords(Options, values, "source 'cosqa'")
    path, kind = opts.path, opts.kind
    if kind not in KINDS:
        raise CodequarryError(f"--kind must be {', '.join(KINDS[:-1])} or {KINDS[-1]}, not {kind!r}")
    inputs, problems = discover(as_paths(path), accept=_accept)
    by_kind: dict[str, list[Input]] = {"qa": [], "retrieval": []}
    for inp in inputs:
        k = _kind_of(inp)
        if k is None:
            raise CodequarryError(f"{inp.name}: not a CoSQA file (expected cosqa-{{train,dev,all}}.json, "
                                  "cosqa-retrieval-{train,dev,test}-N.json or code_idx_map.txt)")
        by_kind[k].append(inp)
    if kind == "auto":
        present = [k for k, v in by_kind.items() if v]
        if not present:
            raise CodequarryError(f"no CoSQA files found under {', '.join(map(str, as_paths(path)))}"
                                  f"{not_read(problems)}")
        if len(present) > 1:
            raise CodequarryError("the paths hold both QA files (cosqa-*.json) and retrieval files "
                                  "(cosqa-retrieval-*.json, code_idx_map.txt); choose --kind qa or --kind retrieval "
                                  "(each builds its own pairs dir)")
        kind = present[0]
    chosen = by_kind[kind]
    other = sum(len(v) for k, v in by_kind.items() if k != kind)
    if not chosen:
        raise CodequarryError(f"no CoSQA {kind} files found under {', '.join(map(str, as_paths(path)))}"
                              f"{not_read(problems)}")
    params = options.params_of(opts, path=as_paths(path), kind=kind)
    with Sink(out, source=INFO, params=params, overwrite=overwrite, created_by=created_by) as sink:
        for item in problems:
            sink.bad(item)
        if other:
            sink.note("ignored_files", {"reason": f"not {kind} files (--kind {kind})", "count": other})
        pool_ids: set[int] | None = None
        pools = [i for i in chosen if i.stem_name.lower() == POOL_FILE]
        for inp in pools:
            sink.note_input(inp, kind="pool")
            pool_ids = (pool_ids or set()) | _read_pool(inp, sink)
        for inp in chosen:
            if inp in pools:
                continue
            sink.note_input(inp, kind=kind)
            _read_pairs(inp, sink, retrieval=kind == "retrieval", pool_ids=pool_ids)
        return sink.close()


def _read_pool(inp: Input, sink: Sink) -> set[int]:
    seen: set[int] = set()
    for item in iter_pool(inp):
        if isinstance(item, Bad):
            sink.bad(item, split="corpus")
            continue
        _, code, idx = item
        row = base_row(INFO.name)
        row.update(id=make_id(INFO.name, "pool", idx), code=code, language="python", meta={"retrieval_idx": idx})
        if sink.add(row, "corpus"):
            seen.add(idx)
    return seen


def _read_pairs(inp: Input, sink: Sink, *, retrieval: bool, pool_ids: set[int] | None) -> None:
    for item in iter_items(inp, retrieval=retrieval):
        if isinstance(item, Bad):
            sink.bad(item)
            continue
        where, rec = item
        row, split = _pair_row(rec, inp, retrieval)
        if retrieval and pool_ids is not None and row["meta"]["retrieval_idx"] not in pool_ids:
            sink.exclude("retrieval_idx_not_in_pool", locator=where, row=row, split=split,
                         detail=f"retrieval_idx {row['meta']['retrieval_idx']} is not an index of the code pool")
            continue
        sink.add(row, split)


def _pair_row(rec: dict[str, Any], inp: Input, retrieval: bool) -> tuple[dict[str, Any], str]:
    """The row of one item already checked by ``releases.cosqa.check_item``, and its split."""
    label = rec.get("label")
    meta: dict[str, Any] = {"idx": rec["idx"]}
    if retrieval:
        meta["retrieval_idx"] = rec["retrieval_idx"]
    extra = {k: v for k, v in rec.items() if k not in ("idx", "doc", "code", "code_tokens", "docstring_tokens",
                                                        "label", "retrieval_idx")}
    meta.update(extra)
    row = base_row(INFO.name)
    row.update(id=make_id(INFO.name, rec["idx"]), query=rec["doc"], code=rec["code"], language="python",
               label=label, query_tokens=space_tokens(rec.get("docstring_tokens")),
               code_tokens=space_tokens(rec.get("code_tokens")), meta=meta)
    return row, _split_for(rec["idx"], inp)
