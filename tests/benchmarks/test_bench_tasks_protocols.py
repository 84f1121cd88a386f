"""The published protocols' arithmetic, checked by hand on small cases (benchmarks/protocols.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from codequarry.benchmarks import protocols as P
from codequarry.errors import CodequarryError


def test_csn_shuffle_is_numpys_legacy_global_shuffle():
    for n in (1, 7, 1000, 2531):
        np.random.seed(0)
        ref = np.arange(n)
        np.random.shuffle(ref)
        assert P.csn_shuffled_order(n).tolist() == ref.tolist()
    # the legacy MT19937 stream is frozen by numpy's compatibility policy (NEP 19): pin a prefix
    assert P.csn_shuffled_order(10).tolist() == [2, 8, 4, 9, 1, 6, 7, 3, 0, 5]


def test_csn_batches_drop_partial_and_shrink_small_sets():
    b = P.csn_batches(2500)
    assert [len(x) for x in b] == [1000, 1000]
    order = P.csn_shuffled_order(2500)
    assert np.concatenate(b).tolist() == order[:2000].tolist()  # the last 500 shuffled rows are dropped
    small = P.csn_batches(7)
    assert len(small) == 1 and sorted(small[0].tolist()) == list(range(7))  # n < 1000: B = n
    with pytest.raises(CodequarryError):
        P.csn_batches(0)


def test_csn_ranks_ties_count_against_the_model():
    s = np.array([[0.5, 0.5, 0.1],   # tie with doc 1: rank 2, not 1
                  [0.2, 0.9, 0.9],   # tie with doc 2: rank 2
                  [0.3, 0.2, 0.1]])  # two better: rank 3
    assert P.csn_ranks(s).tolist() == [2, 2, 3]
    strict = (s > np.diag(s)[:, None]).sum(1) + 1
    assert strict.tolist() == [1, 1, 3]  # the rule changes the number
    assert P.csn_mrr([P.csn_ranks(s)]) == pytest.approx((1 / 2 + 1 / 2 + 1 / 3) / 3)


def test_csn_mrr_is_mean_of_batch_means():
    r1, r2 = np.array([1, 1]), np.array([2, 4])
    assert P.csn_mrr([r1, r2]) == pytest.approx((1.0 + (0.5 + 0.25) / 2) / 2)


def test_csn_ranks_reject_nonfinite_diagonal():
    with pytest.raises(CodequarryError, match="non-finite"):
        P.csn_ranks(np.array([[np.nan, 0.0], [0.0, 1.0]]))


def test_csn_ndcg_by_hand_within_vs_all():
    rel = {"a": 3.0, "b": 1.0, "c": 0.0}
    preds = ["x", "a", "y", "b"]  # x, y not annotated
    idcg = 7 / math.log2(2) + 1 / math.log2(3)
    within = (7 / math.log2(2) + 1 / math.log2(3)) / idcg  # annotated urls take ranks 1, 2
    all_ = (7 / math.log2(3) + 1 / math.log2(5)) / idcg  # every url takes a rank: a at 2, b at 4
    assert P.csn_ndcg(preds, rel, within=True) == pytest.approx(within) == pytest.approx(1.0)
    assert P.csn_ndcg(preds, rel, within=False) == pytest.approx(all_)
    assert all_ < within


def test_csn_ndcg_mean_relevance_gain_and_missing():
    rel = {"a": 1.5, "b": 2.0}
    idcg = (2 ** 2 - 1) / 1 + (2 ** 1.5 - 1) / math.log2(3)
    assert P.csn_ndcg(["a"], rel, within=True) == pytest.approx((2 ** 1.5 - 1) / idcg)
    assert P.csn_ndcg([], rel, within=True) == 0.0  # a query without predictions scores 0
    assert P.csn_ndcg(["a", "b"], {"a": 0.0, "b": 0.0}, within=True) is None  # all-zero: skipped


def test_advtest_evaluator_rounding_and_missing_url():
    answers = {"u0": "10", "u1": "11", "u2": "12"}
    preds = {"u0": ["10"], "u1": ["12", "10", "11"], "u2": ["13"]}
    assert P.advtest_evaluator_mrr(answers, preds) == round((1 + 1 / 3 + 0) / 3, 4) == 0.4444
    rr = P.advtest_reciprocal_ranks(answers, {"u0": ["10"], "u1": ["12", "10", "11"], "u2": ["13"]}, cutoff=2)
    assert rr == {"u0": 1.0, "u1": 0.0, "u2": 0.0}
    with pytest.raises(CodequarryError, match="missing prediction for url 'u2'"):
        P.advtest_evaluator_mrr(answers, {"u0": ["10"], "u1": ["11"]})


def test_classification_scores_match_sklearn():
    sk = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(3)
    for _ in range(20):
        y = rng.integers(0, 2, 30).tolist()
        p = rng.integers(0, 2, 30).tolist()
        got = P.classification_scores(y, p)
        assert got["accuracy"] == pytest.approx(sk.accuracy_score(y, p))
        assert got["precision"] == pytest.approx(sk.precision_score(y, p, zero_division=0))
        assert got["recall"] == pytest.approx(sk.recall_score(y, p, zero_division=0))
        assert got["f1"] == pytest.approx(sk.f1_score(y, p, zero_division=0))
    assert P.classification_scores([1, 1, 0], [0, 0, 0]) == {"accuracy": 1 / 3, "precision": 0.0, "recall": 0.0, "f1": 0.0}
    with pytest.raises(CodequarryError):
        P.classification_scores([1, 2], [1, 1])


def test_best_threshold_maximises_accuracy_deterministically():
    scores = [0.1, 0.4, 0.35, 0.8]
    labels = [0, 0, 1, 1]
    t = P.best_threshold(scores, labels)
    acc = np.mean([(s >= t) == y for s, y in zip(scores, labels)])
    assert acc == 0.75 and t == pytest.approx((0.1 + 0.35) / 2)  # smallest of the equally good thresholds
    assert P.best_threshold([0.2, 0.9], [0, 1]) == pytest.approx(0.55)
