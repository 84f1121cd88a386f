"""Exact search: equal to a full-sort brute force (score desc, doc id desc) across block sizes and paths."""

from __future__ import annotations

import numpy as np
import pytest

from codequarry.benchmarks import search
from codequarry.benchmarks.metrics import evaluate
from codequarry.benchmarks.search import exact_search, plan_blocks, tie_keys, topk_to_run
from codequarry.errors import CodequarryError


def _brute(q, c, k, ids=None, exclude=None, similarity="dot"):
    """Full score matrix, full lexsort by (score desc, id desc as a string / index desc), then cut at k."""
    q = q.astype(np.float32)
    c = c.astype(np.float32)
    if similarity == "cos":
        q = q / np.linalg.norm(q, axis=1, keepdims=True)
        S = (q @ c.T) * (1 / np.linalg.norm(c, axis=1)).astype(np.float32)[None, :]
    else:
        S = q @ c.T
    n = c.shape[0]
    key = np.arange(n) if ids is None else np.argsort(np.argsort(np.asarray(ids)))
    out_i = np.full((len(q), k), -1, dtype=np.int64)
    out_v = np.full((len(q), k), -np.inf, dtype=np.float32)
    for r in range(len(q)):
        order = np.lexsort((-key, -S[r]))
        if exclude and r in exclude:
            order = order[~np.isin(order, exclude[r])]
        order = order[:k]
        out_i[r, : order.size] = order
        out_v[r, : order.size] = S[r, order]
    return out_i, out_v


def _dyadic(rng, shape, levels):
    """Values on a coarse grid (multiples of 1/8): every dot product is exact in float32, whatever the blocking."""
    return (rng.integers(-levels, levels + 1, shape) / 8).astype(np.float32)


@pytest.mark.parametrize("levels", [1, 2, 40])  # 1-2: almost every score tied; 40: few ties
@pytest.mark.parametrize("with_ids", [False, True])
def test_equal_to_brute_force_across_blocks_and_chunks(levels, with_ids):
    rng = np.random.default_rng(levels)
    n, nq, d = 5000, 70, 6
    c = _dyadic(rng, (n, d), levels)
    q = _dyadic(rng, (nq, d), 3)
    ids = [f"doc{int(x)}" for x in rng.permutation(n)] if with_ids else None
    for k in (1, 7, 50):
        ref = _brute(q, c, k, ids)
        for qb, cc in [(None, None), (3, 700), (64, 1000), (70, 4999), (1, 5000)]:
            idx, val = exact_search(q, c, k, doc_ids=ids, query_block=qb, corpus_chunk=cc)
            np.testing.assert_array_equal(idx, ref[0], err_msg=f"k={k} block={qb} chunk={cc}")
            np.testing.assert_array_equal(val, ref[1])


def test_tie_straddling_the_cut_is_resolved_by_doc_id(monkeypatch):
    """Scores 5, then 3 for many docs: which 3s make the top k is decided by doc id, not by argpartition."""
    calls = []
    original = search._exact_row
    monkeypatch.setattr(search, "_exact_row", lambda *a: calls.append(1) or original(*a))
    n = 40000
    c = np.zeros((n, 2), dtype=np.float32)
    c[:, 0] = 3.0
    c[123, 0] = 5.0
    q = np.array([[1.0, 0.0]], dtype=np.float32)
    ids = [f"id{(i * 7919) % n:05d}" for i in range(n)]  # string order unrelated to the index
    idx, val = exact_search(q, c, 10, doc_ids=ids)
    assert calls  # the exact tie path ran
    ref = _brute(q, c, 10, ids)
    np.testing.assert_array_equal(idx, ref[0])
    assert idx[0, 0] == 123
    assert [ids[i] for i in idx[0, 1:]] == sorted((x for j, x in enumerate(ids) if j != 123), reverse=True)[:9]
    idx2, _ = exact_search(q, c, 10)  # no ids: the larger index wins the tie
    assert list(idx2[0, 1:]) == list(range(n - 1, n - 10, -1))


def test_grouped_path_with_continuous_scores_matches_full_sort():
    rng = np.random.default_rng(7)
    c = rng.standard_normal((30000, 16)).astype(np.float32)
    q = rng.standard_normal((40, 16)).astype(np.float32)
    S = q @ c.T
    idx, val = exact_search(q, c, 25)
    for r in range(len(q)):
        order = np.argsort(-S[r], kind="stable")[:25]
        assert set(order) == set(idx[r])
        np.testing.assert_allclose(val[r], S[r, order], rtol=1e-6)
    assert (np.diff(val, axis=1) <= 0).all()


def test_memory_budget_bounds_the_blocks():
    rng = np.random.default_rng(3)
    c = _dyadic(rng, (3000, 8), 4)
    q = _dyadic(rng, (50, 8), 2)
    block, chunk = plan_blocks(50, 3000, 10, 64 * 1024)
    assert block * chunk * 4 <= 64 * 1024 and chunk < 3000
    ref = _brute(q, c, 10)
    idx, val = exact_search(q, c, 10, memory_budget_bytes=64 * 1024)
    np.testing.assert_array_equal(idx, ref[0])
    np.testing.assert_array_equal(val, ref[1])


def test_memmap_corpus(tmp_path):
    rng = np.random.default_rng(4)
    c = _dyadic(rng, (2000, 8), 3)
    path = tmp_path / "corpus.npy"
    np.save(path, c)
    q = _dyadic(rng, (5, 8), 2)
    idx, val = exact_search(q, np.load(path, mmap_mode="r"), 20, corpus_chunk=300)
    ref = _brute(q, c, 20)
    np.testing.assert_array_equal(idx, ref[0])


def test_exclude_and_padding():
    rng = np.random.default_rng(5)
    c = _dyadic(rng, (30, 4), 2)
    q = _dyadic(rng, (3, 4), 2)
    exclude = {0: [1, 2, 3], 2: list(range(30))}
    for cc in (None, 7):
        idx, val = exact_search(q, c, 40, exclude=exclude, corpus_chunk=cc)
        ref = _brute(q, c, 40, exclude=exclude)
        np.testing.assert_array_equal(idx, ref[0])
        np.testing.assert_array_equal(val, ref[1])
        assert (idx[2] == -1).all() and np.isneginf(val[2]).all()  # everything excluded
        assert (idx[1, 30:] == -1).all()  # k > corpus: padded
        assert not np.isin(idx[0], [1, 2, 3]).any()


def test_cosine_similarity():
    rng = np.random.default_rng(6)
    n = 400
    c = np.zeros((n, 12), dtype=np.float32)  # four ±1 entries per row: norm 2 exactly, scores exact
    for i in range(n):
        c[i, rng.choice(12, 4, replace=False)] = rng.choice([-1.0, 1.0], 4)
    c[::3] *= 4  # different lengths, same directions: cos ignores them, dot does not
    q = np.zeros((9, 12), dtype=np.float32)
    for i in range(9):
        q[i, rng.choice(12, 4, replace=False)] = rng.choice([-1.0, 1.0], 4)
    idx, val = exact_search(q, c, 15, similarity="cos", corpus_chunk=100)
    ref = _brute(q, c, 15, similarity="cos")
    np.testing.assert_array_equal(idx, ref[0])
    np.testing.assert_array_equal(val, ref[1])
    assert val.max() <= 1.0
    assert not np.array_equal(exact_search(q, c, 15)[0], idx)


def test_threads_split_large_blocks():
    rng = np.random.default_rng(8)
    c = _dyadic(rng, (4000, 5), 2)
    q = _dyadic(rng, (300, 5), 2)
    ids = [str(i) for i in rng.permutation(4000)]
    ref = _brute(q, c, 30, ids)
    idx, val = exact_search(q, c, 30, doc_ids=ids, query_block=300)
    np.testing.assert_array_equal(idx, ref[0])


def test_run_order_agrees_with_metric_tie_rule():
    """The search's order and trec_eval's ranking of the resulting run are the same list."""
    rng = np.random.default_rng(9)
    c = _dyadic(rng, (500, 3), 1)
    q = _dyadic(rng, (4, 3), 1)
    ids = [str(i) for i in range(500)]  # integer-like: string order differs from numeric order
    idx, val = exact_search(q, c, 50, doc_ids=ids)
    run = topk_to_run(["a", "b", "c", "d"], ids, idx, val)
    for r, qid in enumerate(run):
        for pos, i in enumerate(idx[r]):
            qrels = {qid: {ids[i]: 1}}
            mrr = evaluate(qrels, {qid: run[qid]}, ["mrr"]).means["mrr"]
            assert mrr == pytest.approx(1 / (pos + 1))
            if pos > 5:
                break


def test_agrees_with_faiss():
    faiss = pytest.importorskip("faiss")
    rng = np.random.default_rng(10)
    c = rng.standard_normal((20000, 32)).astype(np.float32)
    q = rng.standard_normal((30, 32)).astype(np.float32)
    index = faiss.IndexFlatIP(32)
    index.add(c)
    D, Ref = index.search(q, 10)
    idx, val = exact_search(q, c, 10)
    np.testing.assert_array_equal(idx, Ref)
    np.testing.assert_allclose(val, D, rtol=1e-5, atol=1e-5)


def test_topk_to_run_skips_empty_slots():
    idx = np.array([[2, 0, -1]])
    val = np.array([[0.5, 0.25, -np.inf]], dtype=np.float32)
    assert topk_to_run(["q"], ["a", "b", "c"], idx, val) == {"q": {"c": 0.5, "a": 0.25}}
    with pytest.raises(CodequarryError):
        topk_to_run(["q", "r"], ["a"], idx, val)


def test_errors():
    c = np.ones((5, 3), dtype=np.float32)
    with pytest.raises(CodequarryError, match="dimension"):
        exact_search(np.ones((1, 4)), c, 2)
    with pytest.raises(CodequarryError, match="similarity"):
        exact_search(np.ones((1, 3)), c, 2, similarity="l2")
    with pytest.raises(CodequarryError, match="more than once"):
        exact_search(np.ones((1, 3)), c, 2, doc_ids=["a", "b", "a", "c", "d"])
    with pytest.raises(CodequarryError, match="NaN"):
        bad = c.copy()
        bad[2, 1] = np.nan
        exact_search(np.ones((1, 3)), bad, 2)
    with pytest.raises(CodequarryError, match="positive"):
        exact_search(np.ones((1, 3)), c, 0)
    with pytest.raises(CodequarryError, match="out of range"):
        exact_search(np.ones((1, 3)), c, 2, exclude={0: [9]})
    np.testing.assert_array_equal(tie_keys(["b", "a", "c"], 3), [1, 0, 2])
