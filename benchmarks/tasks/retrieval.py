"""The retrieval protocol shared by pool-search tasks: the model ranks the corpus, trec_eval-exact metrics score it.

Also the ranked lists' other uses: extra measures on them (``--measures``) and a TREC run file (``--save-run``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from codequarry.benchmarks.tasks.base import Evaluation, Task, TaskData
from codequarry.errors import CodequarryError


def evaluate_retrieval(task: Task, data: TaskData, model: Any, *, k: int, measures: list[str] | None = None,
                       averaging: str = "qrels-relevant-missing-zero", exclude_identical: bool = False,
                       queries: list[str] | None = None) -> Evaluation:
    """Top-``k`` search over ``data.corpus`` for every query, then ``metrics.evaluate`` (missing queries score 0)."""
    from codequarry.benchmarks.metrics import evaluate

    measures = list(measures or task.measures)
    k = max(1, min(int(k), len(data.corpus))) if data.corpus else int(k)
    run = model.retrieve(data.queries, data.corpus, k, exclude_identical=exclude_identical,
                         language=task.options.get("language"), desc=task.name)
    result = evaluate(data.qrels, run, measures, queries=queries, averaging=averaging)
    return Evaluation(scores=dict(result.means), per_query={m: dict(v) for m, v in result.per_query.items()},
                      num_queries=len(result.queries), num_docs=len(data.corpus),
                      details={"k": k, "averaging": result.averaging, "ignore_identical_ids": exclude_identical,
                               "ties": "score desc, then doc id desc (trec_eval)"}, run=run)


def add_measures(task: Task, ev: Evaluation, data: TaskData, measures: Sequence[str]) -> Evaluation:
    """``ev`` plus ``measures`` computed on its ranked lists, averaged as the protocol averages its queries."""
    from codequarry.benchmarks.metrics import evaluate

    if ev.run is None:
        raise CodequarryError(f"task {task.name!r}: its evaluation kept no ranked lists to compute --measures on")
    new = [m for m in measures if m not in ev.scores]
    if not new:
        return ev
    averaging = ev.details.get("averaging") or "qrels-all-missing-zero"
    result = evaluate(data.qrels, ev.run, new, averaging=averaging)
    return replace(ev, scores={**ev.scores, **result.means},
                   per_query={**ev.per_query, **{m: dict(v) for m, v in result.per_query.items()}},
                   details={**ev.details, "extra_measures": {"measures": new, "averaging": result.averaging,
                                                             "semantics": "trec_eval (metrics.py)"}})


_WHITESPACE = re.compile(r"\s")


def write_trec_run(run: Mapping[str, Mapping[str, float]], path: str | os.PathLike[str], tag: str) -> Path:
    """Write ``run`` as TREC run lines ``qid Q0 docid rank score tag``, each query's docs in trec_eval's order
    (score descending, then doc id descending), so ``run:FILE`` or trec_eval reads back the same ranking."""
    out = Path(path)
    tag = _WHITESPACE.sub("_", tag) or "codequarry"
    lines = []
    for q in sorted(run):
        for ident in (q, *run[q]):
            if not ident or _WHITESPACE.search(ident):
                raise CodequarryError(f"--save-run: id {ident!r} is empty or holds whitespace, which a TREC run "
                                      "file cannot carry")
        docs = sorted(run[q].items(), key=lambda kv: kv[0], reverse=True)
        docs.sort(key=lambda kv: -kv[1])  # stable: equal scores keep doc id descending
        lines += [f"{q} Q0 {d} {rank} {float(score)!r} {tag}" for rank, (d, score) in enumerate(docs, start=1)]
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    tmp.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    os.replace(tmp, out)
    return out
