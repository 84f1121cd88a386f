"""The Allamanis / CodeSearchNet identifier near-duplicate test, with exact prefix-filtered all-pairs.

dpu-utils' ``DuplicateDetector`` (used by CodeSearchNet's ``dedup_split.py``): keep the tokens that
match ``[_a-zA-Z][_a-zA-Z0-9]*`` at their start and are not keywords; T1 = their set, T2 = their
multiset. Two snippets are duplicates when Jaccard(T1) ≥ 0.8 and multiset-Jaccard(T2) ≥ 0.7;
snippets with fewer than ``min_tokens`` identifier tokens (counted with repetition) take no part.

Candidate pairs come from the AllPairs algorithm (Bayardo et al., WWW 2007; as in SetSimilaritySearch):
tokens are ranked rarest first, sets are visited by increasing size, and a pair is a candidate only
if the two sets share a token within their first ``|x| − ⌈t·|x|⌉ + 1`` ranks (prefix filter) and
their sizes allow the threshold (size filter). Every candidate is then checked exactly, so the
result equals the O(n²) comparison.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

IDENTIFIER_RE = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*")
_EPS = 1e-9


def identifier_bag(tokens: Iterable[str], keywords: Iterable[str] = ()) -> Counter[str]:
    """The identifier multiset of a token list (dpu-utils' rule: regex match at the start, not a keyword)."""
    kw = keywords if isinstance(keywords, (set, frozenset)) else frozenset(keywords)
    match = IDENTIFIER_RE.match
    return Counter(t for t in tokens if match(t) and t not in kw)


def set_jaccard(a: Iterable, b: Iterable) -> float:
    """Jaccard similarity of the distinct elements."""
    sa, sb = set(a), set(b)
    union = len(sa | sb)
    return len(sa & sb) / union if union else 1.0


def multiset_jaccard(a: Counter, b: Counter) -> float:
    """Σ min(counts) / Σ max(counts) (dpu-utils' multiset Jaccard)."""
    inter = sum((a & b).values())
    union = sum((a | b).values())
    return float(inter) / union if union else 1.0


def all_pairs(sets: Sequence[Iterable[int]], threshold: float) -> list[tuple[int, int, float]]:
    """Every pair (i, j), i < j, of sets with Jaccard ≥ threshold, found with prefix and size filters.

    Elements must be hashable and orderable; the result is sorted and does not depend on input order.
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    distinct = [frozenset(s) for s in sets]
    freq: Counter = Counter()
    for s in distinct:
        freq.update(s)
    # global order: rarest first, ties by the element itself (deterministic)
    rank = {tok: r for r, tok in enumerate(sorted(freq, key=lambda t: (freq[t], t)))}
    ranked = [sorted(rank[t] for t in s) for s in distinct]
    order = sorted(range(len(ranked)), key=lambda i: (len(ranked[i]), i))
    index: dict[int, list[int]] = {}
    out: list[tuple[int, int, float]] = []
    for i in order:
        x = ranked[i]
        size = len(x)
        if size == 0:
            continue
        prefix = size - math.ceil(threshold * size - _EPS) + 1
        min_size = threshold * size - _EPS
        seen: set[int] = set()
        for tok in x[:prefix]:
            postings = index.get(tok)
            if postings is None:
                index[tok] = [i]
                continue
            for j in postings:
                if j in seen or len(ranked[j]) < min_size:
                    continue
                seen.add(j)
            postings.append(i)
        if not seen:
            continue
        sx = distinct[i]
        for j in seen:
            inter = len(sx & distinct[j])
            sim = inter / (size + len(distinct[j]) - inter)
            if sim >= threshold:
                out.append((min(i, j), max(i, j), sim))
    out.sort()
    return out


def duplicate_pairs(bags: Sequence[Counter], set_threshold: float = 0.8, multiset_threshold: float = 0.7,
                    active: Sequence[bool] | None = None) -> np.ndarray:
    """Pairs of bags that pass both Jaccard tests (rows where ``active`` is False take no part)."""
    idx = [i for i in range(len(bags)) if active is None or active[i]]
    pairs = all_pairs([bags[i].keys() for i in idx], set_threshold)
    edges = [(idx[a], idx[b]) for a, b, _ in pairs if multiset_jaccard(bags[idx[a]], bags[idx[b]]) >= multiset_threshold]
    return np.asarray(edges, dtype=np.int64).reshape(-1, 2)
