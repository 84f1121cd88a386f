"""CodeXGLUE WebQueryTest: 1,046 Bing queries paired with CodeSearchNet Python functions (Lu et al., 2021).

``test_webquery.json`` is a JSON list of ``{idx: "webquery-test-N", doc, code}`` with no labels
(CodeXGLUE keeps the answers private). Answer files in the evaluator's format — one
``idx<TAB>0|1`` per line — attach 0/1 ``label``s when given (``--answers``); pairs without an
answer keep ``label`` null and are counted in the manifest (``answers.unlabelled``), as are answer
lines whose idx is not in the data (``answers.unmatched``). A malformed answer line, or one idx
answered twice with different labels, is an error: wrong labels must never pass silently.

Rows: ``query`` = doc, ``code`` = code, language python, split ``test`` (or the split named in the
file name: train/dev/valid/test), id ``make_id("webquery", idx)``, ``meta.idx``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codequarry import options
from codequarry.builders._io import Bad, Input, as_paths, discover
from codequarry.builders._sink import Sink, base_row
from codequarry.citations import bibtex
from codequarry.errors import CodequarryError
from codequarry.options import option
from codequarry.pairs import SourceInfo
from codequarry.releases.codexglue import iter_answers, iter_webquery
from codequarry.releases.files import not_read, strict
from codequarry.schema import make_id

INFO = SourceInfo(
    name="webquery",
    url="https://github.com/microsoft/CodeXGLUE/tree/main/Text-Code/NL-code-search-WebQuery",
    homepage="https://microsoft.github.io/CodeXGLUE/",
    license="C-UDA-1.0",
    revision="ac74a62",
    description="CodeXGLUE WebQueryTest: 1,046 web queries paired with Python functions; labels from answer files.",
    citation=bibtex("codexglue"),
)

_SPLIT_WORD = re.compile(r"(?:^|[_\-.])(train|dev|valid|test)(?:[_\-.]|$)")


@dataclass(frozen=True)
class Options:
    """The options of ``codequarry build webquery`` (and of ``build``)."""

    path: tuple[str, ...] = option(required=True, metavar="PATH",
                                   help="test_webquery.json (JSON list of {idx, doc, code}) or a folder holding it")
    answers: tuple[str, ...] | None = option(None, metavar="FILE",
                                             help="answer files, one 'idx<TAB>0|1' per line (CodeXGLUE evaluator "
                                                  "format), to attach labels")


def read_answers(paths: Sequence[Path]) -> dict[str, int]:
    """idx → 0/1 from evaluator answer files (``releases.codexglue.iter_answers``); malformed lines and
    conflicting answers are errors."""
    answers: dict[str, int] = {}
    for path in paths:
        for where, idx, label in strict(iter_answers(Input(path.name, path))):
            if answers.get(idx, label) != label:
                raise CodequarryError(f"{where}: {idx} is answered both {answers[idx]} and {label}")
            answers[idx] = label
    return answers


def _split_of(inp: Input) -> str:
    m = _SPLIT_WORD.search(inp.stem_name.lower())
    word = m[1] if m else "test"
    return {"dev": "valid"}.get(word, word)


def build(out: str | Path, *, overwrite: bool = False, created_by: str | None = None, **values: Any) -> dict[str, Any]:
    """Build WebQueryTest pairs (labelled when answer files are given) into ``out`` (``values``: the ``Options``);
    returns the manifest."""
    opts = options.from_keywords(Options, values, "source 'webquery'")
    paths = as_paths(opts.path)
    answer_paths = as_paths(opts.answers, option="--answers")
    inputs, problems = discover(paths, accept=lambda n: n.lower().endswith((".json", ".json.gz")))
    if not inputs:
        raise CodequarryError(f"no .json files found under {', '.join(map(str, paths))}{not_read(problems)}")
    labels = read_answers(answer_paths) if answer_paths else None
    params = options.params_of(opts, path=paths, answers=answer_paths or None)
    used: set[str] = set()
    unlabelled = 0
    with Sink(out, source=INFO, params=params, overwrite=overwrite, created_by=created_by) as sink:
        for item in problems:
            sink.bad(item)
        for p in answer_paths:
            sink.note_input(p, kind="answers")
        for inp in inputs:
            sink.note_input(inp, kind="pairs")
            split = _split_of(inp)
            for item in iter_webquery(inp):
                if isinstance(item, Bad):
                    sink.bad(item, split=split)
                    continue
                _, rec = item
                result = _row(rec)
                idx = rec["idx"]
                if labels is not None:
                    if idx in labels:
                        result["label"] = labels[idx]
                        used.add(idx)
                    else:
                        unlabelled += 1
                sink.add(result, split)
        if labels is not None:
            sink.note("answers", {"lines": len(labels), "matched": len(used), "unmatched": len(set(labels) - used),
                                  "unlabelled": unlabelled})
        return sink.close()


def _row(rec: dict[str, Any]) -> dict[str, Any]:
    """The row of one item already checked by ``releases.cosqa.check_item``."""
    row = base_row(INFO.name)
    meta = {k: v for k, v in rec.items() if k not in ("doc", "code")}
    row.update(id=make_id(INFO.name, rec["idx"]), query=rec["doc"], code=rec["code"], language="python", meta=meta)
    return row
