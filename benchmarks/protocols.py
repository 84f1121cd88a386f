"""The published protocols' own arithmetic, as pure functions (no models, no files).

Each function reproduces one reference script rule for rule (facts: docs/protocols.md):

* CodeSearchNet 1000-candidate MRR (``src/model_test.py`` ``MrrSearchTester.evaluate``; CodeBERT
  ``codesearch/mrr.py``): ``np.random.seed(0)`` then ``np.random.shuffle`` of the row indices, chunks of
  1000 with the last partial chunk dropped (B = n when n < 1000), rank = #{j : s(q_i, c_j) >= s(q_i, c_i)}
  (ties count against the model, self included so rank >= 1), mean of 1/rank per batch then over batches.
  CSN computes ``cdist(code_vecs, query_vecs)``, i.e. each *code* ranks the queries; CodeBERT's ``mrr.py``
  ranks codes for each *query*. codequarry uses query → code (rows of the score matrix are queries), the
  direction a code-search user experiences; for a symmetric similarity the two differ only in which
  axis the ranking runs along.
* CodeSearchNet NDCG (``src/relevanceeval.py``): gains ``2**rel - 1``, discount ``log2(r + 1)``, ideal DCG over
  all annotated relevances; *within* advances the rank only on annotated URLs, *all* on every URL.
* CodeXGLUE evaluators: AdvTest MRR (``1/(position+1)`` at the first match, 0 when absent, mean rounded
  to 4 places; a missing URL aborts) and WebQuery/CoSQA classification (sklearn accuracy, binary
  precision/recall/F1 with positive label 1 and 0 where undefined; a missing idx aborts).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from codequarry.errors import CodequarryError

CSN_BATCH_SIZE = 1000
CSN_SEED = 0
CSN_MAX_URLS = 300  # relevanceeval.load_predictions(max_urls_per_language=300), applied per (language, query)
ADVTEST_CUTOFF = 100  # CodeXGLUE AdvTest run.py writes the top-100 per query
FULL_CODEBASE_CUTOFF = 1000  # GraphCodeBERT/UniXcoder run.py: sort_id[:1000]


# ---------------------------------------------------------------------------------------------
# CodeSearchNet 1000-candidate MRR


def csn_shuffled_order(n: int, seed: int = CSN_SEED) -> np.ndarray:
    """Row order after ``np.random.seed(seed); np.random.shuffle(np.arange(n))`` (legacy RandomState stream)."""
    idxs = np.arange(n)
    np.random.RandomState(seed).shuffle(idxs)  # same MT19937 stream and algorithm as the global legacy API
    return idxs


def csn_batches(n: int, batch_size: int = CSN_BATCH_SIZE, seed: int = CSN_SEED) -> list[np.ndarray]:
    """Row indices of each scored batch: shuffled, cut into full chunks; a trailing partial chunk is dropped."""
    if n <= 0:
        raise CodequarryError("the CodeSearchNet MRR protocol needs at least one test row")
    if batch_size < 1:
        raise CodequarryError(f"batch size must be positive, got {batch_size}")
    order = csn_shuffled_order(n, seed)
    size = min(batch_size, n)  # model_test.py: "adjusting batch size to equal data size"
    full = n // size
    return [order[i * size:(i + 1) * size] for i in range(full)]


def csn_ranks(scores: np.ndarray) -> np.ndarray:
    """Rank of each row's diagonal entry: #{j : scores[i, j] >= scores[i, i]} (ties count against the model)."""
    s = np.asarray(scores)
    if s.ndim != 2 or s.shape[0] != s.shape[1]:
        raise CodequarryError(f"the CodeSearchNet protocol needs a square query × code score matrix, got shape {s.shape}")
    diag = np.diagonal(s)
    bad = np.flatnonzero(~np.isfinite(diag))
    if bad.size:
        raise CodequarryError(f"non-finite score for the correct code of batch rows {bad[:5].tolist()}: "
                              "the model produced NaN/inf (check its inputs and dtype)")
    return np.sum(s >= diag[:, None], axis=1).astype(np.int64)


def csn_mrr(batch_ranks: Sequence[np.ndarray]) -> float:
    """Mean of 1/rank within each batch, then the mean over batches (CSN's ``sum_mrr / num_batches``)."""
    if not batch_ranks:
        raise CodequarryError("no full batch to score")
    return float(np.mean([np.mean(1.0 / np.asarray(r, dtype=np.float64)) for r in batch_ranks]))


# ---------------------------------------------------------------------------------------------
# CodeSearchNet human-annotated NDCG


def csn_ndcg(predicted_urls: Sequence[str], relevance: Mapping[str, float], *, within: bool) -> float | None:
    """NDCG of one (language, query); ``None`` when every annotation is 0 (relevanceeval skips the query).

    ``within=True`` is NDCG-Within (``ignore_rank_of_non_annotated_urls=True``): unannotated URLs take no rank.
    ``within=False`` is NDCG-All: every predicted URL takes a rank. The caller caps the list at 300 URLs.
    """
    idcg = 0.0
    for i, rel in enumerate(sorted(relevance.values(), reverse=True), start=1):
        idcg += (2.0 ** rel - 1.0) / math.log2(i + 1)
    if idcg == 0:
        return None
    dcg = 0.0
    rank = 1
    for url in predicted_urls:
        if url in relevance:
            dcg += (2.0 ** relevance[url] - 1.0) / math.log2(rank + 1)
            rank += 1
        elif not within:
            rank += 1
    return dcg / idcg


# ---------------------------------------------------------------------------------------------
# CodeXGLUE evaluators


def advtest_reciprocal_ranks(answers: Mapping[str, str], predictions: Mapping[str, Sequence[str]],
                             cutoff: int | None = None) -> dict[str, float]:
    """Per-URL ``1/(position+1)`` at the first correct idx (0 if absent), as CodeXGLUE's AdvTest evaluator.

    A URL of ``answers`` missing from ``predictions`` is an error (the evaluator aborts the run).
    ``cutoff`` limits the considered list (the protocol's top-100); ``None`` reads the whole list.
    """
    missing = [u for u in answers if u not in predictions]
    if missing:
        raise CodequarryError(f"missing prediction for url {missing[0]!r} ({len(missing)} answer url(s) have no "
                              "prediction; CodeXGLUE's evaluator aborts on the first one): every answer url needs a line")
    out: dict[str, float] = {}
    for url, idx in answers.items():
        ranked = predictions[url] if cutoff is None else list(predictions[url])[:cutoff]
        rr = 0.0
        for pos, cand in enumerate(ranked):
            if cand == idx:
                rr = 1.0 / (pos + 1)
                break
        out[url] = rr
    return out


def advtest_evaluator_mrr(answers: Mapping[str, str], predictions: Mapping[str, Sequence[str]]) -> float:
    """CodeXGLUE AdvTest ``evaluator.py``: mean reciprocal rank over the submitted lists, rounded to 4 places."""
    rr = advtest_reciprocal_ranks(answers, predictions)
    return round(float(np.mean(list(rr.values()))), 4) if rr else 0.0


def classification_scores(y_true: Sequence[int], y_pred: Sequence[int]) -> dict[str, float]:
    """Accuracy plus binary precision, recall and F1 for positive label 1, with sklearn's 0 where undefined."""
    t = np.asarray(y_true, dtype=np.int64)
    p = np.asarray(y_pred, dtype=np.int64)
    if t.shape != p.shape:
        raise CodequarryError(f"{t.size} labels but {p.size} predictions")
    for name, arr in (("label", t), ("prediction", p)):
        bad = arr[(arr != 0) & (arr != 1)]
        if bad.size:
            raise CodequarryError(f"{name}s must be 0 or 1, got {int(bad[0])}")
    if t.size == 0:
        raise CodequarryError("no labelled pairs to score")
    tp = int(np.sum((t == 1) & (p == 1)))
    fp = int(np.sum((t == 0) & (p == 1)))
    fn = int(np.sum((t == 1) & (p == 0)))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
    return {"accuracy": float(np.mean(t == p)), "precision": precision, "recall": recall, "f1": f1}


def best_threshold(scores: Sequence[float], labels: Sequence[int]) -> float:
    """The accuracy-maximising decision threshold (predict 1 when score >= threshold).

    Candidates are midpoints between consecutive distinct scores plus one below the minimum and one
    above the maximum; among equally accurate thresholds the smallest wins, so the choice is deterministic.
    """
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64)
    if s.size == 0:
        raise CodequarryError("cannot choose a threshold without labelled pairs")
    if not np.all(np.isfinite(s)):
        raise CodequarryError("cannot choose a threshold: the model produced non-finite pair scores")
    uniq = np.unique(s)
    candidates = np.concatenate([[uniq[0] - 1.0], (uniq[:-1] + uniq[1:]) / 2.0, [uniq[-1] + 1.0]])
    order = np.argsort(s, kind="stable")
    s_sorted, y_sorted = s[order], y[order]
    pos_total = int(y.sum())
    # correct(t) = negatives below t + positives at or above t
    below = np.searchsorted(s_sorted, candidates, side="left")
    neg_below = np.concatenate([[0], np.cumsum(1 - y_sorted)])[below]
    pos_below = np.concatenate([[0], np.cumsum(y_sorted)])[below]
    correct = neg_below + (pos_total - pos_below)
    return float(candidates[int(np.argmax(correct))])
