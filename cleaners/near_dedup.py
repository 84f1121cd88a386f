"""Global step ``near_dedup``: MinHash-LSH (BigCode defaults) or the Allamanis/CodeSearchNet identifier test.

``map`` turns each row into band hashes (minhash) or an identifier multiset (identifiers), keyed by
id and split; ``resolve`` spills them to disk (``cleaners/spill.py``), orders every row by the shared
keep rule (``keep_order_key``: most held-out split first, then smallest id) through sorted runs and a
k-way merge, finds candidate pairs one band at a time, verifies them, clusters them (connected
components) and keeps the first row of each cluster; ``apply`` drops the others (reason ``near_duplicate``, detail naming the
kept id) or, with ``annotate_only``, adds ``dup_cluster`` (the kept row's id) and ``dup_cluster_size``.
Rows with fewer than ``min_tokens`` tokens take no part (and are dropped as ``too_few_tokens`` when
``drop_short`` is on, as CodeSearchNet's dedup_split.py does with its 10-identifier minimum).

MinHash shingles (``cleaners/minhash.py``): ``shingles: code`` (the default for the code column) removes
comments in the row's language (``strip_comments``) and adds a rename-invariant view of the tokens
(``canonical_identifiers``) with its own LSH index and threshold (``canonical_threshold``, plus the Type-3
rule ``type3_threshold``/``type3_shared`` for clones with edited statements), so a renamed or edited
clone (canonical view) and a reformatted or commented copy (raw view) are each caught; band
matches are verified by exact per-view Jaccard (``verify``, on by default for code shingles);
``shingles: bigcode`` is BigCode's raw-token 5-grams (the default for any
other column, whose text is not code). The resolved values go into the recipe and the card.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from codequarry.cleaners import minhash as mh
from codequarry.cleaners._identifiers import duplicate_pairs, identifier_bag
from codequarry.cleaners._lsh import (
    VIEW_SETS,
    MinHashParams,
    fill_lsh,
    hasher,
    list_column,
    list_values,
    minhash_config,
    view_columns,
)
from codequarry.cleaners.base import GlobalStep, StepOutput, keep_mask
from codequarry.cleaners.decision_map import get_many
from codequarry.cleaners.spill import Spill
from codequarry.cleaners.step_utils import column, lang_spec, with_column
from codequarry.options import option

DEFAULT_MIN_TOKENS = {"minhash": 5, "identifiers": 10}  # BigCode's min n-gram size; CodeSearchNet's dedup_split


@dataclass(frozen=True)
class Params(MinHashParams):
    method: Literal["minhash", "identifiers"] = option(
        "minhash", help="minhash: MinHash-LSH over shingles; identifiers: the Allamanis/CodeSearchNet "
                        "identifier Jaccard test")
    column: str = option("code", help="column compared (a column other than code needs shingles: bigcode)")
    shingles: Literal["code", "bigcode"] | None = option(
        None, help="code or bigcode (null: code for the code column, bigcode for any other)")
    verify: bool | None = option(None, help="keep a band match only when a view's exact shingle sets match "
                                            "under its rule: Jaccard threshold, canonical view also the Type-3 "
                                            "rule (null: on for code shingles)")
    set_threshold: float = option(0.8, help="identifiers method: Jaccard of the identifier sets a duplicate "
                                            "needs (CodeSearchNet: 0.8)")
    multiset_threshold: float = option(0.7, help="identifiers method: Jaccard of the identifier multisets a "
                                                 "duplicate needs (CodeSearchNet: 0.7)")
    min_tokens: int | None = option(None, help="rows with fewer tokens take no part (null: 5 for minhash, as "
                                               "BigCode; 10 identifiers, as CodeSearchNet)")
    drop_short: bool = option(False, help="exclude the rows below min_tokens (too_few_tokens), as "
                                          "CodeSearchNet's dedup_split.py")
    annotate_only: bool = option(False, help="keep every row and add dup_cluster (the kept row's id) and "
                                             "dup_cluster_size")

    def __post_init__(self) -> None:
        if self.min_tokens is None:
            object.__setattr__(self, "min_tokens", DEFAULT_MIN_TOKENS[self.method])
        if self.min_tokens < 0:
            raise ValueError(f"min_tokens must be ≥ 0, got {self.min_tokens}")
        for name in ("set_threshold", "multiset_threshold"):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in (0, 1], got {getattr(self, name)}")
        if self.shingles is None:  # code-aware shingles for code, BigCode's raw tokens for any other column
            object.__setattr__(self, "shingles", "code" if self.column == "code" else "bigcode")
        if self.shingles == "code" and self.column != "code":
            raise ValueError(f"shingles: code reads code (comments, names); column {self.column!r} needs shingles: bigcode")
        if self.method == "minhash":
            fill_lsh(self)


@dataclass(frozen=True)
class Decision:
    """Rows in clusters of two or more: id → (kept id, cluster size); plus rows too short to compare."""

    members: dict[str, tuple[str, int]]
    short: frozenset[str]
    stats: dict[str, Any]


DUP_FIELDS = (pa.field("dup_cluster", pa.string()), pa.field("dup_cluster_size", pa.int32()))


class NearDedup(GlobalStep):
    """Near-duplicate removal; every parameter (and the derived bands/rows) goes into the recipe and card."""

    name = "near_dedup"
    description = ("exclude near-duplicates: MinHash-LSH over code-aware 5-gram shingles (comments removed, raw "
                   "and rename-invariant views; BigCode's 256 perms, threshold 0.7) or the Allamanis/CodeSearchNet "
                   "identifier Jaccard test; deterministic keep rule")
    Params = Params

    @property
    def map_columns(self) -> tuple[str, ...]:  # type: ignore[override]
        cols = ["id", self.params.column, "language"]
        if self.params.method == "identifiers":
            cols.append("code_tokens")
        return tuple(dict.fromkeys(cols))

    # map ---------------------------------------------------------------------------------
    def map(self, batch: pa.Table) -> pa.Table:
        ids = batch.column("id")
        split = batch.column("split") if "split" in batch.column_names else pa.nulls(batch.num_rows, pa.string())
        texts = column(batch, self.params.column)
        if self.params.method == "minhash":
            h = hasher(minhash_config(self.params))
            langs = column(batch, "language") if self.params.column == "code" else None
            cols: dict[str, Any] = {"id": ids, "split": split}
            cols.update(view_columns(h, texts, langs, bool(self.params.verify)))
            return pa.table(cols)
        toks, cnts, ntok = identifier_columns(texts, column(batch, "code_tokens"), column(batch, "language"),
                                              self.params.column == "code")
        return pa.table({"id": ids, "split": split, "ntok": pa.array(ntok, pa.int32()),
                         "tok": list_column(toks, pa.uint64()), "cnt": list_column(cnts, pa.int32())})

    # resolve -----------------------------------------------------------------------------
    def resolve(self, mapped: Iterable[pa.Table], workdir: Path | None) -> Decision:
        with Spill(mapped, workdir) as spill:  # per-row state on disk, read back one column or band at a time
            return self._resolve(spill)

    def _resolve(self, spill: Spill) -> Decision:
        n = spill.n
        order = spill.keep_permutation(self.name)[1]  # position in keep order → arrival
        ntok = spill.numbers("ntok")[order] if n else np.zeros(0, np.int64)
        active = ntok >= max(1, self.params.min_tokens)
        stats: dict[str, Any] = {"rows": n, "compared": int(active.sum())}
        if self.params.method == "minhash":
            cfg = minhash_config(self.params)
            stats["minhash"] = cfg.describe()
            width = hasher(cfg).total_bands
            edges = mh.candidate_pairs_by_band((band[order] for band in spill.bands("bands", width)), n, active,
                                               chain=bool(self.params.verify))
            stats["candidate_pairs"] = int(len(edges))
            if self.params.verify and len(edges):  # a block of pairs at a time: bounded memory (spill.verify_edges)
                edges = spill.verify_edges(edges, order, VIEW_SETS[:len(cfg.thresholds)],
                                           lambda block, sets: mh.verify_pairs(block, sets, cfg.thresholds))
                stats["verified_pairs"] = int(len(edges))
        else:
            tables = list(spill.tables())
            bags = _bags(tables)
            bags = [bags[i] for i in order.tolist()]
            edges = duplicate_pairs(bags, self.params.set_threshold, self.params.multiset_threshold, active.tolist())
            stats["duplicate_pairs"] = int(len(edges))
        labels = mh.cluster_labels(n, edges)
        sizes = np.bincount(labels, minlength=n) if n else np.zeros(0, np.int64)
        in_cluster = np.flatnonzero(sizes[labels] > 1)
        short_pos = np.flatnonzero(~active) if self.params.drop_short else np.zeros(0, np.int64)
        need = np.concatenate([in_cluster, labels[in_cluster], short_pos]).astype(np.int64)
        id_of = spill.strings("id", order[need]) if len(need) else {}
        members = {}
        for p in in_cluster.tolist():
            members[id_of[int(order[p])]] = (id_of[int(order[labels[p]])], int(sizes[labels[p]]))
        short = frozenset(id_of[int(order[p])] for p in short_pos.tolist())
        stats.update(clusters=int(np.count_nonzero(sizes > 1)), rows_in_clusters=len(members),
                     duplicates=sum(1 for k, (v, _) in members.items() if k != v), too_short=len(short))
        return Decision(members=members, short=short, stats=stats)

    def summary(self, decision: Decision) -> dict[str, Any]:
        """Counts for the report: rows compared, candidate pairs, clusters, rows in clusters, duplicates."""
        return dict(decision.stats)

    # apply -------------------------------------------------------------------------------
    def apply(self, batch: pa.Table, decision: Decision) -> StepOutput:
        ids = column(batch, "id")
        found = get_many(decision.members, ids)  # (kept id, cluster size) of each row in a cluster, else None
        if self.params.annotate_only:
            info = [(i, 1) if m is None else m for i, m in zip(ids, found)]
            out = with_column(batch, DUP_FIELDS[0], [c for c, _ in info])
            return StepOutput(kept=with_column(out, DUP_FIELDS[1], [s for _, s in info]))
        keep, reasons, details = [], [], []
        short = "too_few_identifiers" if self.params.method == "identifiers" else "too_few_tokens"
        for i, m in zip(ids, found):
            if i in decision.short:
                keep.append(False)
                reasons.append(short)
                details.append(json.dumps({"min_tokens": self.params.min_tokens}))
            elif m is not None and m[0] != i:
                kept, size = m
                keep.append(False)
                reasons.append("near_duplicate")
                details.append(json.dumps({"kept": kept, "cluster_size": size}, ensure_ascii=False))
            else:
                keep.append(True)
                reasons.append(None)
                details.append(None)
        return keep_mask(batch, keep, reasons, details)

    def added_fields(self) -> list[pa.Field]:
        return list(DUP_FIELDS) if self.params.annotate_only else []


def identifier_columns(texts: list[str | None], code_tokens: list[list[str] | None], languages: list[str | None],
                       use_code_tokens: bool) -> tuple[list[np.ndarray], list[np.ndarray], list[int]]:
    """Per row: xxh3 hashes of its distinct identifiers, their counts, and the identifier total.

    Tokens are the row's ``code_tokens`` (what CodeSearchNet deduplicated) when present, otherwise
    the tree-sitter tokens of the text; keywords of the row's language are removed.
    """
    import xxhash

    toks_out, cnts_out, totals = [], [], []
    for text, tokens, lang in zip(texts, code_tokens, languages):
        spec = lang_spec(lang)
        if not (use_code_tokens and tokens):
            tokens = _tokens(text, spec)
        bag = identifier_bag(tokens, spec.keywords if spec is not None else ())
        keys = sorted(bag)
        toks_out.append(np.fromiter((xxhash.xxh3_64_intdigest(k.encode("utf-8", "surrogatepass")) for k in keys),
                                    np.uint64, len(keys)))
        cnts_out.append(np.fromiter((bag[k] for k in keys), np.int32, len(keys)))
        totals.append(sum(bag.values()))
    return toks_out, cnts_out, totals


def _tokens(text: str | None, spec: Any) -> list[str]:
    if not text:
        return []
    if spec is None:
        from codequarry.cleaners._identifiers import IDENTIFIER_RE

        return IDENTIFIER_RE.findall(text)
    from codequarry.languages import tokenize_code

    return tokenize_code(text, spec)


def _bags(tables: list[pa.Table]) -> list[Counter]:
    toks = list_values(tables, "tok")
    cnts = list_values(tables, "cnt")
    return [Counter(dict(zip(t.tolist(), c.tolist()))) for t, c in zip(toks, cnts)]
