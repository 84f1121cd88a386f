"""``webquery`` and ``cosqa-qa``: does this code answer this query? Accuracy (and P/R/F1) of 0/1 decisions.

Data: CoSQA ``cosqa-dev.json`` (a JSON list of ``{idx, doc, code, code_tokens, docstring_tokens, label}``) for
``cosqa-qa``; CodeXGLUE ``test_webquery.json`` (``{idx, doc, code}``, no labels) plus an answers file
(``idx<TAB>0|1`` per line, the evaluator's format) for ``webquery``. Texts are the raw ``doc`` and ``code``.

Decision rule, by kind of model:

* a predictions file (``run:predictions.txt``, ``idx<TAB>0|1``) is scored as is, like CodeXGLUE's
  ``evaluator.py`` (an answer idx without a prediction is an error);
* a model whose ``score_pairs`` returns probabilities (``py:`` models by default): 1 when score >= 0.5;
* a similarity model (bi-encoders: cosine or dot of the two embeddings; ``bm25``): 1 when score >=
  a threshold chosen to maximise accuracy on a labelled dev split — for ``webquery`` CoSQA's dev file
  (``--data dev=cosqa-dev.json``, the CodeXGLUE setting); when the evaluated split is the only labelled
  data (``cosqa-qa``), two-fold cross-fitting: pairs are split by the parity of their position in
  idx order, and each half is decided by the threshold chosen on the other half.

``--model-arg threshold=X`` fixes the threshold for any scoring model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from codequarry.benchmarks.protocols import best_threshold, classification_scores
from codequarry.benchmarks.tasks.base import (
    Evaluation,
    Inputs,
    MissingTaskData,
    Task,
    TaskData,
    make_task_data,
)
from codequarry.errors import CodequarryError
from codequarry.releases.codexglue import iter_answers, iter_webquery
from codequarry.releases.files import input_of, strict

PROBABILITY_THRESHOLD = 0.5


def read_pairs(path: Path, *, labelled: bool) -> list[dict[str, Any]]:
    """Items of a CoSQA/WebQuery JSON list (``releases.codexglue``, as the builders read them); repeats are errors."""
    items: list[dict[str, Any]] = []
    seen: set[str] = set()
    for where, item in strict(iter_webquery(input_of(path), labelled=labelled)):
        if item["idx"] in seen:
            raise CodequarryError(f"{where}: idx {item['idx']!r} appears twice")
        seen.add(item["idx"])
        items.append(item)
    return items


def read_labels(path: Path) -> dict[str, int]:
    """An evaluator answers/predictions file: ``idx<TAB>0|1`` per line (``releases.codexglue.iter_answers``)."""
    out: dict[str, int] = {}
    for where, idx, label in strict(iter_answers(input_of(path))):
        if idx in out:
            raise CodequarryError(f"{where}: idx {idx!r} appears twice")
        out[idx] = label
    if not out:
        raise CodequarryError(f"{path}: no 'idx<TAB>label' lines")
    return out


def load(task: Task, inputs: Inputs, split: str) -> TaskData:
    kind = task.options["dataset"]
    if kind == "cosqa":
        inputs.check_names(task, ("pairs",))
        path = inputs.find("pairs", "cosqa-dev.json", required=False)
        if path is None and inputs.primary is not None and inputs.primary.is_file():
            path = inputs.primary
        if path is None:
            raise MissingTaskData(f"task 'cosqa-qa': cosqa-dev.json not found. {task.data_source}")
        items = read_pairs(path, labelled=True)
        labels = {str(i["idx"]): int(i["label"]) for i in items}
        texts = {str(i["idx"]): (str(i["doc"]), str(i["code"])) for i in items}
        files, dev = [str(path)], None
    else:
        inputs.check_names(task, ("test", "answers", "dev"))
        test_path = inputs.find("test", "test_webquery.json")
        if test_path is None and inputs.primary is not None and inputs.primary.is_file() and inputs.primary.suffix == ".json":
            test_path = inputs.primary
        answers_path = inputs.named("answers")
        if answers_path is None:
            raise MissingTaskData("task 'webquery' needs the labels: --data answers=FILE (idx<TAB>0|1 per line; CodeXGLUE "
                                  f"keeps the WebQueryTest labels for its leaderboard). {task.data_source}")
        labels = read_labels(answers_path)
        texts = {}
        if test_path is not None:
            items = read_pairs(test_path, labelled=False)
            by_idx = {str(i["idx"]): (str(i["doc"]), str(i["code"])) for i in items}
            missing = [i for i in labels if i not in by_idx]
            if missing:
                raise CodequarryError(f"{answers_path}: idx {missing[0]!r} is not in {test_path} ({len(missing)} missing)")
            texts = {i: by_idx[i] for i in labels}
        dev_path = inputs.find("dev", "cosqa-dev.json")
        dev = None
        if dev_path is not None:
            dev_items = read_pairs(dev_path, labelled=True)
            dev = [(str(i["doc"]), str(i["code"]), int(i["label"])) for i in dev_items]
        files = [str(p) for p in (test_path, answers_path, dev_path) if p is not None]
    ids = sorted(labels)
    queries = {i: texts[i][0] if i in texts else "" for i in ids}
    corpus = {i: texts[i][1] if i in texts else "" for i in ids}
    qrels = {i: {i: labels[i]} for i in ids}
    return make_task_data(task, split, queries, corpus, qrels, files=files,
                          extra={"labels": labels, "has_texts": bool(texts), "dev": dev},
                          fingerprint_extra={"dev": dev} if dev else None,
                          positives=sum(labels.values()), negatives=len(labels) - sum(labels.values()))


def evaluate(task: Task, data: TaskData, model: Any) -> Evaluation:
    labels: dict[str, int] = data.extra["labels"]
    ids = sorted(labels)
    details: dict[str, Any] = {}
    if getattr(model, "is_prediction_file", False):
        given = model.pair_labels(ids)
        preds = [given[i] for i in ids]
        details["decision"] = "predictions file"
    else:
        if not data.extra["has_texts"]:
            raise CodequarryError(f"task {task.name!r}: only labels were given, so only a predictions file (run:FILE) can be "
                                  "scored; pass --data test=test_webquery.json to score a model")
        scores = np.asarray(model.score_pairs([data.queries[i] for i in ids], [data.corpus[i] for i in ids]), dtype=np.float64)
        if scores.shape != (len(ids),) or not np.all(np.isfinite(scores)):
            raise CodequarryError(f"model {model.spec!r}: score_pairs must return one finite number per pair")
        preds, details = decide(scores, [labels[i] for i in ids], model, data.extra.get("dev"))
    truth = [labels[i] for i in ids]
    per_query = {"accuracy": {i: float(int(p) == t) for i, p, t in zip(ids, preds, truth)}}
    return Evaluation(scores=classification_scores(truth, preds), per_query=per_query, num_queries=len(ids),
                      num_docs=len(ids), details=details)


def decide(scores: np.ndarray, labels: list[int], model: Any, dev: list[tuple[str, str, int]] | None
           ) -> tuple[list[int], dict[str, Any]]:
    """0/1 decisions from pair scores under the task's documented rule; returns them with how they were made."""
    fixed = model.settings.get("threshold") if hasattr(model, "settings") else None
    kind = getattr(model, "pair_score_kind", "similarity")
    if fixed is not None:
        t = float(fixed)
        return [int(s >= t) for s in scores], {"decision": "given threshold", "threshold": t}
    if kind == "probability":
        return [int(s >= PROBABILITY_THRESHOLD) for s in scores], {"decision": "probability >= 0.5",
                                                                    "threshold": PROBABILITY_THRESHOLD}
    if dev:
        dev_scores = np.asarray(model.score_pairs([d[0] for d in dev], [d[1] for d in dev]), dtype=np.float64)
        t = best_threshold(dev_scores, [d[2] for d in dev])
        return [int(s >= t) for s in scores], {"decision": "threshold chosen on the dev split", "threshold": t,
                                               "dev_pairs": len(dev)}
    folds = np.arange(len(scores)) % 2
    y = np.asarray(labels)
    preds = np.zeros(len(scores), dtype=np.int64)
    thresholds = []
    for f in (0, 1):
        train, test = folds != f, folds == f
        if not train.any():
            raise CodequarryError("cross-fitted threshold needs at least two labelled pairs")
        t = best_threshold(scores[train], y[train])
        thresholds.append(t)
        preds[test] = scores[test] >= t
    return preds.tolist(), {"decision": "two-fold cross-fitted threshold (folds by position parity in idx order)",
                            "thresholds": thresholds}
