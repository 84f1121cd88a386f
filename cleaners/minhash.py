"""MinHash-LSH near-duplicate detection over code-aware shingles, vectorised with NumPy.

Pipeline (every choice is recorded by :meth:`MinHashConfig.describe`, so a card can publish it):

1. **Tokens**: BigCode's case-preserving split on ``[^A-Za-z_0-9]`` (``re.findall(r"[A-Za-z_0-9]+")``).
   BigCode's v1 script splits on each single separator and so keeps empty pieces, which makes
   shingles depend on whitespace; we drop them, so reformatting leaves the shingles unchanged.
2. **Shingles**: word n-grams (default 5). A row with fewer than ``ngram`` tokens (but at least
   one) is one shingle of all its tokens; a row without tokens has no shingles.
3. **Shingle hash**: each distinct token is hashed once with ``xxh3_64(token, seed)``; an n-gram
   of token hashes ``h_0 … h_{n-1}`` hashes to ``fmix64(Σ m_k·h_k mod 2^64)`` (``m_k`` random odd
   64-bit constants, ``fmix64`` the MurmurHash3 finalizer), and its high 32 bits are kept.
4. **Permutations** ("affine32", the default scheme of datasketch ≥ 2.0): ``π_j(x) = (a_j·x + b_j)
   mod 2^32`` with ``a_j`` odd, a bijection on 32-bit values; ``a``, ``b`` and ``m`` are drawn in
   that order from ``numpy.random.RandomState(seed)``. The signature is the per-permutation minimum,
   computed as one broadcast + ``minimum.reduceat`` per chunk of rows.
5. **LSH**: ``b`` bands of ``r`` rows chosen like datasketch (minimise 0.5·FP + 0.5·FN areas of the
   S-curve around the threshold; 256 permutations at 0.7 give b=25, r=10). A band hashes to
   ``fmix64(Σ c_k·v_k mod 2^64)``; rows sharing a band hash in any band are candidates.
6. **Clusters**: union-find (path compression, union by size, ties to the smaller index) over
   candidate pairs, optionally verified by exact shingle Jaccard first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from codequarry.errors import CodequarryError

TOKEN_PATTERN = r"[A-Za-z_0-9]+"
HASH_FAMILY = "xxh3_64-tokens/fmix64-ngrams/affine32"
MAX_HASH32 = np.uint32(0xFFFFFFFF)
_CHUNK = 4096  # shingles per broadcast: (num_perm × chunk) uint32 stays in L2 cache
_TABLE = bytes(c if chr(c).isascii() and (chr(c).isalnum() or c == 95) else 32 for c in range(256))
_M1 = np.uint64(0xFF51AFD7ED558CCD)
_M2 = np.uint64(0xC4CEB9FE1A85EC53)
_S33 = np.uint64(33)
_S32 = np.uint64(32)


def fmix64(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finalizer (a bijection that spreads every input bit over the output)."""
    h = h ^ (h >> _S33)
    h *= _M1
    h ^= h >> _S33
    h *= _M2
    h ^= h >> _S33
    return h


# --------------------------------------------------------------------------------------------
# LSH parameters


def _error_areas(threshold: float, num_perm: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """False-positive and false-negative areas of the S-curve for every (b, r) with b·r ≤ num_perm.

    FP = ∫_0^t 1-(1-s^r)^b ds and FN = ∫_t^1 (1-s^r)^b ds, in closed form: substituting u = s^r,
    ∫_0^x (1-s^r)^b ds = B(1/r, b+1)·I_{x^r}(1/r, b+1) / r (incomplete beta), so no quadrature loop.
    """
    from scipy.special import beta, betainc

    pairs = [(b, r) for b in range(1, num_perm + 1) for r in range(1, num_perm // b + 1)]
    bb = np.array([p[0] for p in pairs], dtype=np.float64)
    rr = np.array([p[1] for p in pairs], dtype=np.float64)
    full = beta(1.0 / rr, bb + 1.0) / rr  # ∫_0^1 (1-s^r)^b ds
    below = full * betainc(1.0 / rr, bb + 1.0, threshold**rr)  # ∫_0^t (1-s^r)^b ds
    return bb, rr, threshold - below, full - below


@lru_cache(maxsize=64)
def optimal_lsh_params(threshold: float, num_perm: int, fp_weight: float = 0.5, fn_weight: float = 0.5) -> tuple[int, int]:
    """Bands and rows minimising the weighted false-positive and false-negative areas (datasketch's rule)."""
    if not 0.0 < threshold < 1.0:
        raise CodequarryError(f"MinHash threshold must be between 0 and 1 (exclusive), got {threshold}")
    bb, rr, fp, fn = _error_areas(threshold, num_perm)
    best = int(np.argmin(fp_weight * fp + fn_weight * fn))  # first minimum, in datasketch's (b, r) order
    return int(bb[best]), int(rr[best])


def candidate_probability(jaccard: float, bands: int, rows: int) -> float:
    """Probability that two rows with this Jaccard similarity share at least one band."""
    return 1.0 - (1.0 - jaccard**rows) ** bands


# --------------------------------------------------------------------------------------------
# configuration


@dataclass(frozen=True)
class MinHashConfig:
    """Every parameter that changes a signature or a candidate set."""

    num_perm: int = 256
    ngram: int = 5
    threshold: float = 0.7
    seed: int = 1
    bands: int | None = None
    rows: int | None = None
    lowercase: bool = False

    def __post_init__(self) -> None:
        if self.num_perm < 2:
            raise CodequarryError(f"num_perm must be at least 2, got {self.num_perm}")
        if self.ngram < 1:
            raise CodequarryError(f"ngram must be at least 1, got {self.ngram}")
        if not 0.0 < self.threshold < 1.0:
            raise CodequarryError(f"threshold must be between 0 and 1 (exclusive), got {self.threshold}")
        if (self.bands is None) != (self.rows is None):
            raise CodequarryError("give both bands and rows, or neither (then they are derived from the threshold)")
        if self.bands is not None and self.rows is not None:
            if self.bands < 1 or self.rows < 1 or self.bands * self.rows > self.num_perm:
                raise CodequarryError(
                    f"bands × rows must be ≤ num_perm ({self.bands} × {self.rows} > {self.num_perm}) and both ≥ 1"
                )

    @property
    def lsh(self) -> tuple[int, int]:
        """(bands, rows): as given, or optimal for the threshold."""
        if self.bands is not None and self.rows is not None:
            return self.bands, self.rows
        return optimal_lsh_params(self.threshold, self.num_perm)

    def describe(self) -> dict[str, Any]:
        """Everything needed to reproduce the signatures and candidates (for the manifest and card)."""
        b, r = self.lsh
        return {
            "tokenizer": f"findall {TOKEN_PATTERN}" + (" (lower-cased)" if self.lowercase else " (case-preserving)"),
            "ngram": self.ngram,
            "num_perm": self.num_perm,
            "seed": self.seed,
            "hash_family": HASH_FAMILY,
            "permutation": "(a*x + b) mod 2^32, a odd, a/b/m from numpy RandomState(seed)",
            "threshold": self.threshold,
            "bands": b,
            "rows": r,
            "lsh_threshold": round((1.0 / b) ** (1.0 / r), 4),
        }


# --------------------------------------------------------------------------------------------
# hashing


class MinHasher:
    """Turns texts into shingle hashes, signatures and band hashes; pure and picklable."""

    def __init__(self, config: MinHashConfig | None = None) -> None:
        self.config = config or MinHashConfig()
        cfg = self.config
        rng = np.random.RandomState(cfg.seed % (1 << 32))
        self.a = (rng.randint(0, 1 << 31, cfg.num_perm, dtype=np.uint64) * 2 + 1).astype(np.uint32)
        self.b = rng.randint(0, 1 << 32, cfg.num_perm, dtype=np.uint64).astype(np.uint32)
        self.m = rng.randint(0, 1 << 63, cfg.ngram, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
        bands, rows = cfg.lsh
        self.bands, self.rows = bands, rows
        self.c = rng.randint(0, 1 << 63, rows, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
        self._a_col = self.a[:, None]
        self._b_col = self.b[:, None]
        self._findall = re.compile(TOKEN_PATTERN).findall

    # tokens ------------------------------------------------------------------------------
    def tokens(self, text: str | None) -> list[str]:
        """The shingling tokens of one text."""
        if not text:
            return []
        return self._findall(text.lower() if self.config.lowercase else text)

    def _token_hashes(self, texts: Sequence[str | None]) -> tuple[np.ndarray, np.ndarray]:
        """All token hashes of a batch, flattened, and the token count of each text."""
        import xxhash

        lowercase = self.config.lowercase
        counts = np.zeros(len(texts), dtype=np.int64)
        flat: list[bytes] = []
        extend = flat.extend
        for i, text in enumerate(texts):
            if text:
                # UTF-8 bytes ≥ 0x80 and every ASCII non-token byte become spaces: the same tokens as
                # re.findall(TOKEN_PATTERN) on the str, about twice as fast
                toks = (text.lower() if lowercase else text).encode("utf-8", "surrogatepass").translate(_TABLE).split()
                counts[i] = len(toks)
                extend(toks)
        # hash each distinct token once; a dict keeps this pure (no state between batches)
        table: dict[bytes, int] = dict.fromkeys(flat, 0)
        xx, seed = xxhash.xxh3_64_intdigest, self.config.seed
        for tok in table:
            table[tok] = xx(tok, seed)
        hashes = np.fromiter(map(table.__getitem__, flat), dtype=np.uint64, count=len(flat))
        return hashes, counts

    def shingles(self, texts: Sequence[str | None]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """32-bit shingle hashes of a batch (flattened), offsets into them per text, and token counts."""
        tok, counts = self._token_hashes(texts)
        n = self.config.ngram
        total = len(tok)
        ends = np.cumsum(counts)
        starts = ends - counts
        if total == 0:
            return np.zeros(0, np.uint32), np.zeros(len(texts) + 1, np.int64), counts
        padded = np.concatenate([tok, np.zeros(n, np.uint64)])
        acc = padded[:total] * self.m[0]
        for k in range(1, n):
            acc += padded[k : k + total] * self.m[k]
        # position i starts a full n-gram when i + n <= end of its text
        doc_end = np.repeat(ends, counts)
        valid = np.arange(total, dtype=np.int64) + n <= doc_end
        short = np.flatnonzero((counts > 0) & (counts < n))
        if len(short):
            # a text shorter than n tokens is one shingle of all its tokens
            for i in short:
                s, c = starts[i], counts[i]
                acc[s] = np.sum(tok[s : s + c] * self.m[:c], dtype=np.uint64)
            valid[starts[short]] = True
        per_text = np.where(counts >= n, counts - n + 1, np.minimum(counts, 1))
        offsets = np.zeros(len(texts) + 1, np.int64)
        np.cumsum(per_text, out=offsets[1:])
        hashed = (fmix64(acc[valid]) >> _S32).astype(np.uint32)
        return hashed, offsets, counts

    def signatures_from_shingles(self, hashed: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """MinHash signatures (rows × num_perm, uint32); a text without shingles gets all 0xFFFFFFFF.

        The array is a transposed view of a permutation-major buffer, so that one permutation across
        all rows is contiguous (what band hashing reads).
        """
        n_docs = len(offsets) - 1
        perm = self.config.num_perm
        sig_t = np.full((perm, n_docs), MAX_HASH32, dtype=np.uint32)
        sizes = np.diff(offsets)
        nonempty = np.flatnonzero(sizes > 0)
        buf = np.empty((perm, _CHUNK), dtype=np.uint32)
        a, b = self._a_col, self._b_col
        ends = offsets[nonempty + 1]
        i = 0
        while i < len(nonempty):
            s0 = offsets[nonempty[i]]
            # the non-empty rows whose shingles fit in one chunk (at least one row)
            j = max(i + 1, int(np.searchsorted(ends, s0 + _CHUNK, side="right")))
            docs = nonempty[i:j]
            s1 = ends[j - 1]
            width = s1 - s0
            out = buf[:, :width] if width <= _CHUNK else np.empty((perm, width), dtype=np.uint32)
            np.multiply(a, hashed[s0:s1][None, :], out=out)
            np.add(out, b, out=out)
            # empty rows between the chosen ones add no shingles, so [s0, s1) splits at their starts
            sig_t[:, docs] = np.minimum.reduceat(out, offsets[docs] - s0, axis=1)
            i = j
        return sig_t.T

    def signatures(self, texts: Sequence[str | None]) -> tuple[np.ndarray, np.ndarray]:
        """MinHash signatures of a batch of texts and their token counts."""
        hashed, offsets, counts = self.shingles(texts)
        return self.signatures_from_shingles(hashed, offsets), counts

    def band_hashes(self, sig: np.ndarray) -> np.ndarray:
        """One 64-bit hash per (row, band): rows × bands uint64."""
        n = sig.shape[0]
        b, r = self.bands, self.rows
        sig_t = np.asarray(sig).T  # permutation-major: each permutation contiguous when sig came from here
        out = np.empty((b, n), dtype=np.uint64)
        for band in range(b):
            acc = sig_t[band * r].astype(np.uint64) * self.c[0]
            for k in range(1, r):
                acc += sig_t[band * r + k].astype(np.uint64) * self.c[k]
            out[band] = fmix64(acc)
        return out.T

    def shingle_sets(self, texts: Sequence[str | None]) -> list[np.ndarray]:
        """Sorted distinct shingle hashes per text (for exact Jaccard verification)."""
        hashed, offsets, _ = self.shingles(texts)
        return [np.unique(hashed[offsets[i] : offsets[i + 1]]) for i in range(len(texts))]


# --------------------------------------------------------------------------------------------
# candidates and clusters


def candidate_pairs(band_hashes: np.ndarray, active: np.ndarray | None = None) -> np.ndarray:
    """Distinct pairs (i, j), i < j, of rows sharing a band hash; star edges to each bucket's smallest row.

    ``active`` (bool per row) excludes rows from every bucket. Rows are indices into ``band_hashes``;
    with rows in keep order, each edge points at the bucket member that would be kept.
    """
    n, nb = band_hashes.shape
    idx = np.arange(n, dtype=np.int64) if active is None else np.flatnonzero(active).astype(np.int64)
    if len(idx) < 2:
        return np.zeros((0, 2), np.int64)
    edges = []
    for band in range(nb):
        keys = band_hashes[idx, band]
        order = np.argsort(keys, kind="stable")
        ks = keys[order]
        same = ks[1:] == ks[:-1]
        if not same.any():
            continue
        starts = np.concatenate([[True], ~same])
        run = np.cumsum(starts) - 1
        first = order[np.flatnonzero(starts)][run]
        member = ~starts
        edges.append(np.stack([idx[first[member]], idx[order[member]]], axis=1))
    if not edges:
        return np.zeros((0, 2), np.int64)
    all_edges = np.concatenate(edges)
    lo = np.minimum(all_edges[:, 0], all_edges[:, 1])
    hi = np.maximum(all_edges[:, 0], all_edges[:, 1])
    code = np.unique(lo * np.int64(n) + hi)
    return np.stack([code // n, code % n], axis=1)


class UnionFind:
    """Disjoint sets over 0..n-1 with path compression and union by size (ties: smaller index is root)."""

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))
        self.size = [1] * n

    def find(self, x: int) -> int:
        parent = self.parent
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    def union(self, x: int, y: int) -> int:
        rx, ry = self.find(x), self.find(y)
        if rx == ry:
            return rx
        size = self.size
        if size[rx] < size[ry] or (size[rx] == size[ry] and ry < rx):
            rx, ry = ry, rx
        self.parent[ry] = rx
        size[rx] += size[ry]
        return rx

    def union_all(self, edges: Iterable[tuple[int, int]]) -> None:
        for x, y in edges:
            self.union(int(x), int(y))

    def labels(self) -> np.ndarray:
        """The smallest member of each row's set (independent of union order)."""
        n = len(self.parent)
        roots = np.fromiter((self.find(i) for i in range(n)), dtype=np.int64, count=n)
        smallest = np.full(n, n, dtype=np.int64)
        np.minimum.at(smallest, roots, np.arange(n, dtype=np.int64))
        return smallest[roots]


def cluster_labels(n: int, edges: np.ndarray) -> np.ndarray:
    """Connected components of the candidate graph: each row's label is the smallest row in its cluster."""
    uf = UnionFind(n)
    uf.union_all(edges.tolist())
    return uf.labels()


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Exact Jaccard similarity of two sorted distinct arrays."""
    if len(a) == 0 and len(b) == 0:
        return 1.0
    inter = len(np.intersect1d(a, b, assume_unique=True))
    return inter / (len(a) + len(b) - inter)


def verify_pairs(edges: np.ndarray, sets: Sequence[np.ndarray], threshold: float) -> np.ndarray:
    """Keep only candidate pairs whose exact shingle Jaccard reaches the threshold."""
    keep = [k for k, (i, j) in enumerate(edges.tolist()) if jaccard(sets[i], sets[j]) >= threshold]
    return edges[np.asarray(keep, dtype=np.int64)] if keep else np.zeros((0, 2), np.int64)


def cluster_texts(texts: Sequence[str | None], config: MinHashConfig | None = None, *, min_tokens: int = 1,
                  verify: bool = False) -> np.ndarray:
    """One-call near-dedup: cluster label (smallest member index) of each text, in input order."""
    hasher = MinHasher(config)
    sig, counts = hasher.signatures(texts)
    bands = hasher.band_hashes(sig)
    edges = candidate_pairs(bands, counts >= max(1, min_tokens))
    if verify and len(edges):
        edges = verify_pairs(edges, hasher.shingle_sets(texts), hasher.config.threshold)
    return cluster_labels(len(texts), edges)
