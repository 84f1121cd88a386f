"""MinHash-LSH near-duplicate detection over code-aware shingles, vectorised with NumPy: the public API.

The pipeline lives in three modules, one job each (every choice is recorded by
:meth:`MinHashConfig.describe`, so a card can publish it):

* ``cleaners/shingles.py`` — steps 1–5: comment removal, tokens, the canonical (rename-invariant)
  view, word n-grams per view and their hashes (per-language comment/string syntax and kept words in
  ``cleaners/shingle_syntax.py``);
* ``cleaners/signatures.py`` — steps 6–7: permutations, one MinHash signature and one set of LSH
  bands *per view* (raw and canonical, each with its own match rule), combined with OR;
* ``cleaners/clusters.py`` — step 8: candidate pairs, exact per-view verification (Jaccard ≥ the view's
  threshold, or for the canonical view the Type-3 rule: a lower Jaccard with a long shared stretch, see
  ``signatures.ViewRule``) and connected components (``scipy.sparse.csgraph``).

This module re-exports their public names, so ``from codequarry.cleaners import minhash as mh`` keeps
working for steps, perf scripts and users.
"""

from __future__ import annotations

from codequarry.cleaners.clusters import (
    candidate_pairs,
    candidate_pairs_by_band,
    cluster_labels,
    cluster_texts,
    default_verify,
    jaccard,
    similar,
    verify_pairs,
    view_match,
)
from codequarry.cleaners.shingle_syntax import strip_comments_fast
from codequarry.cleaners.shingles import (
    HASH_FAMILY,
    SHINGLES,
    TOKEN_PATTERN,
    Shingler,
    fmix64,
)
from codequarry.cleaners.signatures import (
    CANONICAL_THRESHOLD,
    MAX_HASH32,
    TYPE3_SHARED,
    TYPE3_THRESHOLD,
    MinHashConfig,
    MinHasher,
    ViewRule,
    candidate_probability,
    optimal_lsh_params,
    view_sets,
)

__all__ = [
    "CANONICAL_THRESHOLD", "HASH_FAMILY", "MAX_HASH32", "SHINGLES", "TOKEN_PATTERN", "MinHashConfig", "MinHasher",
    "Shingler", "candidate_pairs", "candidate_pairs_by_band", "candidate_probability", "cluster_labels", "cluster_texts", "default_verify",
    "fmix64", "jaccard", "optimal_lsh_params", "similar", "strip_comments_fast", "verify_pairs", "view_sets",
    "TYPE3_SHARED", "TYPE3_THRESHOLD", "ViewRule", "view_match",
]
