"""MinHash library: signatures equal a plain-Python reference, Jaccard estimates, LSH parameters, clusters."""

from __future__ import annotations

import pickle
import random
import re

import numpy as np
import pytest
import xxhash

from codequarry.cleaners import minhash as mh
from codequarry.errors import CodequarryError

M64 = (1 << 64) - 1


def _fmix(h: int) -> int:
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & M64
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & M64
    return h ^ (h >> 33)


def reference_signature(text: str, hasher: mh.MinHasher) -> list[int]:
    """The documented algorithm written out with Python ints, one shingle and one permutation at a time."""
    cfg = hasher.config
    toks = re.findall(r"[A-Za-z_0-9]+", text)
    th = [xxhash.xxh3_64_intdigest(t.encode(), cfg.seed) for t in toks]
    m = [int(v) for v in hasher.m]
    n = cfg.ngram
    grams = [th[i:i + n] for i in range(len(th) - n + 1)] if len(th) >= n else ([th] if th else [])
    shingles = {_fmix(sum(mk * hk for mk, hk in zip(m, g)) & M64) >> 32 for g in grams}
    if not shingles:
        return [0xFFFFFFFF] * cfg.num_perm
    return [min((int(a) * x + int(b)) & 0xFFFFFFFF for x in shingles) for a, b in zip(hasher.a, hasher.b)]


TEXTS = [
    "def add(a, b):\n    return a + b\n",
    "def add(a, b):   # sum\n    return   a+b",
    "x = 1",  # fewer tokens than the n-gram size: one shingle of all tokens
    "",
    "   ",
    "naïve café = résumé(x) + 2",  # non-ASCII letters separate tokens, as in the regex on str
    "for i in range(10): total += values[i] * weights[i]",
]


def test_signature_equals_reference_implementation():
    hasher = mh.MinHasher(mh.MinHashConfig(num_perm=16, ngram=3, seed=7))
    sig, counts = hasher.signatures(TEXTS)
    for i, text in enumerate(TEXTS):
        assert sig[i].tolist() == reference_signature(text, hasher), text
        assert counts[i] == len(re.findall(r"[A-Za-z_0-9]+", text))


def test_tokens_match_bigcode_split_without_empty_pieces():
    hasher = mh.MinHasher()
    text = "foo_bar(x1,  y)->Baz::qux  é ü"
    assert hasher.tokens(text) == [t for t in re.split(r"[^A-Za-z_0-9]", text) if t]
    assert mh.MinHasher(mh.MinHashConfig(lowercase=True)).tokens("Foo BAR") == ["foo", "bar"]


def test_reformatting_keeps_the_signature_and_seed_changes_it():
    hasher = mh.MinHasher()
    a = "def f(x, y):\n    return x*y + 1\n"
    b = "def f( x,y ):\n\n        return x * y+1"
    sig, _ = hasher.signatures([a, b])
    assert (sig[0] == sig[1]).all()
    other, _ = mh.MinHasher(mh.MinHashConfig(seed=2)).signatures([a])
    assert not (other[0] == sig[0]).all()


def test_jaccard_estimates_track_true_jaccard():
    rng = random.Random(0)
    hasher = mh.MinHasher(mh.MinHashConfig(num_perm=256, ngram=1))
    vocab = [f"w{i}" for i in range(2000)]
    errors = []
    for target in (0.2, 0.5, 0.8):
        base = rng.sample(vocab, 300)
        keep = int(round(300 * 2 * target / (1 + target)))  # |A∩B| for |A| = |B| = 300 and J = target
        other = base[:keep] + rng.sample([v for v in vocab if v not in base], 300 - keep)
        sig, _ = hasher.signatures([" ".join(base), " ".join(other)])
        est = float((sig[0] == sig[1]).mean())
        true = len(set(base) & set(other)) / len(set(base) | set(other))
        errors.append(abs(est - true))
    # standard error of a 256-permutation estimate is ≤ 0.032; allow ~3 sigma
    assert max(errors) < 0.1, errors


def test_lsh_parameters_match_datasketch_and_bigcode():
    assert mh.optimal_lsh_params(0.7, 256) == (25, 10)  # BigCode's B=25, R=10
    lsh = pytest.importorskip("datasketch.lsh")
    for threshold in (0.5, 0.7, 0.85):
        for num_perm in (64, 128, 256):
            assert mh.optimal_lsh_params(threshold, num_perm) == lsh._optimal_param(threshold, num_perm, 0.5, 0.5)
    cfg = mh.MinHashConfig()
    assert cfg.describe()["bands"] == 25 and cfg.describe()["rows"] == 10
    assert mh.candidate_probability(0.9, 25, 10) > 0.99 > 0.05 > mh.candidate_probability(0.4, 25, 10)


@pytest.mark.parametrize("kwargs", [{"num_perm": 1}, {"ngram": 0}, {"threshold": 1.0}, {"bands": 5},
                                    {"bands": 30, "rows": 10}])
def test_bad_config_is_a_clear_error(kwargs):
    with pytest.raises(CodequarryError):
        mh.MinHashConfig(**kwargs)


def test_candidate_pairs_are_star_edges_to_the_first_row():
    bands = np.array([[1, 7], [1, 8], [2, 8], [3, 9], [1, 10]], dtype=np.uint64)
    edges = mh.candidate_pairs(bands)
    assert edges.tolist() == [[0, 1], [0, 4], [1, 2]]
    active = np.array([True, False, True, True, True])
    assert mh.candidate_pairs(bands, active).tolist() == [[0, 4]]


def test_union_find_labels_do_not_depend_on_edge_order():
    rng = random.Random(3)
    edges = [(rng.randrange(200), rng.randrange(200)) for _ in range(150)]
    expected = None
    for _ in range(5):
        rng.shuffle(edges)
        labels = mh.cluster_labels(200, np.array(edges, dtype=np.int64))
        if expected is None:
            expected = labels
        assert (labels == expected).all()
    # every label is the smallest member of its component
    for i, lab in enumerate(expected.tolist()):
        assert lab <= i and expected[lab] == lab


def test_union_find_by_size_and_path_compression():
    uf = mh.UnionFind(6)
    uf.union(4, 5)
    uf.union(3, 4)  # size 1 joins the size-2 set whose root is 4
    assert uf.find(3) == 4
    uf.union(0, 1)
    uf.union(1, 4)  # sizes 2 and 3: the larger set's root stays
    assert uf.find(0) == 4 and uf.parent[0] == 4  # path compressed
    assert uf.labels().tolist() == [0, 0, 2, 0, 0, 0]


def test_cluster_texts_groups_near_duplicates_and_verify_prunes():
    base = "def compute_total(values, weights):\n    total = 0\n    for v, w in zip(values, weights):\n        total += v * w\n    return total\n"
    near = base.replace("return total", "return total  # done")
    other = "class Parser:\n    def parse(self, text):\n        return [tok for tok in text.split() if tok]\n"
    labels = mh.cluster_texts([other, base, near, base])
    assert labels.tolist() == [0, 1, 1, 1]
    assert mh.cluster_texts([base, near], verify=True).tolist() == [0, 0]


def test_hasher_pickles_and_keeps_results():
    hasher = mh.MinHasher(mh.MinHashConfig(num_perm=32))
    clone = pickle.loads(pickle.dumps(hasher))
    a, _ = hasher.signatures(TEXTS)
    b, _ = clone.signatures(TEXTS)
    assert (a == b).all()
