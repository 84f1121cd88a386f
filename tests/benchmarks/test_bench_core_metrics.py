"""Metrics: equal to pytrec_eval (trec_eval) on randomized tie-heavy runs, the -c rule, hand-checked cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from codequarry.benchmarks.metrics import evaluate, parse_measure, pytrec_eval_name
from codequarry.errors import CodequarryError

pytrec_eval = pytest.importorskip("pytrec_eval")

MEASURES = ["mrr", "ndcg", "ndcg@1", "ndcg@5", "ndcg@10", "map", "map@5", "map@20", "recall@1", "recall@10",
            "recall@100", "p@1", "p@5", "p@50", "success@1", "success@3", "r-precision"]


def _random_case(seed: int, id_style: str):
    """qrels graded -1..3 (some queries without relevant docs), a run with few score values (ties)."""
    rng = np.random.default_rng(seed)
    n_pool = 120
    if id_style == "int":  # integer-like ids, where string order differs from numeric order
        pool = [str(i) for i in rng.permutation(n_pool)]
    else:
        pool = [f"doc-{chr(97 + i % 26)}{i}" for i in rng.permutation(n_pool)]
    qrels, run = {}, {}
    for q in range(60):
        qid = f"q{q}"
        docs = list(rng.choice(pool, size=int(rng.integers(1, 25)), replace=False))
        if q % 9 == 0:
            qrels[qid] = {d: 0 for d in docs}  # judged, nothing relevant
        else:
            qrels[qid] = {d: int(rng.choice([-1, 0, 0, 1, 2, 3])) for d in docs}
        if q % 7 == 3:
            continue  # query missing from the run
        ranked = list(rng.choice(pool, size=int(rng.integers(0, 80)), replace=False))
        levels = rng.choice([1, 3, 6], p=[0.3, 0.4, 0.3])
        run[qid] = {d: float(rng.integers(0, levels)) / 2 for d in ranked}
    run["not-in-qrels"] = {pool[0]: 1.0}
    return qrels, run


def _pytrec(qrels, run, measures, relevance_level=1):
    """pytrec_eval per-query values keyed by our measure names (``ndcg@10`` ← ``ndcg_cut_10``)."""
    keys = {m: pytrec_eval_name(m) for m in measures}
    spec = set()
    for key in keys.values():
        base, _, k = key.rpartition("_")
        spec.add(f"{base}.{k}" if k.isdigit() else key)
    out = pytrec_eval.RelevanceEvaluator(qrels, spec, relevance_level=relevance_level).evaluate(run)
    return {m: {q: v[keys[m]] for q, v in out.items()} for m in measures}


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("id_style", ["int", "str"])
@pytest.mark.parametrize("level", [1, 2])
def test_equal_to_pytrec_eval_on_tie_heavy_random_runs(seed, id_style, level):
    qrels, run = _random_case(seed, id_style)
    ours = evaluate(qrels, run, MEASURES, relevance_level=level, averaging="run-and-qrels")
    ref = _pytrec(qrels, run, MEASURES, relevance_level=level)
    assert set(ours.queries) == set(ref["mrr"])  # pytrec_eval scores run ∩ qrels
    for m in MEASURES:
        for q, v in ref[m].items():
            assert ours.per_query[m][q] == pytest.approx(v, abs=1e-9), (m, q)
        assert ours.means[m] == pytest.approx(np.mean(list(ref[m].values())), abs=1e-9)


def test_insertion_order_never_matters():
    qrels, run = _random_case(5, "int")
    rng = np.random.default_rng(0)
    shuffled = {}
    for q, docs in reversed(list(run.items())):
        items = list(docs.items())
        rng.shuffle(items)
        shuffled[q] = dict(items)
    a = evaluate(qrels, run, MEASURES)
    b = evaluate(qrels, shuffled, MEASURES)
    assert a.per_query == b.per_query


def _top_k_by_trec_rule(run, k):
    return {q: dict(sorted(docs.items(), key=lambda kv: (-kv[1], _desc(kv[0])))[:k]) for q, docs in run.items()}


def _desc(s: str):
    return [-ord(c) for c in s] + [1]  # descending string order (a prefix sorts after its extensions)


@pytest.mark.parametrize("k", [1, 3, 10])
def test_mrr_at_k_equals_recip_rank_of_the_truncated_run(k):
    """trec_eval has no MRR@k: it is recip_rank with -M k, i.e. on the run cut to its top k."""
    qrels, run = _random_case(11, "int")
    ours = evaluate(qrels, run, [f"mrr@{k}"], averaging="run-and-qrels")
    ref = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(_top_k_by_trec_rule(run, k))
    for q, v in ref.items():
        assert ours.per_query[f"mrr@{k}"][q] == pytest.approx(v["recip_rank"], abs=1e-12)


def test_minus_c_rule_and_default_averaging():
    qrels, run = _random_case(3, "str")
    ref = _pytrec(qrels, run, ["ndcg@10", "mrr"])
    relevant = [q for q, j in qrels.items() if any(r >= 1 for r in j.values())]
    missing = [q for q in relevant if q not in run]
    assert missing  # the case must exercise queries absent from the run
    default = evaluate(qrels, run, ["ndcg@10", "mrr"])
    assert list(default.queries) == relevant
    for m in ("ndcg@10", "mrr"):
        assert all(default.per_query[m][q] == 0.0 for q in missing)
        expected = sum(ref[m].get(q, 0.0) for q in relevant) / len(relevant)
        assert default.means[m] == pytest.approx(expected, abs=1e-12)
    every = evaluate(qrels, run, ["mrr"], averaging="qrels-all-missing-zero")  # trec_eval -c exactly
    assert every.means["mrr"] == pytest.approx(sum(ref["mrr"].values()) / len(qrels), abs=1e-12)
    inter = evaluate(qrels, run, ["mrr"], averaging="run-and-qrels")
    assert inter.means["mrr"] == pytest.approx(np.mean(list(ref["mrr"].values())), abs=1e-12)
    assert not math.isclose(every.means["mrr"], inter.means["mrr"])


def test_tie_rule_changes_mrr():
    qrels = {"q": {"a": 1}}
    assert evaluate(qrels, {"q": {"a": 1.0, "b": 1.0}}, ["mrr"]).means["mrr"] == 0.5  # "b" > "a" ranks first
    assert evaluate(qrels, {"q": {"b": 1.0, "a": 1.0}}, ["mrr"]).means["mrr"] == 0.5  # order of the dict: no effect
    assert evaluate({"q": {"z": 1}}, {"q": {"a": 1.0, "z": 1.0}}, ["mrr"]).means["mrr"] == 1.0
    # ids compare as strings: "9" > "10", so "9" comes first among ties
    assert evaluate({"q": {"10": 1}}, {"q": {"10": 2.0, "9": 2.0}}, ["mrr"]).means["mrr"] == 0.5
    assert evaluate({"q": {"9": 1}}, {"q": {"10": 2.0, "9": 2.0}}, ["mrr"]).means["mrr"] == 1.0


def test_hand_checked_values():
    qrels = {"q": {"d1": 3, "d2": 1, "d3": 2, "d9": 1}}  # d9 never retrieved
    run = {"q": {"d1": 0.5, "x": 0.9, "d3": 0.1, "y": 0.7, "d2": 0.3}}  # ranking: x y d1 d2 d3
    r = evaluate(qrels, run, ["mrr", "mrr@2", "map", "map@3", "p@3", "p@10", "recall@4", "success@2",
                              "success@3", "r-precision", "ndcg", "ndcg@3"])
    m = r.means
    assert m["mrr"] == pytest.approx(1 / 3)
    assert m["mrr@2"] == 0.0
    assert m["map"] == pytest.approx((1 / 3 + 2 / 4 + 3 / 5) / 4)  # ÷ all 4 relevant docs
    assert m["map@3"] == pytest.approx((1 / 3) / 4)
    assert m["p@3"] == pytest.approx(1 / 3)
    assert m["p@10"] == pytest.approx(3 / 10)  # short list padded with non-relevant
    assert m["recall@4"] == pytest.approx(2 / 4)
    assert (m["success@2"], m["success@3"]) == (0.0, 1.0)
    assert m["r-precision"] == pytest.approx(2 / 4)
    dcg = 3 / math.log2(4) + 1 / math.log2(5) + 2 / math.log2(6)  # linear gains
    idcg = 3 / math.log2(2) + 2 / math.log2(3) + 1 / math.log2(4) + 1 / math.log2(5)  # all judged docs
    assert m["ndcg"] == pytest.approx(dcg / idcg)
    assert m["ndcg@3"] == pytest.approx((3 / math.log2(4)) / (3 + 2 / math.log2(3) + 1 / 2))


def test_relevance_level_changes_binary_measures_not_ndcg():
    qrels = {"q": {"a": 1, "b": 2}}
    run = {"q": {"a": 2.0, "b": 1.0}}
    one = evaluate(qrels, run, ["mrr", "ndcg"], relevance_level=1)
    two = evaluate(qrels, run, ["mrr", "ndcg"], relevance_level=2)
    assert (one.means["mrr"], two.means["mrr"]) == (1.0, 0.5)
    assert one.means["ndcg"] == two.means["ndcg"] < 1.0


def test_queries_argument_fixes_the_averaged_set():
    qrels = {"q1": {"a": 1}, "q2": {"b": 1}}
    run = {"q1": {"a": 1.0}, "q2": {"b": 1.0}}
    r = evaluate(qrels, run, ["mrr"], queries=["q1", "unjudged"])
    assert r.per_query["mrr"] == {"q1": 1.0, "unjudged": 0.0}
    assert r.means["mrr"] == 0.5
    with pytest.raises(CodequarryError, match="more than once"):
        evaluate(qrels, run, ["mrr"], queries=["q1", "q1"])


def test_errors_are_clear():
    with pytest.raises(CodequarryError, match="unknown measure"):
        parse_measure("ndgc@10")
    with pytest.raises(CodequarryError, match="needs a cutoff"):
        parse_measure("recall")
    with pytest.raises(CodequarryError, match="positive"):
        parse_measure("p@0")
    with pytest.raises(CodequarryError, match="NaN"):
        evaluate({"q": {"a": 1}}, {"q": {"a": float("nan"), "b": 1.0}}, ["mrr"])
    with pytest.raises(CodequarryError, match="no queries"):
        evaluate({"q": {"a": 0}}, {"q": {"a": 1.0}}, ["mrr"])
    with pytest.raises(CodequarryError, match="averaging"):
        evaluate({"q": {"a": 1}}, {}, ["mrr"], averaging="mean")


def test_measure_aliases():
    assert str(parse_measure("P@10")) == "p@10"
    assert str(parse_measure("precision@5")) == "p@5"
    assert str(parse_measure("NDCG@10")) == "ndcg@10"
    r = evaluate({"q": {"a": 1}}, {"q": {"a": 1.0}}, ["P@1", "p@1"])
    assert r.means == {"P@1": 1.0, "p@1": 1.0}  # keyed by the names asked for


def test_scores_compare_in_single_precision_like_trec_eval():
    """trec_eval stores scores as C float: 0.5 and 0.5 + 1e-9 tie, and the doc-id rule decides."""
    qrels = {"q": {"b": 1}}
    run = {"q": {"a": 0.5 + 1e-9, "b": 0.5}}
    ref = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(run)["q"]["recip_rank"]
    assert evaluate(qrels, run, ["mrr"]).means["mrr"] == ref == 1.0
    assert evaluate(qrels, run, ["mrr"], score_precision="float64").means["mrr"] == 0.5
    with pytest.raises(CodequarryError, match="score_precision"):
        evaluate(qrels, run, ["mrr"], score_precision="half")


def test_equal_to_pytrec_eval_with_near_equal_doubles():
    rng = np.random.default_rng(21)
    qrels, run = {}, {}
    for q in range(200):
        docs = [f"d{i}" for i in rng.permutation(400)[:300]]
        qrels[f"q{q}"] = {d: int(rng.integers(0, 3)) for d in docs[:30]}
        base = rng.integers(0, 20, 300) / 7  # collide in float32 after tiny double offsets
        run[f"q{q}"] = dict(zip(docs, (base + rng.integers(0, 4, 300) * 1e-12).tolist()))
    ours = evaluate(qrels, run, MEASURES, averaging="run-and-qrels")
    ref = _pytrec(qrels, run, MEASURES)
    for m in MEASURES:
        for q, v in ref[m].items():
            assert ours.per_query[m][q] == pytest.approx(v, abs=1e-9), (m, q)
