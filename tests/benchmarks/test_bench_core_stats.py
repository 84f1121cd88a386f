"""Statistics: bootstrap CI and tests against scipy, Holm and effect size on hand-computed examples."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats as sps

from codequarry.benchmarks.stats import (
    bootstrap_ci,
    bootstrap_cis,
    effect_size,
    holm,
    paired_randomization_test,
    paired_t_test,
)
from codequarry.errors import CodequarryError


@pytest.mark.parametrize("n,resamples,level", [(50, 1000, 0.95), (7, 300, 0.9), (6000, 1000, 0.95)])
def test_bootstrap_equals_scipy_percentile(n, resamples, level):
    x = np.random.default_rng(n).random(n)
    ours = bootstrap_ci(x, resamples=resamples, level=level, seed=3)
    ref = sps.bootstrap((x,), np.mean, n_resamples=resamples, confidence_level=level, method="percentile",
                        rng=np.random.default_rng(3)).confidence_interval
    assert ours == pytest.approx((ref.low, ref.high), abs=1e-12)  # 6000: generated in batches, same stream


def test_bootstrap_properties():
    assert bootstrap_ci([0.5] * 10) == (0.5, 0.5)
    x = np.random.default_rng(1).random(200)
    lo95, hi95 = bootstrap_ci(x)
    lo80, hi80 = bootstrap_ci(x, level=0.8)
    assert lo95 < lo80 < x.mean() < hi80 < hi95
    assert bootstrap_ci(x, seed=5) != bootstrap_ci(x, seed=6)
    with pytest.raises(CodequarryError):
        bootstrap_ci([])
    with pytest.raises(CodequarryError):
        bootstrap_ci([0.1, float("nan")])


def test_randomization_exact_enumeration_equals_scipy():
    rng = np.random.default_rng(2)
    a, b = rng.random(9), rng.random(9)
    ours = paired_randomization_test(a, b, permutations=10000)  # 2^9 <= 10000: exact
    ref = sps.permutation_test((a, b), lambda x, y, axis: np.mean(x - y, axis=axis), permutation_type="samples",
                               vectorized=True, n_resamples=np.inf, alternative="two-sided").pvalue
    assert ours == pytest.approx(ref, abs=1e-12)
    hand = np.mean([abs(np.dot(s, a - b)) >= abs(np.sum(a - b)) - 1e-12
                    for s in itertools.product([-1, 1], repeat=9)])
    assert ours == pytest.approx(hand)


def test_randomization_monte_carlo_close_to_exact():
    rng = np.random.default_rng(4)
    a = rng.random(16)
    b = a - 0.08 + rng.normal(0, 0.2, 16)
    exact = paired_randomization_test(a, b, permutations=2 ** 16)
    approx = paired_randomization_test(a, b, permutations=20000, seed=1)
    assert abs(exact - approx) < 0.01
    assert approx == paired_randomization_test(a, b, permutations=20000, seed=1)  # seeded


def test_randomization_extremes():
    a = np.linspace(0, 1, 200)
    assert paired_randomization_test(a, a) == 1.0
    p = paired_randomization_test(a + 0.3, a, permutations=999)
    assert p == pytest.approx(1 / 1000)  # the +1 correction: never 0
    x = np.random.default_rng(0).random(300)
    y = x + np.random.default_rng(1).normal(0, 0.05, 300)
    assert paired_randomization_test(x, y) > 0.01


def test_t_test_equals_scipy():
    rng = np.random.default_rng(5)
    a, b = rng.random(40), rng.random(40)
    assert paired_t_test(a, b) == pytest.approx(sps.ttest_rel(a, b).pvalue, rel=1e-10)
    assert paired_t_test(a, a) == 1.0
    assert paired_t_test(a + 0.1, a) == 0.0  # constant non-zero differences
    with pytest.raises(CodequarryError, match="length"):
        paired_t_test([1, 2], [1, 2, 3])


def test_holm_hand_computed():
    adj = holm({"a": 0.01, "b": 0.04, "c": 0.03})
    # sorted: a .01*3 = .03; c .03*2 = .06; b max(.06, .04*1) = .06
    assert adj == pytest.approx({"a": 0.03, "b": 0.06, "c": 0.06})
    assert list(adj) == ["a", "b", "c"]
    adj = holm({"x": 0.5, "y": 0.001, "z": 0.4, "w": 0.2})
    assert adj == pytest.approx({"y": 0.004, "w": 0.6, "z": 0.8, "x": 0.8})
    raw = np.random.default_rng(0).random(12)
    adj = holm({str(i): p for i, p in enumerate(raw)})
    order = np.argsort(raw)
    seq = [adj[str(i)] for i in order]
    assert all(x <= y for x, y in zip(seq, seq[1:]))  # monotone in the raw order
    assert all(adj[str(i)] >= raw[i] for i in range(12)) and max(seq) <= 1.0
    with pytest.raises(CodequarryError):
        holm({"a": 1.5})


def test_effect_size_hand_computed():
    assert effect_size([1, 2, 3], [0, 0, 0]) == pytest.approx(2.0)  # mean 2, sd 1
    assert effect_size([0, 0, 0], [1, 2, 3]) == pytest.approx(-2.0)
    assert effect_size([1, 1], [1, 1]) == 0.0
    assert effect_size([2, 2], [1, 1]) == math.inf


def test_randomization_agrees_with_t_test_on_many_queries():
    for seed in range(3):
        a = np.random.default_rng(seed).random(3001)  # not a multiple of 8: the padded byte is neutral
        b = a + np.random.default_rng(seed + 10).normal(0.004, 0.1, 3001)
        assert paired_randomization_test(a, b, seed=seed) == pytest.approx(paired_t_test(a, b), abs=0.02)


def test_bootstrap_cis_equals_one_at_a_time():
    rng = np.random.default_rng(12)
    cols = {"mrr": rng.random(5000), "recall@1": (rng.random(5000) > 0.6).astype(float), "ndcg@10": rng.random(5000)}
    together = bootstrap_cis(cols, resamples=700, seed=4)
    assert together == {m: bootstrap_ci(v, resamples=700, seed=4) for m, v in cols.items()}
    uneven = bootstrap_cis({"a": [0.1, 0.9, 0.5], "b": [1.0, 0.0]}, seed=1)
    assert uneven == {"a": bootstrap_ci([0.1, 0.9, 0.5], seed=1), "b": bootstrap_ci([1.0, 0.0], seed=1)}
