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
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from codequarry.cleaners import minhash as mh
from codequarry.cleaners._lsh import (
    VIEW_SETS,
    MinHashParams,
    code_key,
    fill_lsh,
    hasher,
    minhash_config,
    view_columns,
)
from codequarry.cleaners.base import GlobalStep, StepOutput, keep_mask
from codequarry.cleaners.decision_map import get_many
from codequarry.cleaners.spill import Spill
from codequarry.cleaners.step_utils import column
from codequarry.options import option
from codequarry.schema import check_split_name

_MAX_VERIFY = 64  # held-out rows checked per train row when verify is on (in keep order)


@dataclass(frozen=True)
class Params(MinHashParams):
    method: Literal["both", "minhash", "exact"] = option(
        "both", help="exact: equal normalized code; minhash: a shared LSH band of any view; both: either")
    train_splits: tuple[str, ...] = option(("train",), help="splits whose leaking rows are dropped")
    held_out_splits: tuple[str, ...] = option(
        ("valid", "test"), help="splits never touched: a train row matching one of their rows leaks")
    normalize: bool = option(True, help="exact matching compares tree-sitter tokens without comments "
                                        "(false: whitespace-collapsed text)")
    verify: bool | None = option(None, help="keep a band match only when a view's exact shingle sets match "
                                            "under its rule: Jaccard threshold, canonical view also the Type-3 "
                                            "rule (null: on for code shingles)")
    min_tokens: int = option(5, help="rows with fewer tokens take no part in MinHash matching")

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

    def resolve(self, mapped: Iterable[pa.Table], workdir: Path | None) -> Decision:
        with Spill(mapped, workdir) as spill:  # per-row state on disk, read back one column or band at a time
            return self._resolve(spill)

    def _resolve(self, spill: Spill) -> Decision:
        n = spill.n
        pos, order = spill.keep_permutation(self.name)  # arrival → position in keep order, and back
        train = np.zeros(n, dtype=bool)
        held = np.zeros(n, dtype=bool)
        for k, table in enumerate(spill.tables(["split"])):
            col = table.column(0)
            at = slice(spill.starts[k], spill.starts[k + 1])
            train[at] = pc.is_in(col, pa.array(list(self.params.train_splits), pa.string())).to_numpy(zero_copy_only=False)
            held[at] = pc.is_in(col, pa.array(list(self.params.held_out_splits), pa.string())).to_numpy(zero_copy_only=False)
        train, held = train[order], held[order]
        leaks: dict[int, tuple[int, str]] = {}
        if self._exact() and n:
            first: dict[bytes, int] = {}  # held-out key → its first row in keep order
            for k, table in enumerate(spill.tables(["key"])):
                rows = pos[spill.starts[k]:spill.starts[k + 1]]
                for p, key in zip(rows.tolist(), table.column(0).to_pylist()):
                    if key is not None and held[p] and p < first.get(key, n):
                        first[key] = p
            for k, table in enumerate(spill.tables(["key"])):
                rows = pos[spill.starts[k]:spill.starts[k + 1]]
                for p, key in zip(rows.tolist(), table.column(0).to_pylist()):
                    hit = first.get(key) if key is not None and train[p] else None
                    if hit is not None:
                        leaks[p] = (hit, "exact")
        if self._near() and n:
            ntok = spill.numbers("ntok")[order]
            active = ntok >= max(1, self.params.min_tokens)
            cfg = minhash_config(self.params)
            width = hasher(cfg).total_bands
            bands = (column_[order] for column_ in spill.bands("bands", width))
            verified = None
            if self.params.verify:  # a block of pairs at a time: bounded memory (spill.verify_edges)
                def verified(pairs: np.ndarray) -> np.ndarray:
                    return spill.verify_edges(pairs, order, VIEW_SETS[:len(cfg.thresholds)],
                                              lambda block, sets: mh.verify_pairs(block, sets, cfg.thresholds))
            for p, hit in _near_matches(bands, train & active, held & active, verified).items():
                if p not in leaks:
                    leaks[p] = (hit, "near")
        need = np.array(sorted({q for p, (h, _) in leaks.items() for q in (p, h)}), dtype=np.int64)
        id_of = spill.strings("id", order[need]) if len(need) else {}
        split_of = spill.strings("split", order[need]) if len(need) else {}
        out = {id_of[int(order[p])]: (id_of[int(order[h])], split_of[int(order[h])], kind)
               for p, (h, kind) in sorted(leaks.items())}
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
        keep, reasons, details = [], [], []
        for hit in get_many(decision.leaks, column(batch, "id")):
            keep.append(hit is None)
            if hit is None:
                reasons.append(None)
                details.append(None)
            else:
                reasons.append(f"leak_{hit[1]}")
                details.append(json.dumps({"held_out": hit[0], "split": hit[1], "match": hit[2]}, ensure_ascii=False))
        return keep_mask(batch, keep, reasons, details)


def _near_matches(bands: Iterable[np.ndarray], train: np.ndarray, held: np.ndarray,
                  verified: Callable[[np.ndarray], np.ndarray] | None) -> dict[int, int]:
    """Train row → first held-out row (smallest position) sharing a band of any view with it (``bands``: one band
    column at a time, rows in keep order); with ``verified`` (the (train, held-out) pairs whose exact Jaccard
    reaches some view's threshold, of the pairs given) the first of at most ``_MAX_VERIFY`` candidates that
    passes."""
    held_idx = np.flatnonzero(held)
    train_idx = np.flatnonzero(train)
    if len(held_idx) == 0 or len(train_idx) == 0:
        return {}
    best = np.full(len(train_idx), -1, dtype=np.int64)
    candidates: dict[int, set[int]] = {}
    for column_ in bands:
        hkeys = column_[held_idx]
        srt = np.lexsort((held_idx, hkeys))  # by key, then position: the first of a run is the smallest
        ks, hs = hkeys[srt], held_idx[srt]
        tkeys = column_[train_idx]
        at = np.searchsorted(ks, tkeys)
        at_c = np.minimum(at, len(ks) - 1)
        hit = (at < len(ks)) & (ks[at_c] == tkeys)
        if not hit.any():
            continue
        rows = np.flatnonzero(hit)
        if verified is None:
            first = hs[at_c[rows]]
            cur = best[rows]
            best[rows] = np.where((cur < 0) | (first < cur), first, cur)
        else:
            ends = np.searchsorted(ks, tkeys[rows], side="right")
            for r, s, e in zip(rows.tolist(), at_c[rows].tolist(), ends.tolist()):
                candidates.setdefault(r, set()).update(hs[s:e].tolist())
    if verified is None:
        return {int(train_idx[r]): int(best[r]) for r in np.flatnonzero(best >= 0).tolist()}
    pairs = [(int(train_idx[r]), h) for r in sorted(candidates) for h in sorted(candidates[r])[:_MAX_VERIFY]]
    del candidates
    out: dict[int, int] = {}
    for t, h in verified(np.array(pairs, dtype=np.int64).reshape(-1, 2)).tolist():
        if t not in out or h < out[t]:
            out[t] = h
    return out
