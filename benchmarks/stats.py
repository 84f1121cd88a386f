"""Statistics over per-query scores: bootstrap CIs, paired significance tests, Holm correction, effect size.

Conventions (docs/harness.md §7; Smucker et al. CIKM 2007, Urbano et al. SIGIR 2019):

* ``bootstrap_ci``: percentile bootstrap of the mean over queries. Resample indices are drawn exactly as
  ``scipy.stats.bootstrap`` draws them (``rng.integers(0, n, (resamples, n))`` from
  ``np.random.default_rng(seed)``, consumed in row batches, which yields the same stream), so the
  bootstrap distribution equals scipy's ``bootstrap_distribution`` bit for bit. The interval ends are
  ``np.percentile`` (linear interpolation) of it. This is not delegated to
  ``scipy.stats.bootstrap((x,), np.mean, method="percentile", rng=default_rng(seed))`` because that is not
  the same number (checked with scipy 1.17): scipy takes the ends with ``scipy.stats.quantile``, whose
  interpolation arithmetic differs from ``np.percentile`` in the last bit (e.g. 0.5623017905736242 vs
  …241), which would change published result files; and it refuses a single query, which a per-language
  split can have. The tests hold the two to 1e-12. ``bootstrap_cis`` does several measures over the same
  queries with one draw (identical intervals, a fraction of the time).
* ``paired_randomization_test``: two-sided sign-flip test on the per-query differences ``d = a - b``
  (Fisher's randomization under H0: swapping a query's two scores is as likely as not). Statistic
  ``|mean(d)|``. When ``2**n <= permutations`` every sign vector is enumerated and the exact p is returned;
  otherwise ``p = (1 + #{|mean(s*d)| >= |mean(d)|}) / (permutations + 1)`` (the +1 correction counts the
  observed labelling, so p is never 0).
* ``paired_t_test``: two-sided paired Student t (``scipy.stats.ttest_rel``); constant differences give
  p = 1 when they are all 0 and p = 0 otherwise (scipy returns NaN there).
* ``holm``: Holm–Bonferroni step-down adjusted p-values, monotone in the raw p order, capped at 1.
* ``effect_size``: paired Cohen's d (often called d_z) = mean(d) / sd(d) with the n-1 sd; 0 when all
  differences are 0, ±inf when they are equal and non-zero.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from codequarry.errors import CodequarryError

_CELLS = 1 << 22  # resample cells generated at once (bounded memory whatever the query count)


def _vector(values: Sequence[float], what: str) -> np.ndarray:
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    if x.size == 0:
        raise CodequarryError(f"{what}: no values (need at least one per-query score)")
    if not np.isfinite(x).all():
        raise CodequarryError(f"{what}: per-query values must be finite numbers (found NaN or inf)")
    return x


def _pair(a: Sequence[float], b: Sequence[float], what: str) -> np.ndarray:
    x, y = _vector(a, what), _vector(b, what)
    if x.shape != y.shape:
        raise CodequarryError(f"{what}: paired samples differ in length ({x.size} vs {y.size}); "
                              "pair the per-query scores on the same query ids")
    return x - y


def bootstrap_ci(values: Sequence[float], *, resamples: int = 1000, level: float = 0.95,
                 seed: int = 0) -> tuple[float, float]:
    """Percentile-bootstrap confidence interval of the mean of ``values`` (queries resampled with replacement)."""
    x = _vector(values, "bootstrap_ci")
    if not 0 < level < 1:
        raise CodequarryError(f"bootstrap_ci: level must be in (0, 1), got {level}")
    if resamples < 1:
        raise CodequarryError(f"bootstrap_ci: resamples must be positive, got {resamples}")
    n = x.size
    rng = np.random.default_rng(seed)
    means = np.empty(resamples, dtype=np.float64)
    step = max(1, _CELLS // n)
    for r0 in range(0, resamples, step):
        r1 = min(r0 + step, resamples)
        means[r0:r1] = x[rng.integers(0, n, (r1 - r0, n))].mean(axis=1)
    alpha = (1 - level) / 2
    lo, hi = np.percentile(means, [100 * alpha, 100 * (1 - alpha)])
    return float(lo), float(hi)


def bootstrap_cis(columns: Mapping[str, Sequence[float]], *, resamples: int = 1000, level: float = 0.95,
                  seed: int = 0) -> dict[str, tuple[float, float]]:
    """``bootstrap_ci`` of several measures over the same queries at once (one draw of resamples, same result)."""
    names = list(columns)
    if not names:
        return {}
    cols = [_vector(columns[m], f"bootstrap_ci({m})") for m in names]
    n = cols[0].size
    if any(c.size != n for c in cols):  # different query sets: one interval at a time
        return {m: bootstrap_ci(c, resamples=resamples, level=level, seed=seed) for m, c in zip(names, cols)}
    if not 0 < level < 1:
        raise CodequarryError(f"bootstrap_ci: level must be in (0, 1), got {level}")
    if resamples < 1:
        raise CodequarryError(f"bootstrap_ci: resamples must be positive, got {resamples}")
    x = np.stack(cols)  # measures × n, each row contiguous
    rng = np.random.default_rng(seed)
    means = np.empty((resamples, len(names)), dtype=np.float64)
    step = max(1, _CELLS // n)
    for r0 in range(0, resamples, step):
        r1 = min(r0 + step, resamples)
        idx = rng.integers(0, n, (r1 - r0, n))
        for j in range(len(names)):
            means[r0:r1, j] = x[j][idx].mean(axis=1)
    alpha = (1 - level) / 2
    bounds = np.percentile(means, [100 * alpha, 100 * (1 - alpha)], axis=0)
    return {m: (float(bounds[0, j]), float(bounds[1, j])) for j, m in enumerate(names)}


def paired_randomization_test(a: Sequence[float], b: Sequence[float], *, permutations: int = 10000,
                              seed: int = 0) -> float:
    """Two-sided paired sign-flip randomization test of mean(a - b) = 0; returns the p-value."""
    d = _pair(a, b, "paired_randomization_test")
    if permutations < 1:
        raise CodequarryError(f"paired_randomization_test: permutations must be positive, got {permutations}")
    n = d.size
    observed = abs(d.sum())
    tol = 1e-9 * max(1.0, float(np.abs(d).sum()))  # sums that equal the observed one up to rounding count
    if not d.any():
        return 1.0
    if n <= 20 and 2 ** n <= permutations:  # enumerate every sign vector: the exact p-value
        signs = ((np.arange(2 ** n)[:, None] >> np.arange(n)[None, :]) & 1) * 2.0 - 1.0
        return float(np.mean(np.abs(signs @ d) >= observed - tol))
    # Monte Carlo: each random byte gives the signs of 8 queries. With a table of partial sums per byte
    # position (table[j, byte] = sum of d over the + signs among queries 8j..8j+7) a permutation's signed
    # sum is 2 * (sum over positions of table lookups) - sum(d): n/8 cache-resident lookups, no n-wide product.
    nb = -(-n // 8)
    padded = np.zeros(nb * 8)
    padded[:n] = d
    bits = (np.arange(256)[:, None] >> np.arange(8)[None, :]) & 1
    table = padded.reshape(nb, 8) @ bits.T
    rng = np.random.default_rng(seed)
    positive = np.zeros(permutations)
    step = max(1, _CELLS // permutations)
    for j0 in range(0, nb, step):
        j1 = min(j0 + step, nb)
        drawn = rng.integers(0, 256, (j1 - j0, permutations), dtype=np.uint8)
        positive += np.take_along_axis(table[j0:j1], drawn, axis=1).sum(axis=0)
    hits = int(np.count_nonzero(np.abs(2 * positive - float(d.sum())) >= observed - tol))
    return (hits + 1) / (permutations + 1)


def paired_t_test(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided paired Student t-test p-value (as ``scipy.stats.ttest_rel``)."""
    from scipy import stats

    d = _pair(a, b, "paired_t_test")
    n = d.size
    if n < 2:
        raise CodequarryError("paired_t_test: needs at least two paired queries")
    sd = d.std(ddof=1)
    mean = d.mean()
    if sd == 0 or not np.isfinite(sd):
        return 1.0 if mean == 0 else 0.0
    t = mean / (sd / math.sqrt(n))
    return float(min(1.0, 2 * stats.t.sf(abs(t), n - 1)))


def holm(pvalues: Mapping[str, float]) -> dict[str, float]:
    """Holm–Bonferroni adjusted p-values (step-down, monotone, capped at 1), keyed like the input."""
    items = []
    for name, p in pvalues.items():
        p = float(p)
        if not 0 <= p <= 1:
            raise CodequarryError(f"holm: p-value for {name!r} is {p}; p-values must lie in [0, 1]")
        items.append((p, str(name), name))
    items.sort()
    m = len(items)
    out: dict[str, float] = {}
    running = 0.0
    for i, (p, _, name) in enumerate(items):
        running = max(running, min(1.0, (m - i) * p))
        out[name] = running
    return {name: out[name] for name in pvalues}


def effect_size(a: Sequence[float], b: Sequence[float]) -> float:
    """Paired Cohen's d (d_z): mean of the differences divided by their standard deviation (n-1)."""
    d = _pair(a, b, "effect_size")
    mean = float(d.mean())
    sd = float(d.std(ddof=1)) if d.size > 1 else 0.0
    if sd == 0:
        return 0.0 if mean == 0 else math.copysign(math.inf, mean)
    return mean / sd
