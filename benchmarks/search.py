"""Exact dense top-k search: float32 BLAS matmul in memory-bounded blocks, deterministic ties.

The corpus is walked in chunks and the queries in blocks, so that one score block (queries × chunk, one
reused buffer) stays within ``memory_budget_bytes``; the running top k of each query is merged exactly
across chunks and sorted once at the end. Inside a block the top k are found without sorting whole rows:
the chunk's columns are split into ``G`` strided groups (column ``i*G + j`` belongs to group ``j``), and
the k-th largest group maximum is a lower bound on the k-th largest score (those k maxima are k distinct
scores), so every top-k doc lies in a group whose maximum reaches it; only those ``k`` groups' scores are
partitioned. Rows where a shortcut could be ambiguous (group maxima, or the k-th score itself, tied across
the cut) take an exact pass. The selection kernels release the GIL, so the rows of a block are split over
threads (one per available core) while the matmul itself uses BLAS threads.

Ranking rule (the one trec_eval applies to a run): score descending, then doc id descending, compared as
strings when ``doc_ids`` are given, else by corpus index (larger index first). A tie that straddles the
k-th place is resolved by this rule, never by the partition's arbitrary choice. Scores are float32 from
the matmul; identical inputs give identical results, but different BLAS builds or thread counts may change
the last bits of a score and so which of two near-equal docs ranks first.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from codequarry.errors import CodequarryError

SIMILARITIES = ("dot", "cos")
_NAN = "exact_search: a score is NaN; the query or corpus vectors contain NaN or inf values"
_BYTES_PER_SCORE = 10.0  # float32 score + headroom for the per-block temporaries (group maxima, candidates, masks)
_MAX_BLOCK = 1024  # queries per matmul: larger blocks gain little


def tie_keys(doc_ids: Sequence[str] | None, n: int) -> np.ndarray:
    """Rank of each doc id in ascending string order (int64): the higher key wins a score tie."""
    if doc_ids is None:
        return np.arange(n, dtype=np.int64)
    if len(doc_ids) != n:
        raise CodequarryError(f"exact_search: {len(doc_ids)} doc ids for {n} corpus vectors; give one id per row")
    arr = np.asarray([str(d) for d in doc_ids])
    order = np.argsort(arr, kind="stable")
    srt = arr[order]
    if n > 1:
        dup = np.flatnonzero(srt[1:] == srt[:-1])
        if dup.size:
            raise CodequarryError(f"exact_search: doc id {srt[dup[0]]!r} occurs more than once; doc ids must be unique")
    keys = np.empty(n, dtype=np.int64)
    keys[order] = np.arange(n, dtype=np.int64)
    return keys


def plan_blocks(n_queries: int, n_docs: int, k: int, memory_budget_bytes: int,
                query_block: int | None = None, corpus_chunk: int | None = None) -> tuple[int, int]:
    """Query block and corpus chunk sizes whose score block (and its temporaries) fits the memory budget."""
    cells = max(int(max(int(memory_budget_bytes), 1) / _BYTES_PER_SCORE), 1)
    rows = max(1, min(n_queries, _MAX_BLOCK if query_block is None else int(query_block)))
    if corpus_chunk is None:
        corpus_chunk = max(cells // rows, 2 * k, 1024)
        n_chunks = -(-n_docs // corpus_chunk)  # equal chunks rather than a full one and a sliver
        corpus_chunk = -(-n_docs // max(n_chunks, 1))
    corpus_chunk = max(1, min(int(corpus_chunk), max(n_docs, 1)))
    if query_block is None:
        rows = max(1, min(rows, cells // corpus_chunk))
        n_blocks = -(-n_queries // rows)
        rows = -(-n_queries // max(n_blocks, 1))
    return max(1, min(rows, max(n_queries, 1))), corpus_chunk


def _threads() -> int:
    try:
        return max(1, min(len(os.sched_getaffinity(0)), 16))
    except AttributeError:  # not Linux
        return max(1, min(os.cpu_count() or 1, 16))


def _key(keys: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Tie keys of corpus columns; an empty slot (column -1) gets the lowest key."""
    return np.where(cols >= 0, keys[np.maximum(cols, 0)], -1)


def _exact_row(vals: np.ndarray, cols: np.ndarray, keys: np.ndarray, k: int) -> np.ndarray:
    """Positions (into ``vals``) of the exact top k under (score desc, key desc), unordered."""
    m = vals.shape[0]
    if k >= m:
        return np.arange(m)
    t = np.partition(vals, m - k)[m - k]
    above = np.flatnonzero(vals > t)
    tied = np.flatnonzero(vals == t)
    need = k - above.size
    if need < tied.size:
        tied = tied[np.argsort(-_key(keys, cols[tied]), kind="stable")[:need]]
    return np.concatenate([above, tied])


def _select(vals: np.ndarray, cols: np.ndarray, keys: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact top k (unordered) of each row of candidate scores ``vals`` (b × m) at corpus columns ``cols``."""
    b, m = vals.shape
    if k >= m:
        return vals, cols
    kth = np.partition(vals, m - k, axis=1)[:, m - k]
    mask = vals >= kth[:, None]
    counts = mask.sum(axis=1)
    tie_rows = np.flatnonzero(counts != k)  # a tie straddles the cut: resolve those rows by key
    if tie_rows.size:
        mask[tie_rows] = False
        mask[tie_rows, 0:k] = True  # placeholder positions, overwritten below
    pos = np.nonzero(mask)[1].reshape(b, k)
    for r in tie_rows:
        pos[r] = _exact_row(vals[r], cols[r], keys, k)
    rows = np.arange(b)[:, None]
    return vals[rows, pos], cols[rows, pos]


def _block_topk(S: np.ndarray, offset: int, keys: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact top k (unordered) of each row of the score block ``S`` whose columns start at ``offset``."""
    b, n = S.shape
    g = int(math.sqrt(n / (8.0 * k))) if k < n else 1
    G = n // g if g > 1 else 0
    if g < 2 or G < 2 * k:
        if np.isnan(S).any():
            raise CodequarryError(_NAN)
        cols = np.broadcast_to(np.arange(offset, offset + n, dtype=np.int64), (b, n))
        return _select(S, cols, keys, k)
    gmax = S[:, : g * G].reshape(b, g, G).max(axis=1)  # group j = columns j, j+G, j+2G, ...
    if np.isnan(gmax).any() or (g * G < n and np.isnan(S[:, g * G:]).any()):
        raise CodequarryError(_NAN)
    bound = np.partition(gmax, G - k, axis=1)[:, G - k]  # k-th best group maximum <= k-th best score
    mask = gmax >= bound[:, None]
    ambiguous = np.flatnonzero(mask.sum(axis=1) != k)  # group maxima tied at the bound
    if ambiguous.size:
        mask[ambiguous] = False
        mask[ambiguous, 0:k] = True  # placeholder groups; these rows are redone exactly below
    groups = np.nonzero(mask)[1].reshape(b, k)
    cols = (np.arange(g, dtype=np.int64)[None, :, None] * G + groups[:, None, :]).reshape(b, g * k)
    if g * G < n:  # tail columns not in any group are always candidates
        tail = np.arange(g * G, n, dtype=np.int64)
        cols = np.concatenate([cols, np.broadcast_to(tail, (b, tail.size))], axis=1)
    vals = np.take(S.reshape(-1), cols + (np.arange(b, dtype=np.int64) * n)[:, None])
    top_v, top_c = _select(vals, cols + offset, keys, k)
    for r in ambiguous:  # exact pass over the whole row
        full_cols = np.arange(offset, offset + n, dtype=np.int64)
        pos = _exact_row(S[r], full_cols, keys, k)
        top_v[r], top_c[r] = S[r, pos], full_cols[pos]
    return top_v, top_c


def _order(vals: np.ndarray, cols: np.ndarray, keys: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Sort each row by (score desc, key desc) and keep the first k."""
    order = np.lexsort((-_key(keys, cols), -vals), axis=1)[:, :k]
    return np.take_along_axis(vals, order, axis=1), np.take_along_axis(cols, order, axis=1)


def _as_float32(x: np.ndarray, what: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.ndim != 2:
        raise CodequarryError(f"exact_search: {what} must be a 2-D array (rows × dim), got shape {arr.shape}")
    if arr.dtype != np.float32:
        arr = arr.astype(np.float32)
    return arr


def exact_search(queries: np.ndarray, corpus: np.ndarray, k: int, *, doc_ids: Sequence[str] | None = None,
                 query_block: int | None = None, corpus_chunk: int | None = None,
                 memory_budget_bytes: int = 1 << 30, exclude: Mapping[int, Sequence[int]] | None = None,
                 similarity: str = "dot") -> tuple[np.ndarray, np.ndarray]:
    """Top-k corpus rows per query: (indices int64 Q×k, scores float32 Q×k), best first, ties by doc id desc.

    ``similarity="cos"`` divides by the vector norms (a zero vector scores 0). ``exclude[q]`` lists corpus
    indices never returned for query ``q``. Slots beyond the available docs hold index -1 and score -inf.
    The corpus may be a ``np.memmap``; only one chunk of it is converted at a time when it is not float32.
    Block sizes follow ``memory_budget_bytes`` (see ``plan_blocks``) unless ``query_block``/``corpus_chunk``
    are given; the result does not depend on them.
    """
    if similarity not in SIMILARITIES:
        raise CodequarryError(f"exact_search: unknown similarity {similarity!r}; use one of {SIMILARITIES}")
    q = _as_float32(queries, "queries")
    if np.asarray(corpus).ndim != 2:
        raise CodequarryError(f"exact_search: corpus must be a 2-D array, got shape {np.shape(corpus)}")
    n_docs, dim = corpus.shape
    if q.shape[1] != dim:
        raise CodequarryError(f"exact_search: queries have dimension {q.shape[1]} but the corpus has {dim}")
    if int(k) != k or k < 1:
        raise CodequarryError(f"exact_search: k must be a positive integer, got {k!r}")
    k = int(k)
    n_q = q.shape[0]
    keys = tie_keys(doc_ids, n_docs)
    out_idx = np.full((n_q, k), -1, dtype=np.int64)
    out_val = np.full((n_q, k), -np.inf, dtype=np.float32)
    if n_q == 0 or n_docs == 0:
        return out_idx, out_val
    if similarity == "cos":
        qn = np.linalg.norm(q, axis=1, keepdims=True)
        q = q / np.where(qn > 0, qn, 1)
    excl = {int(i): np.asarray(list(v), dtype=np.int64) for i, v in (exclude or {}).items() if len(v)}
    for i, v in excl.items():
        if not 0 <= i < n_q or (v.size and (v.min() < 0 or v.max() >= n_docs)):
            raise CodequarryError(f"exact_search: exclude[{i}] is out of range ({n_q} queries, {n_docs} docs)")
    kk = min(k, n_docs)
    block, chunk = plan_blocks(n_q, n_docs, kk, memory_budget_bytes, query_block, corpus_chunk)
    buf = np.empty(block * min(chunk, n_docs), dtype=np.float32)  # one score block, reused across blocks
    n_threads = min(_threads(), max(1, block // 32))
    pool = ThreadPoolExecutor(n_threads) if n_threads > 1 else None

    def select(S: np.ndarray, q0: int, c0: int, kc: int) -> None:
        q1 = q0 + S.shape[0]
        vals, cols = _block_topk(S, c0, keys, kc)
        if c0 > 0:  # merge with the running top k of the earlier chunks (unordered until the end)
            vals, cols = _select(np.concatenate([out_val[q0:q1], vals], axis=1),
                                 np.concatenate([out_idx[q0:q1], cols], axis=1), keys, kk)
        out_val[q0:q1, : vals.shape[1]] = vals
        out_idx[q0:q1, : cols.shape[1]] = cols

    try:
        for c0 in range(0, n_docs, chunk):
            c1 = min(c0 + chunk, n_docs)
            part = _as_float32(corpus[c0:c1], "corpus")
            inv_norm = None
            if similarity == "cos":
                nrm = np.linalg.norm(part, axis=1)
                inv_norm = (1.0 / np.where(nrm > 0, nrm, 1)).astype(np.float32)
            kc = min(kk, c1 - c0)
            for q0 in range(0, n_q, block):
                q1 = min(q0 + block, n_q)
                S = np.matmul(q[q0:q1], part.T, out=buf[: (q1 - q0) * (c1 - c0)].reshape(q1 - q0, c1 - c0))
                if inv_norm is not None:
                    S *= inv_norm[None, :]
                for i in range(q0, q1):
                    v = excl.get(i)
                    if v is not None:
                        S[i - q0, v[(v >= c0) & (v < c1)] - c0] = -np.inf
                if pool is None:
                    select(S, q0, c0, kc)
                else:  # numpy releases the GIL in the selection kernels: split the rows over threads
                    step = -(-(q1 - q0) // n_threads)
                    jobs = [pool.submit(select, S[r:r + step], q0 + r, c0, kc) for r in range(0, q1 - q0, step)]
                    for job in jobs:
                        job.result()
    finally:
        if pool is not None:
            pool.shutdown()
    for q0 in range(0, n_q, 4096):  # final order: score desc, then doc id desc
        out_val[q0:q0 + 4096], out_idx[q0:q0 + 4096] = _order(out_val[q0:q0 + 4096], out_idx[q0:q0 + 4096], keys, k)
    for i, v in excl.items():  # excluded docs only surface when nothing else is left: blank them
        row = np.isin(out_idx[i], v)
        if row.any():
            keep = ~row
            out_idx[i] = np.concatenate([out_idx[i][keep], np.full(row.sum(), -1, dtype=np.int64)])
            out_val[i] = np.concatenate([out_val[i][keep], np.full(row.sum(), -np.inf, dtype=np.float32)])
    return out_idx, out_val


def topk_to_run(query_ids: Sequence[str], doc_ids: Sequence[str], idx: np.ndarray,
                scores: np.ndarray) -> dict[str, dict[str, float]]:
    """A ``{qid: {docid: score}}`` run from ``exact_search`` output; empty slots (index -1) are skipped."""
    if len(query_ids) != idx.shape[0] or idx.shape != scores.shape:
        raise CodequarryError(f"topk_to_run: {len(query_ids)} query ids for results of shape {idx.shape} "
                              f"and scores {scores.shape}")
    run: dict[str, dict[str, float]] = {}
    for qid, row_i, row_s in zip(query_ids, idx.tolist(), scores.tolist()):
        run[qid] = {doc_ids[i]: s for i, s in zip(row_i, row_s) if i >= 0}
    return run
