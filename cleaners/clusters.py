"""Candidate pairs, verification and clusters (step 8 of ``minhash``).

Rows sharing a band hash in any band column (of any view) are candidates: star edges to each bucket's
smallest row. With ``verify`` (the default when the canonical view is on) a candidate pair is kept when
its exact shingle sets match under *some* view's rule (the OR of the views; ``signatures.ViewRule``:
Jaccard ≥ the view's threshold, or for the canonical view the Type-3 rule). Clusters are the
connected components of the kept pairs (``scipy.sparse.csgraph.connected_components``); each row's label
is the smallest row of its component, so labels never depend on edge order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from codequarry.cleaners import sorted_arrays
from codequarry.cleaners.signatures import MinHashConfig, MinHasher, ViewRule, view_sets
from codequarry.errors import CodequarryError

_ROWS_PER_PASS = 8192  # rows tokenized together by cluster_texts (bounds the flat token list)
_EDGES_PER_PASS = 65536  # candidate pairs verified in one sort by verify_pairs (bounds its key array)


def candidate_pairs(band_hashes: np.ndarray, active: np.ndarray | None = None, chain: bool = False) -> np.ndarray:
    """Distinct pairs (i, j), i < j, of rows sharing a band hash; star edges to each bucket's smallest row.

    ``active`` (bool per row) excludes rows from every bucket. Rows are indices into ``band_hashes``;
    with rows in keep order, each edge points at the bucket member that would be kept. ``chain`` adds an
    edge between each two consecutive members of a bucket: the same components, but when the pairs are
    verified, two clones in a bucket whose first member is unrelated to both are still compared.
    """
    n, nb = band_hashes.shape
    return candidate_pairs_by_band((band_hashes[:, b] for b in range(nb)), n, active, chain)


def candidate_pairs_by_band(bands: Iterable[np.ndarray], n: int, active: np.ndarray | None = None,
                            chain: bool = False) -> np.ndarray:
    """:func:`candidate_pairs` over band columns given one at a time (each: every row's hash in that band), so
    only one band is in memory; the distinct edges are merged as they come."""
    idx = np.arange(n, dtype=np.int64) if active is None else np.flatnonzero(active).astype(np.int64)
    codes = np.zeros(0, np.int64)
    for keys in bands:
        if len(idx) < 2:
            continue
        edges = band_star_edges(keys[idx], idx, chain)
        if edges is not None:
            lo = np.minimum(edges[:, 0], edges[:, 1])
            hi = np.maximum(edges[:, 0], edges[:, 1])
            codes = sorted_arrays.union(codes, lo * np.int64(n) + hi)  # np.union1d: 20-80x slower on numpy 2.4
    return np.stack([codes // n, codes % n], axis=1) if len(codes) else np.zeros((0, 2), np.int64)


def band_star_edges(keys: np.ndarray, idx: np.ndarray, chain: bool = False) -> np.ndarray | None:
    """One band's star edges: each row whose hash another row shares, paired with the first such row (by ``idx``,
    which is ascending), plus with ``chain`` each member paired with the one before it; None when no hash is
    shared."""
    order = np.argsort(keys, kind="stable")
    ks = keys[order]
    same = ks[1:] == ks[:-1]
    if not same.any():
        return None
    starts = np.concatenate([[True], ~same])
    run = np.cumsum(starts) - 1
    first = order[np.flatnonzero(starts)][run]
    member = ~starts
    star = np.stack([idx[first[member]], idx[order[member]]], axis=1)
    if not chain:
        return star
    later = np.flatnonzero(member[1:]) + 1  # members whose predecessor is a member too (not the first)
    return np.concatenate([star, np.stack([idx[order[later - 1]], idx[order[later]]], axis=1)])


def cluster_labels(n: int, edges: np.ndarray) -> np.ndarray:
    """Connected components of the candidate graph: each row's label is the smallest row in its cluster."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if n == 0:
        return np.zeros(0, np.int64)
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    graph = coo_matrix((np.ones(len(edges), np.int8), (edges[:, 0], edges[:, 1])), shape=(n, n))
    _, comp = connected_components(graph, directed=False)
    smallest = np.full(int(comp.max()) + 1, n, dtype=np.int64)
    np.minimum.at(smallest, comp, np.arange(n, dtype=np.int64))
    return smallest[comp]


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Exact Jaccard similarity of two sorted distinct arrays."""
    if len(a) == 0 and len(b) == 0:
        return 1.0
    inter = len(np.intersect1d(a, b, assume_unique=True))
    return inter / (len(a) + len(b) - inter)


def view_match(a: np.ndarray, b: np.ndarray, rule: ViewRule | float) -> bool:
    """Whether two rows' sorted distinct shingle sets of one view match under its rule (a float: Jaccard ≥ it)."""
    if not isinstance(rule, ViewRule):
        rule = ViewRule(float(rule))
    if len(a) == 0 and len(b) == 0:
        return rule.accepts(0, 0)
    inter = len(np.intersect1d(a, b, assume_unique=True))
    return rule.accepts(inter, len(a) + len(b) - inter)


def similar(i: int, j: int, views: Sequence[Sequence[np.ndarray]], thresholds: Sequence[ViewRule | float]) -> bool:
    """Whether rows i and j match in at least one view (exact shingle sets per view, each view's rule)."""
    return any(view_match(sets[i], sets[j], t) for sets, t in zip(views, thresholds))


def verify_pairs(edges: np.ndarray, views: Sequence[Sequence[np.ndarray]], thresholds: Sequence[ViewRule | float]
                 ) -> np.ndarray:
    """Keep only candidate pairs that match in some view (exact shingle sets under that view's rule).

    ``views`` holds one list of per-row sorted shingle sets per view, ``thresholds`` one rule each
    (``MinHashConfig.thresholds``; a plain float is a Jaccard threshold).
    """
    if len(views) != len(thresholds):
        raise CodequarryError(f"got {len(views)} shingle views but {len(thresholds)} thresholds")
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    keep = np.zeros(len(edges), dtype=bool)
    for s in range(0, len(edges), _EDGES_PER_PASS):
        block = edges[s : s + _EDGES_PER_PASS]
        for sets, rule in zip(views, thresholds):
            if not isinstance(rule, ViewRule):
                rule = ViewRule(float(rule))
            inter, union = _overlaps(block, sets)
            keep[s : s + len(block)] |= rule.accepts(inter, union)
    return edges[keep]


def _overlaps(edges: np.ndarray, sets: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Shared and distinct shingle counts of each pair's sorted distinct 32-bit hash sets, in one sort: each pair's two sets
    concatenated under the pair's number, so a repeated (pair, hash) key is one shared shingle."""
    parts: list[np.ndarray] = []
    for i, j in edges.tolist():
        parts.append(sets[i])
        parts.append(sets[j])
    sizes = np.fromiter(map(len, parts), dtype=np.int64, count=len(parts)).reshape(-1, 2)
    total = sizes.sum(axis=1)
    if not len(edges) or not total.any():
        return np.zeros(len(edges), np.int64), total
    key = np.repeat(np.arange(len(edges), dtype=np.uint64), total) << np.uint64(32)
    key |= np.concatenate(parts).astype(np.uint64)
    key.sort()
    repeated = key[1:][key[1:] == key[:-1]] >> np.uint64(32)
    inter = np.bincount(repeated.astype(np.int64), minlength=len(edges))
    return inter, total - inter


def default_verify(config: MinHashConfig) -> bool:
    """Verification is on by default with the canonical view: its band matches are checked against each view's
    threshold (raw-only BigCode shingles keep BigCode's choice, every LSH candidate a duplicate)."""
    return bool(config.canonical_identifiers)


def cluster_texts(texts: Sequence[str | None], config: MinHashConfig | None = None, *, min_tokens: int = 1,
                  verify: bool | None = None, languages: Sequence[str | None] | None = None) -> np.ndarray:
    """One-call near-dedup: cluster label (smallest member index) of each text, in input order.

    ``languages`` (one per text) selects comment syntax and keywords for code shingles; rows are
    hashed in slices of a few thousand, so memory stays bounded (results do not depend on the slicing).
    ``verify`` None means :func:`default_verify`.
    """
    hasher = MinHasher(config)
    cfg = hasher.config
    if verify is None:
        verify = default_verify(cfg)
    if languages is not None and len(languages) != len(texts):
        raise CodequarryError(f"got {len(texts)} texts but {len(languages)} languages")
    bands, counts = [], []
    sets: list[list[np.ndarray]] = [[] for _ in cfg.thresholds]
    for s in range(0, len(texts), _ROWS_PER_PASS):
        part = texts[s : s + _ROWS_PER_PASS]
        views, offsets, cnt = hasher.view_shingles(part, None if languages is None else languages[s : s + _ROWS_PER_PASS])
        bands.append(hasher.band_matrix_from_shingles(views, offsets))
        counts.append(cnt)
        if verify:
            for k, v in enumerate(views):
                sets[k].extend(view_sets(v, offsets))
    if not bands:
        return np.zeros(0, np.int64)
    matrix = np.concatenate(bands)
    edges = candidate_pairs(matrix, np.concatenate(counts) >= max(1, min_tokens), chain=verify)
    if verify and len(edges):
        edges = verify_pairs(edges, sets, cfg.thresholds)
    return cluster_labels(len(texts), edges)
