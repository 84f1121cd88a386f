"""The tasks on the real third-party files in ../shared/data (skipped when that folder is absent)."""

from __future__ import annotations

import csv
from collections import Counter

import numpy as np
import pytest

from codequarry.benchmarks.models import load_model
from codequarry.benchmarks.tasks import get_task, load_task
from codequarry.benchmarks.tasks.csn_ndcg import annotation_rows, read_annotations


def test_cosqa_dev_with_bm25_end_to_end(shared_data):
    task = get_task("cosqa")
    data = task.load(shared_data / "cosqa", split="dev")
    assert len(data.queries) == 500 and len(data.corpus) == 6267
    assert sorted(map(int, data.corpus)) == list(range(6267))
    model = load_model("bm25")
    ev = task.evaluate(data, model)
    assert ev.num_queries == 500 and ev.details["k"] == 6267
    # independent check: bm25s on the same tokens, full ranks with trec_eval ties, unmatched docs not retrieved
    import bm25s

    from codequarry.benchmarks.models_bm25 import tokenize

    dids = list(data.corpus)
    index = bm25s.BM25()
    index.index([tokenize(data.corpus[d]) for d in dids], show_progress=False)
    pos = {d: i for i, d in enumerate(dids)}
    rr = []
    for q, text in data.queries.items():
        toks = [t for t in tokenize(text) if t in index.vocab_dict]
        target = pos[next(iter(data.qrels[q]))]
        if not toks:
            rr.append(0.0)
            continue
        s = index.get_scores(toks)
        doc_toks = set(tokenize(data.corpus[dids[target]]))
        if not doc_toks & set(toks):
            rr.append(0.0)
            continue
        better = np.sum(s > s[target]) + sum(1 for i in np.flatnonzero(s == s[target]) if dids[i] > dids[target])
        rr.append(1.0 / (better + 1))
    assert ev.scores["mrr"] == pytest.approx(float(np.mean(rr)), abs=1e-6)
    assert 0.2 < ev.scores["mrr"] < 0.6 and ev.scores["recall@1"] <= ev.scores["recall@10"]


def test_annotation_store_parsing(shared_data):
    path = shared_data / "codesearchnet" / "annotationStore.csv"
    rows = annotation_rows(path)
    assert len(rows) == 4006  # Notes span lines: a line reader would see more records
    assert Counter(r[0] for r in rows) == {"Python": 2079, "Java": 813, "JavaScript": 319, "Ruby": 315, "PHP": 314, "Go": 166}
    assert Counter(int(r[3]) for r in rows) == {0: 1314, 1: 982, 2: 863, 3: 847}
    rel = read_annotations(path)
    groups = [(lang, q) for lang, qs in rel.items() for q in qs]
    assert len(groups) == 573
    assert sum(1 for lang, q in groups if all(v == 0 for v in rel[lang][q].values())) == 60
    triples = Counter((r[0], r[1], r[2]) for r in rows)
    assert len(triples) == 2914 and sum(1 for n in triples.values() if n > 1) == 880
    with open(path, encoding="utf-8", newline="") as fh:
        assert sum(1 for r in csv.DictReader(fh) if r["Notes"].strip()) == 172


def _reference_ndcg(annotations_csv, predictions: dict[str, dict[str, list[str]]], within: bool) -> dict[str, float]:
    """relevanceeval.py's computation, written independently with pandas (pivot_table mean)."""
    import pandas as pd

    df = pd.read_csv(annotations_csv)
    piv = df.pivot_table(index=["Query", "Language", "GitHubUrl"], values="Relevance", aggfunc="mean")
    rel: dict = {}
    for (q, lang, url), r in piv["Relevance"].items():
        rel.setdefault(lang.lower(), {}).setdefault(q.lower(), {})[url] = r
    out = {}
    for lang, preds in predictions.items():
        total, n = 0.0, 0
        for q, ann in rel[lang].items():
            rank, dcg = 1, 0.0
            for url in preds.get(q, [])[:300]:
                if url in ann:
                    dcg += (2 ** ann[url] - 1) / np.log2(rank + 1)
                    rank += 1
                elif not within:
                    rank += 1
            idcg = sum((2 ** r - 1) / np.log2(i + 1) for i, r in enumerate(sorted(ann.values(), reverse=True), start=1))
            if idcg == 0:
                continue
            n += 1
            total += dcg / idcg
        out[lang] = total / n
    return out


def test_csn_ndcg_real_annotations_match_reference(shared_data, tmp_path):
    res = shared_data / "codesearchnet"
    rel = read_annotations(res / "annotationStore.csv")
    rng = np.random.default_rng(0)
    preds: dict[str, dict[str, list[str]]] = {}
    rows = []
    for lang in ("python", "go"):
        preds[lang] = {}
        for q, ann in sorted(rel[lang].items()):
            if rng.random() < 0.1:
                continue  # some queries get no predictions: they score 0
            urls = list(ann) + [f"https://github.com/x/y/blob/0/f{i}.py#L1-L2" for i in range(int(rng.integers(0, 6)))]
            rng.shuffle(urls)
            preds[lang][q] = urls
            rows += [(q, lang, u) for u in urls]
    pfile = tmp_path / "model_predictions.csv"
    with open(pfile, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["query", "language", "url"])
        w.writerows(rows)
    model = load_model(f"run:{pfile}")
    for variant, within in (("csn-ndcg", True), ("csn-ndcg-all", False)):
        ref = _reference_ndcg(res / "annotationStore.csv", preds, within)
        for lang in ("python", "go"):
            name = f"{variant}/{lang}"
            ev = get_task(name).evaluate(load_task(name, res), model)
            assert ev.scores["ndcg"] == pytest.approx(ref[lang], abs=1e-12), name
            assert ev.num_queries == {"python": 99, "go": 68}[lang]  # all-zero groups skipped (Go: 15 of 83)


def test_advtest_evaluator_sample(shared_data):
    d = shared_data / "codexglue"
    data = load_task("advtest", {"answers": d / "advtest-evaluator-answers.jsonl"})
    ev = get_task("advtest").evaluate(data, load_model(f"run:{d / 'advtest-evaluator-predictions.jsonl'}"))
    expected = (1 + 1 / 3 + 1 / 3 + 1 / 4 + 1 / 5) / 5
    assert ev.scores["mrr@100"] == pytest.approx(expected)
    assert ev.details["codexglue_evaluator_mrr"] == 0.4233


def test_webquery_evaluator_sample(shared_data):
    d = shared_data / "codexglue"
    data = load_task("webquery", {"answers": d / "webquery-evaluator-answers.txt", "test": d / "test_webquery.json"})
    assert data.queries["webquery-test-1"] == "how to open a text file on python"
    ev = get_task("webquery").evaluate(data, load_model(f"run:{d / 'webquery-evaluator-predictions.txt'}"))
    assert ev.scores == {"accuracy": 0.4, "precision": 0.0, "recall": 0.0, "f1": 0.0}
    assert ev.per_query["accuracy"]["webquery-test-4"] == 1.0


def test_cosqa_qa_real_dev_file(shared_data):
    data = load_task("cosqa-qa", shared_data / "cosqa")
    assert len(data.qrels) == 604 and data.meta["positives"] == 313 and data.meta["negatives"] == 291
    assert all(d == {q: d[q]} and d[q] in (0, 1) for q, d in data.qrels.items())
    assert len(set(data.queries.values())) == 604 and len(set(data.corpus.values())) == 552
