"""The band shuffle's grouping helpers give each group's positions in their original order, as a scan per group
(the independent reference here) does, for empty, single and many-group inputs."""

from __future__ import annotations

import numpy as np
import pytest

from codequarry.cleaners.ray_batch_files import by_part
from codequarry.cleaners.ray_near_dedup import SHIFT, runs_by_chunk


@pytest.mark.parametrize("n, groups", [(0, 1), (1, 1), (7, 3), (5000, 40)])
def test_runs_by_chunk_equal_a_scan_per_chunk(n: int, groups: int) -> None:
    rng = np.random.default_rng(n)
    nodes = (rng.integers(0, groups, n).astype(np.int64) << SHIFT) | rng.integers(0, 10_000, n).astype(np.int64)
    chunk_of = nodes >> SHIFT
    expected = [(c, [i for i in range(n) if chunk_of[i] == c]) for c in sorted(set(chunk_of.tolist()))]
    assert [(c, where.tolist()) for c, where in runs_by_chunk(chunk_of)] == expected


@pytest.mark.parametrize("n, parts", [(0, 1), (3, 5), (4000, 178)])
def test_by_part_equals_a_mask_per_part(n: int, parts: int) -> None:
    part = np.random.default_rng(parts).integers(0, parts, n).astype(np.uint64)
    got = by_part(part, parts)
    assert len(got) == parts
    assert [g.tolist() for g in got] == [[i for i in range(n) if part[i] == q] for q in range(parts)]
