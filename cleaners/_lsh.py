"""Helpers shared by the MinHash-based global steps (near_dedup, leakage, decontaminate)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from codequarry.cleaners.clusters import default_verify
from codequarry.cleaners.signatures import MinHashConfig, MinHasher, flat_view_sets
from codequarry.errors import CodequarryError
from codequarry.options import option

HASH_NAME = "xxh3-affine32"  # the one hash family this version implements (see cleaners/minhash.py)
_WS = re.compile(r"\s+")
VIEW_SETS = ("shingles", "canonical_shingles")  # mapped columns of each view's shingle set (verify)


@dataclass(frozen=True)
class MinHashParams:
    """The MinHash-LSH parameters shared by near_dedup, leakage and decontaminate (flat keys in a recipe).

    Each step's Params extends this; ``fill_lsh`` completes the derived values (bands/rows from the
    threshold, the shingling flags from ``shingles``) so the recorded recipe names what was used.
    """

    num_perm: int = option(256, help="MinHash permutations per signature (BigCode: 256)")
    ngram: int = option(5, help="tokens per shingle (BigCode: 5)")
    threshold: float = option(0.7, help="Jaccard similarity of the raw view at which rows match (BigCode: "
                                        "0.7)")
    bands: int | None = option(None, help="LSH bands of the raw view (null: datasketch's optimum for "
                                          "threshold and num_perm)")
    rows: int | None = option(None, help="rows per LSH band of the raw view (null: from the threshold, with "
                                         "bands)")
    seed: int = option(1, help="seed of the MinHash permutations")
    hash: Literal["xxh3-affine32"] = option(
        "xxh3-affine32", help="hash family of the signatures (the one this version implements)")
    lowercase: bool = option(False, help="lower-case tokens before shingling")
    shingles: Literal["code", "bigcode"] = option(
        "code", help="code: code-aware shingles, comments removed, raw and rename-invariant views; bigcode: "
                     "BigCode's raw tokens")
    strip_comments: bool | None = option(None, help="remove comments in the row's language before shingling "
                                                    "(null: on for shingles code, off for bigcode)")
    canonical_identifiers: bool | None = option(
        None, help="add the rename-invariant view with its own LSH index (null: on for shingles code)")
    canonical_threshold: float | None = option(
        None, help="Jaccard threshold of the rename-invariant view for any pair (null: 0.7)")
    type3_threshold: float | None = option(
        None, help="Type-3 rule of the rename-invariant view: this lower Jaccard matches when the rows also share "
                   "type3_shared shingles (null: 0.4; needs verify)")
    type3_shared: int | None = option(
        None, help="canonical shingles two rows must share for the Type-3 rule (null: 15)")
    canonical_bands: int | None = option(None, help="LSH bands of the rename-invariant view (null: the "
                                                    "optimum for 0.1 below the lowest Jaccard its rule accepts)")
    canonical_rows: int | None = option(None, help="rows per LSH band of the rename-invariant view (null: "
                                                   "with canonical_bands)")


def minhash_config(params: Any) -> MinHashConfig:
    """The MinHashConfig named by a step's parameters (num_perm, ngram, threshold, seed, bands, rows, lowercase,
    shingles, strip_comments, canonical_identifiers and the canonical view's threshold, Type-3 rule, bands and
    rows)."""
    try:
        return MinHashConfig(num_perm=params.num_perm, ngram=params.ngram, threshold=params.threshold,
                             seed=params.seed, bands=params.bands, rows=params.rows, lowercase=params.lowercase,
                             shingles=params.shingles, strip_comments=params.strip_comments,
                             canonical_identifiers=params.canonical_identifiers,
                             canonical_threshold=params.canonical_threshold, canonical_bands=params.canonical_bands,
                             canonical_rows=params.canonical_rows, type3_threshold=params.type3_threshold,
                             type3_shared=params.type3_shared)
    except CodequarryError as exc:
        raise ValueError(str(exc)) from exc


def fill_lsh(params: Any) -> None:
    """Validate a frozen Params' MinHash fields and fill what is derived when unset (bands/rows from the
    threshold, strip_comments/canonical_identifiers from shingles, the canonical view's threshold, Type-3
    rule and bands/rows), so the recorded recipe names the values actually used."""
    config = minhash_config(params)
    if params.bands is None:
        bands, rows = config.lsh
        object.__setattr__(params, "bands", bands)
        object.__setattr__(params, "rows", rows)
    object.__setattr__(params, "strip_comments", config.strip_comments)
    object.__setattr__(params, "canonical_identifiers", config.canonical_identifiers)
    canon = config.canonical_lsh
    if canon is not None:
        object.__setattr__(params, "canonical_threshold", config.canonical_threshold)
        object.__setattr__(params, "type3_threshold", config.type3_threshold)
        object.__setattr__(params, "type3_shared", config.type3_shared)
        if params.canonical_bands is None:
            object.__setattr__(params, "canonical_bands", canon[0])
            object.__setattr__(params, "canonical_rows", canon[1])
    if hasattr(params, "verify") and params.verify is None:
        object.__setattr__(params, "verify", default_verify(config))


@lru_cache(maxsize=16)
def hasher(config: MinHashConfig) -> MinHasher:
    """One MinHasher per configuration and process."""
    return MinHasher(config)


def view_columns(h: MinHasher, texts: list[str | None], langs: list[str | None] | None, verify: bool
                 ) -> dict[str, pa.Array]:
    """A mapped batch's MinHash columns: token counts, every view's bands side by side and, with ``verify``,
    each view's sorted shingle set (``VIEW_SETS`` names the columns)."""
    views, offsets, counts = h.view_shingles(texts, langs)
    cols = {"ntok": pa.array(counts, pa.int32()), "bands": bands_column(h.band_matrix_from_shingles(views, offsets))}
    if verify:
        for name, hashed in zip(VIEW_SETS, views):
            values, starts = flat_view_sets(hashed, offsets)
            cols[name] = pa.ListArray.from_arrays(pa.array(starts.astype(np.int32), pa.int32()),
                                                  pa.array(values, pa.uint32()))
    return cols


def bands_column(bands: np.ndarray) -> pa.Array:
    """rows × bands uint64 → a fixed-size-list Arrow column."""
    n, b = bands.shape
    return pa.FixedSizeListArray.from_arrays(pa.array(np.ascontiguousarray(bands).reshape(-1), pa.uint64()), b)


def list_column(values: list[np.ndarray], typ: pa.DataType) -> pa.Array:
    """A list<typ> column from per-row numpy arrays."""
    offsets = np.zeros(len(values) + 1, np.int32)
    np.cumsum([len(v) for v in values], out=offsets[1:])
    flat = np.concatenate(values) if values else np.zeros(0)
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), pa.array(flat, typ))


def list_values(tables: list[pa.Table], name: str) -> list[np.ndarray]:
    """Per-row numpy arrays of a list column across several tables."""
    out = []
    for t in tables:
        for chunk in t.column(name).chunks:
            offsets = chunk.offsets.to_numpy()
            values = chunk.values.to_numpy(zero_copy_only=False)
            out.extend(values[offsets[i]:offsets[i + 1]] for i in range(len(chunk)))
    return out


def code_key(code: str | None, language: str | None, normalize: bool = True) -> bytes | None:
    """128-bit key of normalized code: tree-sitter tokens without comments when the language is known,
    otherwise whitespace collapsed (same rule as ``exact_dedup``)."""
    if code is None:
        return None
    norm = None
    if normalize and language:
        from codequarry.cleaners.step_utils import lang_spec

        spec = lang_spec(language)
        if spec is not None:
            from codequarry.languages import normalize_code

            norm = normalize_code(code, spec)
    if norm is None:
        norm = _WS.sub(" ", code).strip()
    if not norm:
        return None
    return hashlib.blake2b(norm.encode("utf-8", "surrogatepass"), digest_size=16).digest()
