"""sorted_arrays gives exactly what numpy's unique / union1d / isin give, on the shapes the resolves use."""

from __future__ import annotations

import numpy as np
import pytest

from codequarry.cleaners import sorted_arrays


@pytest.mark.parametrize("seed", range(5))
def test_same_results_as_numpy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for n, m, hi in ((0, 0, 5), (1, 0, 5), (0, 3, 5), (50, 7, 10), (5000, 800, 2**62), (3000, 3000, 100)):
        a = rng.integers(-hi, hi, n, dtype=np.int64)
        b = rng.integers(-hi, hi, m, dtype=np.int64)
        for got, want in ((sorted_arrays.unique(a), np.unique(a)), (sorted_arrays.union(a, b), np.union1d(a, b)),
                          (sorted_arrays.isin(a, b), np.isin(a, b))):
            assert got.dtype == want.dtype and got.shape == want.shape and (got == want).all()
    u = rng.integers(0, 2**64 - 1, 1000, dtype=np.uint64)
    assert (sorted_arrays.unique(np.concatenate([u, u[:10]])) == np.unique(u)).all()
    pairs = rng.integers(0, 9, (40, 2))
    assert (sorted_arrays.unique(pairs) == np.unique(pairs)).all()  # 2-D: the distinct values, flattened
