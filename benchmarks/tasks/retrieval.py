"""The retrieval protocol shared by pool-search tasks: the model ranks the corpus, trec_eval-exact metrics score it."""

from __future__ import annotations

from typing import Any

from codequarry.benchmarks.tasks.base import Evaluation, Task, TaskData


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
                               "ties": "score desc, then doc id desc (trec_eval)"})
