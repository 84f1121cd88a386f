"""``csn-ndcg/{lang}`` and ``csn-ndcg-all/{lang}``: CodeSearchNet's human-annotated NDCG (``relevanceeval.py``).

Data: ``annotationStore.csv`` (columns Language, Query, GitHubUrl, Relevance 0–3, Notes; Notes hold
multi-line text, so it is parsed as CSV), ``queries.csv`` (the 99 queries, column ``query``) and the
retrieval corpus: a pairs dir with ``url`` (``codequarry build codesearchnet --dedupe …`` gives the
``{lang}_dedupe_definitions_v2.pkl`` pool the reference ``predict.py`` searches). The corpus is optional
when the model is a predictions file: ``run:model_predictions.csv`` (columns ``query, language, url``,
row order = rank) is scored directly.

Protocol (``protocols.csn_ndcg``): relevance = the mean annotator score per (language, query, url), with
language and query lower-cased; a query whose relevances are all 0 is skipped; at most 300 urls per
(language, query), so a predictions file is read up to its 300th row per query; a query without
predictions scores 0. A model's own ranking is its top 100 (what ``predict.py`` writes). With
``--official`` a repeated url counts at each of its ranks and unknown queries are ignored, as there. Gains ``2**rel - 1``, discount ``log2(r + 1)``, ideal DCG over every annotation.
These rules are not trec_eval's nDCG (linear gain, every doc ranked), hence their own implementation.
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import Any

from codequarry.benchmarks.protocols import CSN_MAX_URLS, csn_ndcg
from codequarry.benchmarks.tasks.base import (
    Evaluation,
    Inputs,
    MissingTaskData,
    Task,
    TaskData,
    joined_tokens,
    make_task_data,
)
from codequarry.benchmarks.tasks.readers import is_pairs_dir, pairs_configs, pairs_rows
from codequarry.errors import CodequarryError
from codequarry.releases.files import CsvRows

ANNOTATIONS_FILE = "annotationStore.csv"
QUERIES_FILE = "queries.csv"
TOP_K = 100  # predict.py: the Annoy top-100 per query
_COLUMNS = ("Language", "Query", "GitHubUrl", "Relevance")


def annotation_rows(path: Path) -> list[tuple[str, str, str, float]]:
    """(Language, Query, GitHubUrl, Relevance) per judgement, parsed as CSV (Notes span several lines)."""
    rows: list[tuple[str, str, str, float]] = []
    with CsvRows(path) as reader:  # UTF-8 (a leading BOM skipped); read errors are one-line errors
        missing = [c for c in _COLUMNS if c not in reader.fieldnames]
        if missing:
            raise CodequarryError(f"{path}: missing column(s) {', '.join(missing)}; expected {', '.join(_COLUMNS)}, Notes")
        for line_num, row in reader:
            where = f"{path}:{line_num}"
            rel_text = (row["Relevance"] or "").strip()
            if not rel_text:
                continue  # pandas' pivot_table drops a missing relevance
            try:
                rel = float(rel_text)
            except ValueError:
                raise CodequarryError(f"{where}: Relevance {rel_text!r} is not a number") from None
            if not math.isfinite(rel):
                raise CodequarryError(f"{where}: Relevance {rel_text!r} is not finite")
            if not row["Language"] or not row["Query"] or not row["GitHubUrl"]:
                raise CodequarryError(f"{where}: Language, Query and GitHubUrl must not be empty")
            rows.append((row["Language"], row["Query"], row["GitHubUrl"], rel))
    return rows


def read_annotations(path: Path) -> dict[str, dict[str, dict[str, float]]]:
    """language (lower) → query (lower) → url → mean relevance, exactly as ``load_relevances`` builds it."""
    sums: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for language, query, url, rel in annotation_rows(path):
        sums[(query, language, url)].append(rel)
    out: dict[str, dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    for (query, language, url) in sorted(sums):  # pivot_table's sorted index; a later case variant wins, as there
        vals = sums[(query, language, url)]
        out[language.lower()][query.lower()][url] = sum(vals) / len(vals)
    return {lang: dict(qs) for lang, qs in out.items()}


def read_queries(path: Path) -> list[str]:
    with CsvRows(path) as reader:
        if "query" not in reader.fieldnames:
            raise CodequarryError(f"{path}: expected a 'query' column")
        return [row["query"] for _, row in reader if row["query"]]


def load(task: Task, inputs: Inputs, split: str) -> TaskData:
    inputs.check_names(task, ("annotations", "queries", "corpus"))
    language = task.options["language"]
    primary = inputs.primary
    corpus_dir = inputs.named("corpus") or (primary if is_pairs_dir(primary) else None)
    ann_path = inputs.named("annotations")
    q_path = inputs.named("queries")
    for base in [p for p in (primary, corpus_dir) if p is not None and p.is_dir()]:
        ann_path = ann_path or (base / ANNOTATIONS_FILE if (base / ANNOTATIONS_FILE).is_file() else None)
        q_path = q_path or (base / QUERIES_FILE if (base / QUERIES_FILE).is_file() else None)
    if ann_path is None and primary is not None and primary.is_file() and primary.suffix == ".csv":
        ann_path = primary
    if ann_path is None:
        raise MissingTaskData(f"task {task.name!r}: {ANNOTATIONS_FILE} not found; pass --data DIR holding it or "
                              f"--data annotations=FILE. {task.data_source}")
    annotations = read_annotations(ann_path)
    relevance = annotations.get(language, {})
    if not relevance:
        raise MissingTaskData(f"{ann_path}: no annotations for language {language!r}")
    if q_path is not None:
        texts = read_queries(q_path)
    else:  # every query is annotated in some language (protocols.md §1e)
        texts = sorted({q for qs in annotations.values() for q in qs})
    queries = {t.lower(): t for t in texts}
    unknown = [q for q in relevance if q not in queries]
    if unknown:
        raise CodequarryError(f"{ann_path}: annotated query {unknown[0]!r} is not in {q_path}")
    qrels = {q: {u: int(math.floor(r + 0.5)) for u, r in urls.items()} for q, urls in relevance.items()}
    corpus: dict[str, str] = {}
    skipped = 0
    files = [str(ann_path)] + ([str(q_path)] if q_path else [])
    if corpus_dir is not None:
        configs = pairs_configs(corpus_dir)
        config = language if language in configs else None
        if config is None and len(configs) > 1:
            raise MissingTaskData(f"{corpus_dir}: no config {language!r} among {', '.join(configs)}")
        for r in pairs_rows(corpus_dir, split=None, config=config, columns=["url", "code", "code_tokens", "language"]):
            url = r.get("url")
            if not url or (r.get("language") and r["language"].lower() != language):
                skipped += 1
                continue
            if url not in corpus:
                corpus[url] = joined_tokens(r["code_tokens"]) if r.get("code_tokens") else (r.get("code") or "")
        files.append(str(corpus_dir))
        if not corpus:
            raise CodequarryError(f"{corpus_dir}: no {language} rows with a url to search")
    scored = sorted(q for q, urls in relevance.items() if any(r > 0 for r in urls.values()))
    return make_task_data(task, split, queries, corpus, qrels, files=files, fingerprint_extra=relevance,
                          extra={"relevance": relevance, "scored_queries": scored},
                          annotated_queries=len(relevance), skipped_all_zero=len(relevance) - len(scored),
                          corpus_rows_skipped=skipped)


def evaluate(task: Task, data: TaskData, model: Any) -> Evaluation:
    relevance: dict[str, dict[str, float]] = data.extra["relevance"]
    scored: list[str] = data.extra["scored_queries"]
    within = task.options["variant"] == "within"
    is_file = bool(getattr(model, "is_prediction_file", False))
    if not data.corpus and not is_file:
        raise CodequarryError(f"task {task.name!r}: a model needs a corpus to search: pass --data corpus=PAIRS_DIR "
                              "(codequarry build codesearchnet --dedupe …), or score a predictions file with run:FILE")
    depth = CSN_MAX_URLS if is_file else TOP_K  # a file keeps its first 300 rows per query; a model returns its top 100
    run = model.retrieve(data.queries, data.corpus, depth, language=task.options["language"],
                         allow_missing=True, max_per_query=CSN_MAX_URLS, desc=task.name)
    official = bool(getattr(model, "official", False))
    lists = model.ranked_lists() if official else None  # file order, a repeated url at each of its ranks
    per_query: dict[str, float] = {}
    for q in scored:
        ranked = (lists.get(q, []) if lists is not None else ranked_docs(run.get(q, {})))[:CSN_MAX_URLS]
        value = csn_ndcg(ranked, relevance[q], within=within)
        per_query[q] = 0.0 if value is None else value
    score = sum(per_query.values()) / len(per_query) if per_query else 0.0
    details: dict[str, Any] = {"variant": task.options["variant"], "top_k": depth, "max_urls": CSN_MAX_URLS,
                               "gain": "2**rel - 1", "skipped_all_zero": len(relevance) - len(scored),
                               "official": official}
    if official:
        details["ignored_queries"] = list(getattr(model, "ignored_queries", []))
    return Evaluation(scores={"ndcg": score}, per_query={"ndcg": per_query}, num_queries=len(per_query),
                      num_docs=len(data.corpus), details=details, run=run)


def ranked_docs(run_q: dict[str, float]) -> list[str]:
    """Doc ids by score descending, then doc id descending (trec_eval's order; a CSV's rows carry distinct scores)."""
    items = sorted(run_q.items(), key=lambda kv: kv[0], reverse=True)
    items.sort(key=lambda kv: -kv[1])  # stable: equal scores keep the doc-id-descending order
    return [d for d, _ in items]
