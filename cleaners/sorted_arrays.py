"""Distinct values, unions and membership of integer arrays by sorting (``np.unique`` without its hash path).

numpy 2.4's ``np.unique`` (and so ``np.union1d``, ``np.isin``) takes a hash-table path for integers that is
20–80× slower than sorting on the arrays the dedup resolves handle: 18 s against 0.24 s for the union of
2M and 200k int64 values, 5.4 s against 0.09 s for the distinct values of 1M (measured on this machine,
numpy 2.4.6). These functions return exactly what their numpy namesakes return for 1-D integer arrays.
"""

from __future__ import annotations

import numpy as np


def unique(values: np.ndarray) -> np.ndarray:
    """The sorted distinct values (as ``np.unique(values)`` for a 1-D integer array)."""
    out = np.sort(np.asarray(values).reshape(-1), kind="stable")
    if len(out) < 2:
        return out
    keep = np.empty(len(out), dtype=bool)
    keep[0] = True
    np.not_equal(out[1:], out[:-1], out=keep[1:])
    return out[keep]


def union(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The sorted distinct values of both (as ``np.union1d``)."""
    return unique(np.concatenate([np.asarray(a).reshape(-1), np.asarray(b).reshape(-1)]))


def isin(values: np.ndarray, test: np.ndarray) -> np.ndarray:
    """Whether each value occurs in ``test`` (as ``np.isin`` for integer arrays), by binary search."""
    values = np.asarray(values)
    ref = unique(test)
    if not len(ref):
        return np.zeros(values.shape, dtype=bool)
    at = np.minimum(np.searchsorted(ref, values), len(ref) - 1)
    return ref[at] == values
