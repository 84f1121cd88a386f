"""The Allamanis / CodeSearchNet identifier test: token rule, the 0.8 / 0.7 boundaries, exact all-pairs."""

from __future__ import annotations

import itertools
import random
from collections import Counter

from codequarry.cleaners._identifiers import (
    all_pairs,
    duplicate_pairs,
    identifier_bag,
    multiset_jaccard,
    set_jaccard,
)


def test_identifier_bag_follows_dpu_utils():
    tokens = ["def", "get", "(", "self", ",", "x1", ")", ":", "return", "self", ".", "x1", "+", "1", '"s"', "_p"]
    bag = identifier_bag(tokens, keywords={"def", "return"})
    assert bag == Counter({"self": 2, "x1": 2, "get": 1, "_p": 1})
    # dpu-utils uses re.match: a token that merely starts like an identifier counts
    assert identifier_bag(["abc-def", "9x"]) == Counter({"abc-def": 1})


def _bag(spec: dict[str, int]) -> Counter:
    return Counter(spec)


def test_set_threshold_boundary_is_inclusive():
    # 4 shared of 5 distinct → set Jaccard exactly 0.8 (kept); multiset equal
    a = _bag({"a": 1, "b": 1, "c": 1, "d": 1})
    b = _bag({"a": 1, "b": 1, "c": 1, "d": 1, "e": 1})
    assert set_jaccard(a, b) == 0.8
    assert multiset_jaccard(a, b) == 0.8
    assert duplicate_pairs([a, b]).tolist() == [[0, 1]]
    # 0.75 (3 of 4) is below the set threshold
    c = _bag({"a": 1, "b": 1, "c": 1})
    d = _bag({"a": 1, "b": 1, "c": 1, "z": 1})
    assert set_jaccard(c, d) == 0.75
    assert duplicate_pairs([c, d]).tolist() == []


def test_multiset_threshold_boundary_is_inclusive():
    # same identifier set (set Jaccard 1.0); counts give multiset Jaccard 7/10 = 0.7 → duplicate
    a = _bag({"a": 4, "b": 3})
    b = _bag({"a": 4, "b": 6})
    assert multiset_jaccard(a, b) == 7 / 10
    assert duplicate_pairs([a, b]).tolist() == [[0, 1]]
    # 7/11 < 0.7 → not a duplicate, although the sets are equal
    c = _bag({"a": 4, "b": 7})
    assert multiset_jaccard(a, c) < 0.7
    assert duplicate_pairs([a, c]).tolist() == []


def test_inactive_rows_take_no_part():
    a = _bag({"x": 1, "y": 1})
    assert duplicate_pairs([a, a, a], active=[True, False, True]).tolist() == [[0, 2]]


def test_all_pairs_equals_brute_force():
    rng = random.Random(1)
    universe = list(range(40))
    sets = []
    for _ in range(120):
        base = rng.sample(universe, rng.randint(1, 12))
        sets.append(base)
        if rng.random() < 0.4:  # plant near-copies
            sets.append(base[:-1] + [rng.choice(universe)])
    for t in (0.5, 0.8, 1.0):
        brute = []
        for i, j in itertools.combinations(range(len(sets)), 2):
            si, sj = set(sets[i]), set(sets[j])
            sim = len(si & sj) / len(si | sj)
            if sim >= t:
                brute.append((i, j))
        assert [(i, j) for i, j, _ in all_pairs(sets, t)] == brute
