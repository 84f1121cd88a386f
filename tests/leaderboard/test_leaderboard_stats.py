"""The leaderboard's stratified bootstrap against scipy.stats.bootstrap (the independent reference)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from codequarry.leaderboard import stats as board_stats
from codequarry.leaderboard.stats import stratified_bootstrap_ci


def _mean_of_means(*samples: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean([np.mean(s, axis=axis) for s in samples], axis=0)


@pytest.mark.parametrize("sizes, resamples", [((50, 80, 30), 1000), ((5, 2), 300), ((400, 900), 200)])
def test_stratified_bootstrap_equals_scipy_unbatched(sizes, resamples, monkeypatch):
    monkeypatch.setattr(board_stats, "_CHUNK_CELLS", 1000)  # force several blocks per group: same stream
    rng = np.random.default_rng(sum(sizes))
    groups = [rng.random(n) for n in sizes]
    ours = stratified_bootstrap_ci(groups, resamples=resamples, seed=2)
    ref = stats.bootstrap(tuple(groups), _mean_of_means, method="percentile", n_resamples=resamples, paired=False,
                          vectorized=True, rng=np.random.default_rng(2))
    assert ours == pytest.approx((ref.confidence_interval.low, ref.confidence_interval.high), rel=1e-12, abs=1e-15)
