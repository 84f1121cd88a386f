"""Global step ``leakage``: after a split, drop training rows that (near-)duplicate a held-out row.

A train row leaks when its normalized code equals a held-out row's (``exact``: tree-sitter tokens
without comments, as ``exact_dedup``), or when it shares a MinHash-LSH band of any view with one
(``minhash``: the same shingles — code-aware by default, raw and rename-invariant views each with its
own index, see ``near_dedup`` — permutations and bands as ``near_dedup``; ``verify``, on by default for
code shingles, keeps a match only when some view's exact shingle Jaccard reaches its threshold), so a
renamed clone of a test function leaves train. Only train rows are dropped (reason ``leak_<split>``, the detail naming the held-out
row); held-out rows are never touched, so evaluation sets stay as they are. When a train row matches
several held-out rows, the one named is the first by the shared keep rule (test before valid, then
smallest id), an exact match winning over a near one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from codequarry.cleaners import minhash as mh
from codequarry.cleaners._lsh import (
    MinHashParams,
    bands_matrix,
    code_key,
    fill_lsh,
    hasher,
    keep_ordered,
    minhash_config,
    view_columns,
    view_set_lists,
)
from codequarry.cleaners.base import GlobalStep, StepOutput, keep_mask
from codequarry.cleaners.step_utils import column
from codequarry.schema import check_split_name

_MAX_VERIFY = 64  # held-out rows checked per train row when verify is on (in keep order)


@dataclass(frozen=True)
class Params(MinHashParams):
    method: Literal["both", "minhash", "exact"] = "both"
    train_splits: tuple[str, ...] = ("train",)
    held_out_splits: tuple[str, ...] = ("valid", "test")
    normalize: bool = True
    verify: bool | None = None  # None: on with the canonical view (code shingles), off for bigcode
    min_tokens: int = 5

    def __post_init__(self) -> None:
        for s in (*self.train_splits, *self.held_out_splits):
            check_split_name(s)
        overlap = set(self.train_splits) & set(self.held_out_splits)
        if overlap:
            raise ValueError(f"splits {sorted(overlap)} are both train and held-out")
        if not self.train_splits or not self.held_out_splits:
            raise ValueError("name at least one train split and one held-out split")
        if self.method != "exact":
            fill_lsh(self)


@dataclass(frozen=True)
class Decision:
    """Leaked train rows: id → (held-out id, held-out split, "exact" | "near")."""

    leaks: dict[str, tuple[str, str, str]]
    stats: dict[str, Any]


class Leakage(GlobalStep):
    """Train rows that near-duplicate a valid/test row are removed; counts per held-out split are reported."""

    name = "leakage"
    description = "drop train rows whose code (near-)duplicates a valid/test row (exact normalized code and MinHash-LSH)"
    Params = Params

    @property
    def map_columns(self) -> tuple[str, ...]:  # type: ignore[override]
        return ("id", "code", "language")

    def _near(self) -> bool:
        return self.params.method in ("both", "minhash")

    def _exact(self) -> bool:
        return self.params.method in ("both", "exact")

    def map(self, batch: pa.Table) -> pa.Table:
        split = batch.column("split") if "split" in batch.column_names else pa.nulls(batch.num_rows, pa.string())
        cols: dict[str, Any] = {"id": batch.column("id"), "split": split}
        codes = column(batch, "code")
        relevant = set(self.params.train_splits) | set(self.params.held_out_splits)
        in_scope = [s in relevant for s in split.to_pylist()]
        if self._exact():
            langs = column(batch, "language")
            cols["key"] = pa.array([code_key(c, lang, self.params.normalize) if ok else None
                                    for c, lang, ok in zip(codes, langs, in_scope)], pa.binary(16))
        if self._near():
            h = hasher(minhash_config(self.params))
            texts = [c if ok else None for c, ok in zip(codes, in_scope)]
            langs = column(batch, "language")
            cols.update(view_columns(h, texts, langs, bool(self.params.verify)))
        return pa.table(cols)

    def resolve(self, mapped: Iterable[pa.Table], workdir: Path) -> Decision:
        tables = [t for t in mapped if t.num_rows]
        ids, splits, order = keep_ordered(tables, self.name)  # canonical order: the keep rule
        n = len(ids)
        ids = [ids[i] for i in order]
        splits = [splits[i] for i in order]
        train = np.array([s in self.params.train_splits for s in splits], dtype=bool)
        held = np.array([s in self.params.held_out_splits for s in splits], dtype=bool)
        leaks: dict[int, tuple[int, str]] = {}
        if self._exact() and n:
            keys = [k for t in tables for k in t.column("key").to_pylist()]
            keys = [keys[i] for i in order]
            first: dict[bytes, int] = {}
            for pos in np.flatnonzero(held).tolist():
                if keys[pos] is not None:
                    first.setdefault(keys[pos], pos)
            for pos in np.flatnonzero(train).tolist():
                hit = first.get(keys[pos]) if keys[pos] is not None else None
                if hit is not None:
                    leaks[pos] = (hit, "exact")
        if self._near() and n:
            perm = np.asarray(order, dtype=np.int64)
            ntok = np.concatenate([t.column("ntok").to_numpy() for t in tables])[perm]
            active = ntok >= max(1, self.params.min_tokens)
            cfg = minhash_config(self.params)
            matrix = bands_matrix(tables, hasher(cfg).total_bands)[perm]
            sets = view_set_lists(tables, len(cfg.thresholds), order) if self.params.verify else None
            for pos, hit in _near_matches(matrix, train & active, held & active, sets, cfg.thresholds).items():
                if pos not in leaks:
                    leaks[pos] = (hit, "near")
        out = {ids[p]: (ids[h], splits[h], kind) for p, (h, kind) in sorted(leaks.items())}
        by_split: dict[str, int] = {}
        by_kind: dict[str, int] = {}
        for _, s, kind in out.values():
            by_split[s] = by_split.get(s, 0) + 1
            by_kind[kind] = by_kind.get(kind, 0) + 1
        stats = {"train_rows": int(train.sum()), "held_out_rows": int(held.sum()), "leaked": len(out),
                 "by_split": dict(sorted(by_split.items())), "by_match": dict(sorted(by_kind.items()))}
        if self._near():
            stats["minhash"] = minhash_config(self.params).describe()
        return Decision(leaks=out, stats=stats)

    def summary(self, decision: Decision) -> dict[str, Any]:
        """Counts for the report: train/held-out rows, leaked rows by held-out split and by match kind."""
        return dict(decision.stats)

    def apply(self, batch: pa.Table, decision: Decision) -> StepOutput:
        ids = column(batch, "id")
        keep, reasons, details = [], [], []
        for i in ids:
            hit = decision.leaks.get(i)
            keep.append(hit is None)
            if hit is None:
                reasons.append(None)
                details.append(None)
            else:
                reasons.append(f"leak_{hit[1]}")
                details.append(json.dumps({"held_out": hit[0], "split": hit[1], "match": hit[2]}, ensure_ascii=False))
        return keep_mask(batch, keep, reasons, details)


def _near_matches(matrix: np.ndarray, train: np.ndarray, held: np.ndarray, sets: list[list[np.ndarray]] | None,
                  thresholds: tuple[float, ...]) -> dict[int, int]:
    """Train row → first held-out row (smallest position) sharing a band of any view with it; with ``sets`` (per
    view, every row's shingle set) the first whose exact Jaccard reaches some view's threshold."""
    held_idx = np.flatnonzero(held)
    train_idx = np.flatnonzero(train)
    if len(held_idx) == 0 or len(train_idx) == 0:
        return {}
    best = np.full(len(train_idx), -1, dtype=np.int64)
    candidates: dict[int, set[int]] = {}
    for band in range(matrix.shape[1]):
        hkeys = matrix[held_idx, band]
        srt = np.lexsort((held_idx, hkeys))  # by key, then position: the first of a run is the smallest
        ks, hs = hkeys[srt], held_idx[srt]
        tkeys = matrix[train_idx, band]
        at = np.searchsorted(ks, tkeys)
        at_c = np.minimum(at, len(ks) - 1)
        hit = (at < len(ks)) & (ks[at_c] == tkeys)
        if not hit.any():
            continue
        rows = np.flatnonzero(hit)
        if sets is None:
            first = hs[at_c[rows]]
            cur = best[rows]
            best[rows] = np.where((cur < 0) | (first < cur), first, cur)
        else:
            ends = np.searchsorted(ks, tkeys[rows], side="right")
            for r, s, e in zip(rows.tolist(), at_c[rows].tolist(), ends.tolist()):
                candidates.setdefault(r, set()).update(hs[s:e].tolist())
    if sets is None:
        return {int(train_idx[r]): int(best[r]) for r in np.flatnonzero(best >= 0).tolist()}
    out = {}
    for r, cands in candidates.items():
        t = int(train_idx[r])
        for h in sorted(cands)[:_MAX_VERIFY]:
            if mh.similar(t, h, sets, thresholds):
                out[t] = h
                break
    return out
