"""Intervals for leaderboard averages: a bootstrap that resamples queries within each column (language/dataset).

``stratified_bootstrap_ci`` equals ``scipy.stats.bootstrap(groups, mean of group means, paired=False,
method="percentile", rng=default_rng(seed))`` (tested to 1e-12; the ends may differ in the last bit, as
scipy interpolates with ``scipy.stats.quantile``): the groups are resampled one after another from the
same generator, as scipy does when it draws every resample at once. It is not
delegated to scipy because scipy bounds memory only through ``batch``, and with ``batch`` it draws batch
by batch across the groups, a different stream and different numbers; here each group's resamples are
drawn in bounded blocks (the same stream as scipy unbatched), so memory stays ~16 MB whatever the query
count. Significance tests (paired randomization, Holm) come from ``codequarry.benchmarks.stats``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_CHUNK_CELLS = 2_000_000  # random numbers drawn per block: bounds memory to ~16 MB whatever the query count


def stratified_bootstrap_ci(groups: Sequence[Sequence[float]], *, resamples: int = 1000, seed: int = 0,
                            level: float = 0.95) -> tuple[float, float]:
    """Percentile CI of the mean of group means, resampling queries with replacement within each group."""
    arrays = [np.asarray(g, dtype=np.float64) for g in groups]
    if not arrays or any(a.size == 0 for a in arrays):
        raise ValueError("every group needs at least one score")
    rng = np.random.default_rng(seed)
    totals = np.zeros(resamples)
    for a in arrays:
        rows = max(1, _CHUNK_CELLS // a.size)
        for start in range(0, resamples, rows):
            n = min(rows, resamples - start)
            totals[start:start + n] += a[rng.integers(0, a.size, size=(n, a.size))].mean(axis=1)
    means = totals / len(arrays)
    tail = (1.0 - level) / 2.0 * 100.0
    low, high = np.percentile(means, [tail, 100.0 - tail])
    return float(low), float(high)
