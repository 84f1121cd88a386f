"""Retrieval metrics with trec_eval semantics (ties: score desc, then doc id desc), fast and exact.

Semantics (usnistgov/trec_eval 9.x/10.0, as reproduced by pytrec_eval; see docs/harness.md §4):

* A run lists ``{qid: {docid: score}}``. Docs are ranked by score descending; equal scores are ordered by
  doc id **descending** (string comparison, trec_eval's ``strcmp(b, a)``). Insertion order never matters.
  trec_eval keeps scores as C ``float`` (``TEXT_RESULTS.sim`` in trec_format.h), so by default scores are
  compared in float32: two scores equal in single precision tie even if they differ as doubles.
* A judged doc is *relevant* when its qrels value is ``>= relevance_level`` (default 1). Unjudged docs
  are non-relevant. nDCG uses the qrels values as linear gains (values ``<= 0`` give no gain) and ignores
  ``relevance_level``; its ideal DCG is built from *all* judged docs of the query, retrieved or not.
* ``mrr`` is trec_eval's ``recip_rank`` over the whole list; ``mrr@k`` gives 0 when the first relevant doc
  is below rank k (trec_eval ``-M k``). ``map`` sums precision at every relevant retrieved doc and divides
  by the number of relevant docs (retrieved or not); ``map@k`` stops at rank k (``map_cut_k``).
  ``ndcg@k`` truncates both DCG and ideal DCG at k (``ndcg_cut_k``). ``p@k`` divides by k even for
  short lists (``P_k``); ``recall@k`` divides by all relevant docs (``recall_k``); ``success@k`` is 1 when a
  relevant doc is in the top k (``success_k``); ``r-precision`` is precision at rank R = #relevant (``Rprec``).
  A query without relevant docs (or with zero ideal DCG) scores 0.

Query averaging is explicit (``averaging=``): by default every qrels query with at least one relevant
doc is averaged and a query missing from the run scores 0 (trec_eval ``-c`` restricted to queries that
can be answered); ``"qrels-all-missing-zero"`` is exactly trec_eval ``-c``; ``"run-and-qrels"`` is
trec_eval's default (and what pytrec_eval returns). ``queries=`` fixes the averaged set outright.

Speed: every measure only needs the ranks of the judged docs with a positive gain or relevance, so each
query costs one vectorised pass over its scores (count of higher scores, plus a string comparison among
exactly-tied docs only) instead of a full sort.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from codequarry.errors import CodequarryError

#: query-averaging rules accepted by ``evaluate(averaging=...)``, with what each one means
AVERAGING = {
    "qrels-relevant-missing-zero": "every qrels query with at least one relevant doc; queries missing from the run score 0",
    "qrels-all-missing-zero": "every qrels query (trec_eval -c); queries missing from the run score 0",
    "run-and-qrels": "queries present in both run and qrels (trec_eval default, pytrec_eval)",
}
DEFAULT_AVERAGING = "qrels-relevant-missing-zero"

#: measure name (without @k) → (needs a cutoff, trec_eval/pytrec_eval name pattern)
MEASURES = {
    "mrr": (False, "recip_rank"),
    "ndcg": (False, "ndcg / ndcg_cut_k"),
    "map": (False, "map / map_cut_k"),
    "recall": (True, "recall_k"),
    "p": (True, "P_k"),
    "success": (True, "success_k"),
    "r-precision": (False, "Rprec"),
}
_ALIASES = {"precision": "p", "recip_rank": "mrr", "rprec": "r-precision", "hit_rate": "success"}
_MEASURE_RE = re.compile(r"^\s*([a-z_\-]+)\s*(?:@\s*(\d+))?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Measure:
    """A parsed measure: family name and optional rank cutoff (None = whole list)."""

    name: str
    k: int | None

    def __str__(self) -> str:
        return self.name if self.k is None else f"{self.name}@{self.k}"


@dataclass(frozen=True)
class EvalResult:
    """Means per measure and per-query values (``per_query[measure][qid]``) over the averaged queries."""

    means: dict[str, float]
    per_query: dict[str, dict[str, float]]
    averaging: str = DEFAULT_AVERAGING
    queries: tuple[str, ...] = field(default=(), repr=False)


def parse_measure(text: str) -> Measure:
    """Parse ``mrr``, ``mrr@10``, ``ndcg@10``, ``map``, ``recall@100``, ``p@10``, ``success@1``, ``r-precision``."""
    m = _MEASURE_RE.match(str(text))
    name = m.group(1).lower() if m else ""
    name = _ALIASES.get(name, name)
    if not m or name not in MEASURES:
        raise CodequarryError(f"unknown measure {text!r}; use one of: mrr, mrr@k, ndcg, ndcg@k, map, map@k, "
                              "recall@k, p@k, success@k, r-precision")
    k = int(m.group(2)) if m.group(2) is not None else None
    needs_k = MEASURES[name][0]
    if needs_k and k is None:
        raise CodequarryError(f"measure {text!r} needs a cutoff, e.g. {name}@10")
    if name == "r-precision" and k is not None:
        raise CodequarryError(f"measure {text!r}: r-precision takes no cutoff")
    if k is not None and k < 1:
        raise CodequarryError(f"measure {text!r}: the cutoff must be a positive integer")
    return Measure(name, k)


def _query_set(qrels: Mapping, run: Mapping, queries: Sequence[str] | None, averaging: str,
               relevance_level: int) -> list[str]:
    if queries is not None:
        out = list(queries)
        seen: set = set()
        for q in out:
            if q in seen:
                raise CodequarryError(f"evaluate(queries=...) lists query {q!r} more than once")
            seen.add(q)
        return out
    if averaging == "qrels-relevant-missing-zero":
        return [q for q, judged in qrels.items() if any(r >= relevance_level for r in judged.values())]
    if averaging == "qrels-all-missing-zero":
        return list(qrels)
    if averaging == "run-and-qrels":
        return [q for q in qrels if q in run]
    raise CodequarryError(f"unknown query averaging {averaging!r}; use one of: {', '.join(AVERAGING)}")


def _ranks(run_q: Mapping[str, float], targets: list[str], qid: str, dtype: type) -> dict[str, int]:
    """1-based trec_eval ranks of the target docs present in ``run_q`` (score desc, doc id desc)."""
    present = [d for d in targets if d in run_q]
    if not present:
        return {}
    n = len(run_q)
    scores = np.fromiter(run_q.values(), dtype=dtype, count=n)
    if np.isnan(scores).any():
        bad = next(d for d, s in run_q.items() if s != s)
        raise CodequarryError(f"run: query {qid!r} doc {bad!r} has a NaN score; scores must be numbers")
    ts = np.array([run_q[d] for d in present], dtype=dtype)
    if len(present) <= 32:
        higher = (scores[None, :] > ts[:, None]).sum(axis=1)
        equal = (scores[None, :] == ts[:, None]).sum(axis=1)
    else:
        ordered = np.sort(scores)
        right = np.searchsorted(ordered, ts, side="right")
        higher = n - right
        equal = right - np.searchsorted(ordered, ts, side="left")
    ranks: dict[str, int] = {}
    ids: list | None = None
    for j, d in enumerate(present):
        r = int(higher[j]) + 1
        if equal[j] > 1:  # exact ties: docs with a larger id (as a string) come first
            if ids is None:
                ids = list(run_q)
            tied = [ids[i] for i in np.flatnonzero(scores == ts[j]).tolist()]
            try:
                r += sum(1 for x in tied if x > d) if isinstance(d, str) else _count_above(tied, d)
            except TypeError:  # a non-string id among the tied ones: compare everything as text
                r += _count_above(tied, d)
        ranks[d] = r
    return ranks


def _count_above(ids: list, doc: object) -> int:
    key = str(doc)
    return sum(1 for x in ids if str(x) > key)


def _dcg(pairs: list[tuple[int, float]], k: float) -> float:
    return sum(g / math.log2(r + 1) for r, g in pairs if r <= k)


def _ideal(gains: list[float], k: float) -> float:
    return sum(g / math.log2(i + 2) for i, g in enumerate(gains) if i < k)


def _score_query(measures: list[Measure], judged: Mapping[str, int], run_q: Mapping[str, float] | None,
                 relevance_level: int, qid: str, dtype: type) -> list[float]:
    relevant = [d for d, r in judged.items() if r >= relevance_level]
    gainful = [d for d, r in judged.items() if r > 0]
    targets = list(dict.fromkeys(relevant + gainful))
    ranks = _ranks(run_q, targets, qid, dtype) if run_q else {}
    rel_ranks = sorted(ranks[d] for d in relevant if d in ranks)
    num_rel = len(relevant)
    gain_pairs = sorted((ranks[d], float(judged[d])) for d in gainful if d in ranks)
    ideal = sorted((float(judged[d]) for d in gainful), reverse=True)
    out = []
    for m in measures:
        k = math.inf if m.k is None else m.k
        if m.name == "mrr":
            out.append(1.0 / rel_ranks[0] if rel_ranks and rel_ranks[0] <= k else 0.0)
        elif m.name == "map":
            ap = sum((i + 1) / r for i, r in enumerate(rel_ranks) if r <= k)
            out.append(ap / num_rel if num_rel else 0.0)
        elif m.name == "ndcg":
            idcg = _ideal(ideal, k)
            out.append(_dcg(gain_pairs, k) / idcg if idcg > 0 else 0.0)
        elif m.name == "recall":
            out.append(sum(1 for r in rel_ranks if r <= k) / num_rel if num_rel else 0.0)
        elif m.name == "p":
            out.append(sum(1 for r in rel_ranks if r <= k) / k)
        elif m.name == "success":
            out.append(1.0 if rel_ranks and rel_ranks[0] <= k else 0.0)
        else:  # r-precision
            out.append(sum(1 for r in rel_ranks if r <= num_rel) / num_rel if num_rel else 0.0)
    return out


def evaluate(qrels: Mapping[str, Mapping[str, int]], run: Mapping[str, Mapping[str, float]],
             measures: Sequence[str], *, queries: Sequence[str] | None = None, relevance_level: int = 1,
             averaging: str = DEFAULT_AVERAGING, score_precision: str = "float32") -> EvalResult:
    """Score ``run`` against graded ``qrels`` with trec_eval semantics; see the module docstring for the rules.

    ``score_precision="float32"`` compares scores as trec_eval stores them (C ``float``), so scores that
    differ only beyond single precision tie and fall to the doc-id rule; ``"float64"`` compares them as given.
    """
    if isinstance(measures, str):
        measures = [measures]
    names = list(dict.fromkeys(measures))
    if not names:
        raise CodequarryError("evaluate: no measures requested")
    parsed = [parse_measure(m) for m in names]
    if averaging not in AVERAGING:
        raise CodequarryError(f"unknown query averaging {averaging!r}; use one of: {', '.join(AVERAGING)}")
    if score_precision not in ("float32", "float64"):
        raise CodequarryError(f"evaluate: score_precision must be 'float32' (trec_eval) or 'float64', "
                              f"not {score_precision!r}")
    dtype = np.float32 if score_precision == "float32" else np.float64
    qids = _query_set(qrels, run, queries, averaging, relevance_level)
    if not qids:
        raise CodequarryError(f"evaluate: no queries to average (averaging {averaging!r}); "
                              "check that the qrels have relevant docs and that run and qrels query ids match")
    table = np.zeros((len(qids), len(parsed)), dtype=np.float64)
    empty: dict = {}
    for i, q in enumerate(qids):
        table[i] = _score_query(parsed, qrels.get(q, empty), run.get(q), relevance_level, q, dtype)
    means = {name: float(table[:, j].mean()) for j, name in enumerate(names)}
    per_query = {name: dict(zip(qids, table[:, j].tolist())) for j, name in enumerate(names)}
    return EvalResult(means=means, per_query=per_query, averaging=averaging if queries is None else "given",
                      queries=tuple(qids))


def pytrec_eval_name(measure: str) -> str:
    """The pytrec_eval/trec_eval result key of a measure (``ndcg@10`` → ``ndcg_cut_10``); for tests and docs."""
    m = parse_measure(measure)
    if m.name == "mrr":
        if m.k is not None:
            raise CodequarryError("mrr@k has no pytrec_eval key (trec_eval needs -M k)")
        return "recip_rank"
    if m.name in ("ndcg", "map"):
        return m.name if m.k is None else f"{m.name}_cut_{m.k}"
    if m.name == "r-precision":
        return "Rprec"
    return {"recall": "recall", "p": "P", "success": "success"}[m.name] + f"_{m.k}"
