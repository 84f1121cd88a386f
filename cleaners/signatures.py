"""MinHash signatures and LSH bands, one index per shingle view (steps 6–7 of ``minhash``).

6. **Permutations** ("affine32", the default scheme of datasketch ≥ 2.0): ``π_j(x) = (a_j·x + b_j)
   mod 2^32`` with ``a_j`` odd, a bijection on 32-bit values; ``a``, ``b``, ``m``, ``c``, the tag and
   then the canonical view's ``c`` are drawn in that order from ``numpy.random.RandomState(seed)``.
   Each view's signature is the per-permutation minimum over that view's shingles (the same ``num_perm``
   permutations for both views, so two views cost what one union of both did), computed as one
   broadcast + ``minimum.reduceat`` per chunk of rows.
7. **LSH**: per view, ``b`` bands of ``r`` rows chosen like datasketch (minimise 0.5·FP + 0.5·FN areas of
   the S-curve around that view's threshold; 256 permutations at 0.7 give b=25, r=10). A band hashes to
   ``fmix64(Σ c_k·v_k mod 2^64)``. The band matrix of a row is its raw bands followed by its canonical
   bands, so rows sharing any band of any view are candidates: the views are combined with OR.

Why separate views: with one index over the *union* of both views' shingles a pure rename with raw
Jaccard j scores (1+3j)/(3+j), under 0.7 whenever j < 0.55, although the canonical view alone is
identical (issue 13 measured 58% recall on realistic renamed clones). With one index per view, a
renamed clone (canonical Jaccard 1) and a reformatted or commented copy (raw Jaccard 1) are each caught
by the view made for it, and each view has its own match rule (:class:`ViewRule`: the canonical view's
also accepts close Type-3 clones, a lower Jaccard with a long shared stretch, so its bands aim lower).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from codequarry.cleaners.shingles import HASH_FAMILY, SHINGLES, TOKEN_PATTERN, Shingler, fmix64
from codequarry.errors import CodequarryError

MAX_HASH32 = np.uint32(0xFFFFFFFF)
CANONICAL_LSH_MARGIN = 0.1  # the canonical bands aim this far below its threshold (its candidates are verified)
CANONICAL_THRESHOLD = 0.7  # the canonical view's default for any pair: BigCode's 0.7, as the raw view
TYPE3_THRESHOLD = 0.4  # the canonical view's Type-3 rule: this Jaccard suffices for pairs sharing …
TYPE3_SHARED = 15  # … at least this many canonical shingles (both measured in perf/dedup.py, see ViewRule)
_CHUNK = 4096  # shingles per broadcast (num_perm × chunk uint32): the fastest of 512…16384 measured here


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


def _check_lsh(threshold: float, bands: int | None, rows: int | None, num_perm: int, what: str) -> None:
    if not 0.0 < threshold < 1.0:
        raise CodequarryError(f"{what}threshold must be between 0 and 1 (exclusive), got {threshold}")
    if (bands is None) != (rows is None):
        raise CodequarryError(f"give both {what}bands and {what}rows, or neither (then they are derived from "
                              "the threshold)")
    if bands is not None and rows is not None and (bands < 1 or rows < 1 or bands * rows > num_perm):
        raise CodequarryError(f"{what}bands × {what}rows must be ≤ num_perm ({bands} × {rows} > {num_perm}) "
                              "and both ≥ 1")


@dataclass(frozen=True)
class ViewRule:
    """When one view's exact shingle sets make two rows a match: Jaccard ≥ ``threshold``, or — the Type-3 rule —
    Jaccard ≥ ``low`` with at least ``shared`` shingles in common.

    Why two levels (canonical view; measured with ``perf/dedup.py`` on 50k real functions with planted
    clones): a close Type-3 clone (half the locals renamed, one or two statements inserted, deleted or
    changed) keeps most of its canonical shingles, but each edited statement replaces about its length
    plus ``ngram`` − 1 of them, so its canonical Jaccard falls to 0.4–0.7 and a single 0.7 threshold
    caught only about half of them. A low Jaccard on a *small* set, though, is weak evidence: two sibling
    accessors (``return self.x is not None and self.x.a`` / ``… .b``) differ in one name and reach 0.5. A
    low similarity therefore counts only when the rows also share a long stretch of code: with 15 shared
    shingles required no planted accessor or sibling pair matched (8 of 666 accessors did without it),
    and the close Type-3 recall of exact verification fell by under 1% (the minimum-size idea of clone
    benchmarks, which judge clones only above a minimum size). Low thresholds 0.5 (before the minimum) /
    0.45 / 0.4 / 0.35 gave close Type-3 recall 0.93 / 0.96 / 0.98 / 0.97, precision 0.998 / 0.996 /
    1.000 / 0.999; at 0.35 a same-shape rewrite (a long annotated parameter list) matched an unrelated
    function. Natural pairs that 0.4 adds over 0.45 are copy-paste-modify code (test ``setUp`` variants,
    two ``preprocess`` implementations, pickle ``load_*`` opcodes).

    Known limit: in a function of 15–40 tokens one changed literal, swapped operand or moved line
    already replaces 5 of its 11–36 shingles, so such small Type-2/3 clones stay under both levels
    (literal, swap, reorder, insert, delete, modify: recall 0.69–0.86 with planted sources of ≥ 15 tokens,
    ``--min-tokens-planted 15``, against 0.93–1.00 with ≥ 40). Canonical
    3-grams lift their exact Jaccard (a changed literal: median 0.55 → 0.70) but also that of unrelated
    pairs (the largest of 3,000 random pairs 0.13 → 0.42), and both views share one n-gram layout (one
    offsets array per batch): not taken.
    """

    threshold: float
    low: float | None = None
    shared: int = 0

    def accepts(self, inter: Any, union: Any) -> Any:
        """Whether ``inter`` shared shingles out of ``union`` distinct ones (both rows) make a match: a bool for
        two ints, elementwise for two arrays (two empty sets match)."""
        inter, union = np.asarray(inter), np.asarray(union)
        j = np.where(union > 0, inter / np.maximum(union, 1), 1.0)
        ok = j >= self.threshold
        if self.low is not None:
            ok = ok | ((j >= self.low) & (inter >= self.shared))
        return ok if ok.ndim else bool(ok)

    @property
    def floor(self) -> float:
        """The lowest Jaccard this rule can accept (what the view's LSH bands aim below)."""
        return self.threshold if self.low is None else min(self.threshold, self.low)


# --------------------------------------------------------------------------------------------
# configuration


@dataclass(frozen=True)
class MinHashConfig:
    """Every parameter that changes a signature or a candidate set.

    ``strip_comments`` and ``canonical_identifiers`` default to on for ``shingles="code"`` and must
    stay off for ``shingles="bigcode"`` (BigCode's raw-token shingles); ``None`` means that default.
    ``threshold``/``bands``/``rows`` are the raw view's; ``canonical_threshold`` (default
    ``CANONICAL_THRESHOLD``), ``type3_threshold`` and ``type3_shared`` (the Type-3 rule, defaults
    ``TYPE3_THRESHOLD`` and ``TYPE3_SHARED``, see :class:`ViewRule`), ``canonical_bands`` and
    ``canonical_rows`` the canonical view's. Unless given, the canonical bands and rows are datasketch's
    optimum for ``CANONICAL_LSH_MARGIN`` below the lowest Jaccard its rule accepts (64 × 4 for 0.4: a pair
    at 0.4 becomes a candidate with probability 0.81, at 0.45 with 0.93, at 0.5 with 0.98), because its candidates are
    verified by exact Jaccard (the default for code shingles), which keeps the rule exact. Without
    verification every candidate is a match, so the Type-3 rule then needs ``type3_threshold`` set to the
    canonical threshold (or explicit bands) to keep BigCode-like precision.
    """

    num_perm: int = 256
    ngram: int = 5
    threshold: float = 0.7
    seed: int = 1
    bands: int | None = None
    rows: int | None = None
    lowercase: bool = False
    shingles: str = "code"
    strip_comments: bool | None = None
    canonical_identifiers: bool | None = None
    canonical_threshold: float | None = None
    canonical_bands: int | None = None
    canonical_rows: int | None = None
    type3_threshold: float | None = None
    type3_shared: int | None = None

    def __post_init__(self) -> None:
        if self.num_perm < 2:
            raise CodequarryError(f"num_perm must be at least 2, got {self.num_perm}")
        if self.ngram < 1:
            raise CodequarryError(f"ngram must be at least 1, got {self.ngram}")
        _check_lsh(self.threshold, self.bands, self.rows, self.num_perm, "")
        if self.shingles not in SHINGLES:
            raise CodequarryError(f"shingles must be one of {list(SHINGLES)}, got {self.shingles!r}")
        code = self.shingles == "code"
        for name in ("strip_comments", "canonical_identifiers"):
            value = getattr(self, name)
            if value is None:
                object.__setattr__(self, name, code)
            elif value and not code:
                raise CodequarryError(f"{name} needs shingles: code (shingles: bigcode is BigCode's raw tokens); "
                                      f"set shingles to code or {name} to false")
        canon = ("canonical_threshold", "canonical_bands", "canonical_rows", "type3_threshold", "type3_shared")
        if not self.canonical_identifiers:
            given = [k for k in canon if getattr(self, k) is not None]
            if given:
                raise CodequarryError(f"{', '.join(given)} need the canonical view (shingles: code with "
                                      "canonical_identifiers on)")
            return
        if self.canonical_threshold is None:
            object.__setattr__(self, "canonical_threshold", CANONICAL_THRESHOLD)
        if self.type3_threshold is None:
            object.__setattr__(self, "type3_threshold", TYPE3_THRESHOLD)
        if self.type3_shared is None:
            object.__setattr__(self, "type3_shared", TYPE3_SHARED)
        if not 0.0 < self.type3_threshold < 1.0:
            raise CodequarryError(f"type3_threshold must be between 0 and 1 (exclusive), got {self.type3_threshold}")
        if self.type3_shared < 1:
            raise CodequarryError(f"type3_shared must be at least 1, got {self.type3_shared}")
        _check_lsh(self.canonical_threshold, self.canonical_bands, self.canonical_rows, self.num_perm,
                   "canonical_")

    @property
    def lsh(self) -> tuple[int, int]:
        """(bands, rows) of the raw view: as given, or optimal for the threshold."""
        if self.bands is not None and self.rows is not None:
            return self.bands, self.rows
        return optimal_lsh_params(self.threshold, self.num_perm)

    @property
    def canonical_lsh(self) -> tuple[int, int] | None:
        """(bands, rows) of the canonical view (None when it is off)."""
        if not self.canonical_identifiers:
            return None
        if self.canonical_bands is not None and self.canonical_rows is not None:
            return self.canonical_bands, self.canonical_rows
        t = self.thresholds[1].floor
        return optimal_lsh_params(max(0.05, round(t - CANONICAL_LSH_MARGIN, 6)), self.num_perm)

    @property
    def thresholds(self) -> tuple[ViewRule, ...]:
        """Each view's match rule: (raw,) or (raw, canonical); the canonical one with the Type-3 rule."""
        if self.canonical_identifiers:
            return (ViewRule(self.threshold),
                    ViewRule(float(self.canonical_threshold or CANONICAL_THRESHOLD),
                             float(self.type3_threshold or TYPE3_THRESHOLD), int(self.type3_shared or TYPE3_SHARED)))
        return (ViewRule(self.threshold),)

    @property
    def view_lsh(self) -> tuple[tuple[int, int], ...]:
        """Each view's (bands, rows), in band-matrix order."""
        canon = self.canonical_lsh
        return (self.lsh,) if canon is None else (self.lsh, canon)

    def describe(self) -> dict[str, Any]:
        """Everything needed to reproduce the signatures and candidates (for the manifest and card)."""
        b, r = self.lsh
        out: dict[str, Any] = {
            "shingles": self.shingles,
            "strip_comments": self.strip_comments,
            "canonical_identifiers": self.canonical_identifiers,
            "tokenizer": f"findall {TOKEN_PATTERN}" + (" (lower-cased)" if self.lowercase else " (case-preserving)")
                         + (", comments removed (languages.yaml comment_syntax)" if self.strip_comments else ""),
            "views": "raw tokens",
            "ngram": self.ngram,
            "num_perm": self.num_perm,
            "seed": self.seed,
            "hash_family": HASH_FAMILY,
            "permutation": "(a*x + b) mod 2^32, a odd, a/b/m/c/tag/canonical c from numpy RandomState(seed)",
            "threshold": self.threshold,
            "bands": b,
            "rows": r,
            "lsh_threshold": round((1.0 / b) ** (1.0 / r), 4),
        }
        canon = self.canonical_lsh
        if canon is not None:
            cb, cr = canon
            out["views"] = ("raw tokens OR canonical view, one MinHash-LSH index each (canonical: each name → '#', "
                            "or '#d' when the same name is d < ngram tokens back; keywords, literal words, numbers, "
                            "words in strings, names after . -> :: and before ( kept; its n-grams tagged)")
            out.update(canonical_threshold=self.canonical_threshold, type3_threshold=self.type3_threshold,
                       type3_shared=self.type3_shared, canonical_bands=cb, canonical_rows=cr,
                       canonical_lsh_threshold=round((1.0 / cb) ** (1.0 / cr), 4))
        return out


# --------------------------------------------------------------------------------------------
# hashing


class MinHasher:
    """Turns texts into per-view shingle hashes, signatures and band hashes; pure and picklable."""

    def __init__(self, config: MinHashConfig | None = None) -> None:
        self.config = config or MinHashConfig()
        cfg = self.config
        rng = np.random.RandomState(cfg.seed % (1 << 32))
        self.a = (rng.randint(0, 1 << 31, cfg.num_perm, dtype=np.uint64) * 2 + 1).astype(np.uint32)
        self.b = rng.randint(0, 1 << 32, cfg.num_perm, dtype=np.uint64).astype(np.uint32)
        self.m = rng.randint(0, 1 << 63, cfg.ngram, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
        self.view_lsh = cfg.view_lsh
        bands, rows = self.view_lsh[0]
        self.bands, self.rows = bands, rows
        self.c = rng.randint(0, 1 << 63, rows, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
        self.tag = rng.randint(0, 1 << 63, 1, dtype=np.uint64)[0] * np.uint64(2) + np.uint64(1)
        self.view_c = [self.c]
        for _, vrows in self.view_lsh[1:]:
            self.view_c.append(rng.randint(0, 1 << 63, vrows, dtype=np.uint64) * np.uint64(2) + np.uint64(1))
        self.total_bands = sum(b for b, _ in self.view_lsh)
        self._a_col = self.a[:, None]
        self._b_col = self.b[:, None]
        self.shingler = Shingler(cfg, self.m, self.tag)

    def tokens(self, text: str | None, language: str | None = None) -> list[str]:
        """The raw-view shingling tokens of one text (after comment removal for ``shingles: code``)."""
        return self.shingler.token_views(text, language)[0]

    def token_views(self, text: str | None, language: str | None = None) -> tuple[list[str], list[str] | None]:
        """(raw tokens, canonical tokens or None) of one text: see :meth:`Shingler.token_views`."""
        return self.shingler.token_views(text, language)

    def view_shingles(self, texts: Sequence[str | None], languages: Sequence[str | None] | None = None
                      ) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
        """Per-view flat shingle hashes, their offsets per text and token counts: see :meth:`Shingler.view_shingles`."""
        return self.shingler.view_shingles(texts, languages)

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

    def band_hashes(self, sig: np.ndarray, view: int = 0) -> np.ndarray:
        """One 64-bit hash per (row, band) of one view's signatures: rows × that view's bands, uint64."""
        n = sig.shape[0]
        b, r = self.view_lsh[view]
        c = self.view_c[view]
        sig_t = np.asarray(sig).T  # permutation-major: each permutation contiguous when sig came from here
        out = np.empty((b, n), dtype=np.uint64)
        for band in range(b):
            acc = sig_t[band * r].astype(np.uint64) * c[0]
            for k in range(1, r):
                acc += sig_t[band * r + k].astype(np.uint64) * c[k]
            out[band] = fmix64(acc)
        return out.T

    def signatures(self, texts: Sequence[str | None], languages: Sequence[str | None] | None = None
                   ) -> tuple[list[np.ndarray], np.ndarray]:
        """MinHash signatures of a batch of texts, one rows × num_perm array per view, and their token counts."""
        views, offsets, counts = self.view_shingles(texts, languages)
        return [self.signatures_from_shingles(v, offsets) for v in views], counts

    def band_matrix_from_shingles(self, views: list[np.ndarray], offsets: np.ndarray) -> np.ndarray:
        """rows × total_bands uint64: every view's band hashes side by side (raw first)."""
        parts = [self.band_hashes(self.signatures_from_shingles(v, offsets), k) for k, v in enumerate(views)]
        return parts[0] if len(parts) == 1 else np.ascontiguousarray(np.concatenate(parts, axis=1))

    def band_matrix(self, texts: Sequence[str | None], languages: Sequence[str | None] | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
        """(rows × total_bands band hashes of all views, token counts) of a batch of texts."""
        views, offsets, counts = self.view_shingles(texts, languages)
        return self.band_matrix_from_shingles(views, offsets), counts

    def shingle_sets(self, texts: Sequence[str | None], languages: Sequence[str | None] | None = None
                     ) -> list[list[np.ndarray]]:
        """Per view, the sorted distinct shingle hashes of each text (for exact Jaccard verification)."""
        views, offsets, _ = self.view_shingles(texts, languages)
        return [view_sets(v, offsets) for v in views]


def flat_view_sets(hashed: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct shingle hashes of each text of one view, flattened: (values, offsets per text).

    One sort of (text, hash) keys for the whole batch instead of one ``np.unique`` per text (which cost
    about a sixth of near-dedup's time on real functions).
    """
    n = len(offsets) - 1
    sizes = np.diff(offsets)
    key = (np.repeat(np.arange(n, dtype=np.uint64), sizes) << np.uint64(32)) | hashed[offsets[0]:offsets[-1]].astype(np.uint64)
    key.sort()
    keep = np.ones(len(key), dtype=bool)
    keep[1:] = key[1:] != key[:-1]
    key = key[keep]
    out = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount((key >> np.uint64(32)).astype(np.int64), minlength=n), out=out[1:])
    return (key & np.uint64(0xFFFFFFFF)).astype(np.uint32), out


def view_sets(hashed: np.ndarray, offsets: np.ndarray) -> list[np.ndarray]:
    """Sorted distinct shingle hashes of each text of one view."""
    values, out = flat_view_sets(hashed, offsets)
    return np.split(values, out[1:-1]) if len(out) > 1 else []
