"""Global step ``decontaminate``: drop rows whose code or query matches a row of a benchmark's test data.

Benchmarks are registered tasks (``codequarry.benchmarks.load_task(name, data, split)``: their
corpus codes and their queries) and/or pairs dirs (the rows of one split, ``test`` by default).
A row is contaminated when

* its code equals a benchmark code after normalization (``exact``: tree-sitter tokens without
  comments when the language is known on both sides, whitespace-collapsed text otherwise), or
* its code near-matches one (``minhash``: the same shingles/permutations/bands as ``near_dedup``,
  code-aware by default with each side's language — raw and rename-invariant views, one index each —
  then, when ``verify``, the exact shingle sets match under some view's rule: Jaccard ≥ that view's
  threshold, or for the canonical view the Type-3 rule, see ``signatures.ViewRule``; BigCode's
  near-match variant also verifies), or
* its query equals a benchmark query after normalization (case folded, punctuation dropped), or
  their word ``query_ngram``-gram sets have Jaccard ≥ ``query_threshold`` (exact all-pairs with a
  prefix filter); queries shorter than ``min_query_words`` words are never matched.

``map`` matches each batch against an index of the benchmarks built once per process;
``resolve`` collects the matches (the decision carries a per-benchmark summary for the report);
``apply`` drops the rows (reason ``contaminated``, detail naming benchmark, row and match kind).
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from codequarry.cleaners import minhash as mh
from codequarry.cleaners._lsh import MinHashParams, code_key, fill_lsh, hasher, minhash_config
from codequarry.cleaners.base import GlobalStep, StepOutput, keep_mask
from codequarry.cleaners.step_utils import column, lang_spec
from codequarry.errors import CodequarryError
from codequarry.options import option

_QWORD = re.compile(r"\w+")
_INDEXES: dict[str, BenchmarkIndex] = {}


@dataclass(frozen=True)
class Params(MinHashParams):
    tasks: tuple[str, ...] = option((), help="registered benchmark tasks whose corpus codes and queries are "
                                             "matched")
    task_data: dict[str, str] = option(
        default_factory=dict, help="task name to its local data (default: the task's own path, else its "
                                   "fetched sources)")
    task_split: str | None = option(None, help="split of the tasks' data (null: each task's default)")
    dirs: tuple[str, ...] = option((), help="benchmark pairs dirs whose rows are matched")
    dirs_split: str = option("test", help="split of the pairs dirs that is read")
    code: Literal["both", "exact", "minhash", "none"] = option(
        "both", help="how codes match: exact (normalized), minhash (near), both, or none")
    query: Literal["both", "exact", "jaccard", "none"] = option(
        "both", help="how queries match: exact (normalized), jaccard (word n-grams), both, or none")
    verify: bool = option(True, help="keep a code near-match only when a view's exact shingle sets match "
                                     "under its rule (Jaccard threshold; canonical view also the Type-3 rule)")
    min_tokens: int = option(5, help="codes with fewer tokens are not near-matched")
    query_ngram: int = option(1, help="word n-gram size of the query Jaccard")
    query_threshold: float = option(0.8, help="query n-gram Jaccard at which a query is contaminated")
    min_query_words: int = option(3, help="queries with fewer words are never matched")

    def __post_init__(self) -> None:
        if not self.tasks and not self.dirs:
            raise ValueError("name at least one benchmark: tasks (registered task names) and/or dirs (pairs dirs)")
        unknown = sorted(set(self.task_data) - set(self.tasks))
        if unknown:
            raise ValueError(f"task_data names tasks that are not listed in tasks: {unknown}")
        if self.code == "none" and self.query == "none":
            raise ValueError("code and query matching are both off: nothing to match")
        if not 0.0 < self.query_threshold <= 1.0:
            raise ValueError(f"query_threshold must be in (0, 1], got {self.query_threshold}")
        if self.query_ngram < 1 or self.min_query_words < 1:
            raise ValueError("query_ngram and min_query_words must be ≥ 1")
        if self.code in ("both", "minhash"):
            fill_lsh(self)


@dataclass(frozen=True)
class Match:
    """One contamination hit: which benchmark and row, on which field, how."""

    benchmark: str
    row: str
    field: str  # code | query
    kind: str  # exact | near
    similarity: float

    def to_dict(self) -> dict[str, Any]:
        return {"benchmark": self.benchmark, "row": self.row, "field": self.field, "match": self.kind,
                "similarity": round(self.similarity, 4)}


@dataclass(frozen=True)
class Decision:
    """Contaminated rows (id → their first match) and a per-benchmark summary."""

    matches: dict[str, dict[str, Any]]
    summary: dict[str, Any]


# --------------------------------------------------------------------------------------------
# the benchmark index


def query_words(text: str | None) -> list[str]:
    """A query's normalized words: case folded, punctuation dropped."""
    return _QWORD.findall(text.casefold()) if text else []


def _grams(words: list[str], n: int) -> frozenset[str]:
    if len(words) < n:
        return frozenset([" ".join(words)]) if words else frozenset()
    return frozenset(" ".join(words[i:i + n]) for i in range(len(words) - n + 1))


@dataclass
class BenchmarkIndex:
    """Everything a row is matched against: exact keys, LSH buckets with shingle sets, query n-grams."""

    code_keys: dict[bytes, tuple[str, str]] = field(default_factory=dict)
    buckets: list[dict[int, list[int]]] = field(default_factory=list)
    code_rows: list[tuple[str, str]] = field(default_factory=list)
    code_sets: list[list[np.ndarray]] = field(default_factory=list)  # per view, per indexed code
    query_keys: dict[str, tuple[str, str]] = field(default_factory=dict)
    query_rows: list[tuple[str, str]] = field(default_factory=list)
    query_sets: list[frozenset[str]] = field(default_factory=list)
    query_df: Counter = field(default_factory=Counter)
    query_postings: dict[str, list[int]] = field(default_factory=dict)
    sizes: dict[str, dict[str, int]] = field(default_factory=dict)


def _load_benchmarks(p: Params) -> list[tuple[str, list[tuple[str, str, str | None]], list[tuple[str, str]]]]:
    """(name, [(row id, code, language)], [(row id, query)]) per benchmark."""
    out = []
    for name in p.tasks:
        try:
            from codequarry.benchmarks import load_task
        except ImportError as exc:  # pragma: no cover - benchmarks ship with codequarry
            raise CodequarryError("decontaminate needs codequarry.benchmarks to load registered tasks") from exc
        data = load_task(name, data=p.task_data.get(name), split=p.task_split)
        langs = data.meta.get("languages") or data.meta.get("language")
        if isinstance(langs, str):
            langs = [langs]
        lang = langs[0] if isinstance(langs, (list, tuple)) and len(langs) == 1 else None
        out.append((name, [(k, v, lang) for k, v in data.corpus.items()], list(data.queries.items())))
    for d in p.dirs:
        from codequarry.pairs import PairsDir

        try:
            pairs = PairsDir(d)
        except CodequarryError as exc:
            raise CodequarryError(f"decontaminate: benchmark dir {d}: {exc}") from exc
        if p.dirs_split not in pairs.splits():
            raise CodequarryError(f"decontaminate: {d} has no split {p.dirs_split!r}; it has {pairs.splits()} "
                                  "(set dirs_split)")
        codes, queries = [], []
        for batch in pairs.iter_batches(split=p.dirs_split, columns=["id", "query", "code", "language"]):
            for rid, q, c, lang in zip(*(batch.column(n).to_pylist() for n in ("id", "query", "code", "language"))):
                if c:
                    codes.append((rid, c, lang))
                if q:
                    queries.append((rid, q))
        out.append((d, codes, queries))
    return out


def build_index(p: Params) -> BenchmarkIndex:
    """Index every benchmark's codes and queries under the step's matching parameters."""
    idx = BenchmarkIndex()
    want_exact = p.code in ("both", "exact")
    want_near = p.code in ("both", "minhash")
    h = hasher(minhash_config(p)) if want_near else None
    if h is not None:
        idx.buckets = [{} for _ in range(h.total_bands)]
        idx.code_sets = [[] for _ in h.view_lsh]
    for name, codes, queries in _load_benchmarks(p):
        idx.sizes[name] = {"codes": len(codes), "queries": len(queries)}
        if want_exact:
            for rid, code, lang in codes:
                key = code_key(code, lang if lang_spec(lang) is not None else None)
                if key is not None:
                    idx.code_keys.setdefault(key, (name, rid))
        if h is not None and codes:
            texts = [c for _, c, _ in codes]
            views, offsets, counts = h.view_shingles(texts, [lang for _, _, lang in codes])
            bands = h.band_matrix_from_shingles(views, offsets)
            for i, (rid, _, _) in enumerate(codes):
                if counts[i] < max(1, p.min_tokens):
                    continue
                pos = len(idx.code_rows)
                idx.code_rows.append((name, rid))
                for sets, hashed in zip(idx.code_sets, views):
                    sets.append(np.unique(hashed[offsets[i]:offsets[i + 1]]))
                for b, value in enumerate(bands[i].tolist()):
                    idx.buckets[b].setdefault(value, []).append(pos)
        for rid, q in queries:
            words = query_words(q)
            if len(words) < p.min_query_words:
                continue
            if p.query in ("both", "exact"):
                idx.query_keys.setdefault(" ".join(words), (name, rid))
            if p.query in ("both", "jaccard"):
                grams = _grams(words, p.query_ngram)
                idx.query_rows.append((name, rid))
                idx.query_sets.append(grams)
                idx.query_df.update(grams)
    # prefix index: each query's rarest grams (ties by the gram) under the threshold's prefix length
    for pos, grams in enumerate(idx.query_sets):
        for g in _prefix(grams, idx.query_df, p.query_threshold):
            idx.query_postings.setdefault(g, []).append(pos)
    return idx


def _prefix(grams: frozenset[str], df: Counter, t: float) -> list[str]:
    ordered = sorted(grams, key=lambda g: (df.get(g, 0), g))
    size = len(ordered)
    return ordered[: size - math.ceil(t * size - 1e-9) + 1] if size else []


def _index(p: Params) -> BenchmarkIndex:
    key = json.dumps({k: v for k, v in sorted(vars(p).items())}, sort_keys=True, default=list)
    idx = _INDEXES.get(key)
    if idx is None:
        idx = _INDEXES[key] = build_index(p)
    return idx


# --------------------------------------------------------------------------------------------
# the step


class Decontaminate(GlobalStep):
    """Benchmark decontamination by exact and near matches of code and of queries."""

    name = "decontaminate"
    description = ("drop rows whose code or query (near-)matches a row of named benchmark test sets "
                   "(registered tasks and/or pairs dirs), reporting what matched")
    Params = Params

    @property
    def map_columns(self) -> tuple[str, ...]:  # type: ignore[override]
        return ("id", "query", "code", "language")

    def match_rows(self, ids: list[str], queries: list[str | None], codes: list[str | None],
                   langs: list[str | None]) -> list[Match | None]:
        """The first match of each row (code exact, code near, query exact, query near), or None."""
        p = self.params
        idx = _index(p)
        out: list[Match | None] = [None] * len(ids)
        if p.code in ("both", "exact") and idx.code_keys:
            for i, (code, lang) in enumerate(zip(codes, langs)):
                keys = {code_key(code, None)}
                if lang_spec(lang) is not None:
                    keys.add(code_key(code, lang))
                hits = sorted(idx.code_keys[k] for k in keys if k is not None and k in idx.code_keys)
                if hits:
                    out[i] = Match(hits[0][0], hits[0][1], "code", "exact", 1.0)
        if p.code in ("both", "minhash") and idx.code_rows:
            todo = [i for i in range(len(ids)) if out[i] is None and codes[i]]
            if todo:
                h = hasher(minhash_config(p))
                thresholds = h.config.thresholds
                texts = [codes[i] for i in todo]
                views, offsets, counts = h.view_shingles(texts, [langs[i] for i in todo])
                bands = h.band_matrix_from_shingles(views, offsets)
                for k, i in enumerate(todo):
                    if counts[k] < max(1, p.min_tokens):
                        continue
                    cands = sorted({c for b, v in enumerate(bands[k].tolist()) for c in idx.buckets[b].get(v, ())})
                    if not cands:
                        continue
                    mine = [np.unique(v[offsets[k]:offsets[k + 1]]) for v in views] if p.verify else None
                    for c in cands:
                        sim = 1.0
                        if mine is not None:  # the similarity reported: the highest view Jaccard that passes
                            sims = [mh.jaccard(m, sets[c]) for m, sets in zip(mine, idx.code_sets)]
                            passed = [s for s, m, sets, t in zip(sims, mine, idx.code_sets, thresholds)
                                      if mh.view_match(m, sets[c], t)]
                            if not passed:
                                continue
                            sim = max(passed)
                        out[i] = Match(*idx.code_rows[c], "code", "near", sim)
                        break
        if p.query != "none" and (idx.query_keys or idx.query_rows):
            for i, q in enumerate(queries):
                if out[i] is not None:
                    continue
                words = query_words(q)
                if len(words) < p.min_query_words:
                    continue
                hit = idx.query_keys.get(" ".join(words)) if p.query in ("both", "exact") else None
                if hit is not None:
                    out[i] = Match(hit[0], hit[1], "query", "exact", 1.0)
                    continue
                if p.query in ("both", "jaccard"):
                    out[i] = _query_near(_grams(words, p.query_ngram), idx, p.query_threshold)
        return out

    def map(self, batch: pa.Table) -> pa.Table:
        ids = column(batch, "id")
        found = self.match_rows(ids, column(batch, "query"), column(batch, "code"), column(batch, "language"))
        split = batch.column("split") if "split" in batch.column_names else pa.nulls(batch.num_rows, pa.string())
        return pa.table({"id": batch.column("id"), "split": split,
                         "match": pa.array([json.dumps(m.to_dict()) if m else None for m in found], pa.string())})

    def resolve(self, mapped: Iterable[pa.Table], workdir: Path) -> Decision:
        matches: dict[str, dict[str, Any]] = {}
        rows = 0
        for table in mapped:
            rows += table.num_rows
            for rid, m in zip(table.column("id").to_pylist(), table.column("match").to_pylist()):
                if m is not None:
                    matches[rid] = json.loads(m)
        per: dict[str, dict[str, Any]] = {}
        for m in matches.values():
            s = per.setdefault(m["benchmark"], {"rows_dropped": 0, "by_match": Counter(), "benchmark_rows": set()})
            s["rows_dropped"] += 1
            s["by_match"][f"{m['field']}_{m['match']}"] += 1
            s["benchmark_rows"].add(m["row"])
        summary = {
            "rows": rows,
            "dropped": len(matches),
            "benchmarks": {name: {"rows_dropped": s["rows_dropped"], "by_match": dict(sorted(s["by_match"].items())),
                                  "benchmark_rows_matched": len(s["benchmark_rows"])}
                           for name, s in sorted(per.items())},
        }
        return Decision(matches=dict(sorted(matches.items())), summary=summary)

    def summary(self, decision: Decision) -> dict[str, Any]:
        """What matched: rows dropped per benchmark, by field and match kind, and benchmark rows hit."""
        return decision.summary

    def apply(self, batch: pa.Table, decision: Decision) -> StepOutput:
        ids = column(batch, "id")
        keep = [i not in decision.matches for i in ids]
        reasons = [None if k else "contaminated" for k in keep]
        details = [None if k else json.dumps(decision.matches[i], ensure_ascii=False) for i, k in zip(ids, keep)]
        return keep_mask(batch, keep, reasons, details)


def _query_near(grams: frozenset[str], idx: BenchmarkIndex, t: float) -> Match | None:
    """The benchmark query (first by benchmark, row) whose gram set has Jaccard ≥ t with ``grams``."""
    if not grams:
        return None
    cands = {c for g in _prefix(grams, idx.query_df, t) for c in idx.query_postings.get(g, ())}
    best: tuple[tuple[str, str], float] | None = None
    for c in cands:
        other = idx.query_sets[c]
        inter = len(grams & other)
        sim = inter / (len(grams) + len(other) - inter)
        if sim >= t and (best is None or idx.query_rows[c] < best[0]):
            best = (idx.query_rows[c], sim)
    return Match(best[0][0], best[0][1], "query", "near", best[1]) if best else None
