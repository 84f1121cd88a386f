"""``csn/{lang}`` and ``csn-model-test/{lang}``: CodeSearchNet's 1000-candidate MRR (protocols.md §1d), exactly.

Data: the test rows of one language, in file order — from the release (``{lang}.zip``, or a folder with
``{lang}_test_*.jsonl.gz`` anywhere below it, or one jsonl(.gz) file) or from a pairs dir written by
``codequarry build codesearchnet`` (config = language). Inputs are what CodeBERT feeds its model:
query = ``' '.join(docstring_tokens)``, code = the code tokens joined by spaces after CodeBERT's
``process_data.format_str`` turned every ``\r\n``, ``\r`` and ``\n`` inside a token into a space (a pairs dir's
``query_tokens`` / ``code_tokens``, falling back to ``query`` / ``code``).

Protocol (``protocols.csn_batches`` / ``csn_ranks`` / ``csn_mrr``): seed-0 legacy shuffle of the row
indices, chunks of 1000 with the last partial chunk dropped, ties counted against the model, MRR per
batch then averaged over batches. Two published directions, two protocols (task option ``direction``):

* ``query-to-code`` (``csn``, protocol ``csn-1000-mrr``): each query ranks the 1,000 codes of its batch
  under the model's own score, as CodeBERT's ``codesearch/mrr.py``;
* ``code-to-query`` (``csn-model-test``, protocol ``csn-model-test-mrr``): CodeSearchNet's own
  ``src/model_test.py``: ``cdist(code_vecs, query_vecs, 'cosine')``, so each code ranks the 1,000 queries of
  its batch by cosine distance whatever the model's similarity (float64, as scipy computes it).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from codequarry.benchmarks.protocols import CSN_BATCH_SIZE, CSN_SEED, csn_batches, csn_mrr, csn_ranks
from codequarry.benchmarks.tasks.base import (
    Evaluation,
    Inputs,
    MissingTaskData,
    Task,
    TaskData,
    joined_tokens,
    make_task_data,
)
from codequarry.benchmarks.tasks.readers import (
    csn_files,
    is_pairs_dir,
    iter_csn_records,
    pairs_rows,
    row_meta,
)
from codequarry.errors import CodequarryError

DIRECTIONS = ("query-to-code", "code-to-query")
RANKED_LIST = False  # each batch is a 1000 × 1000 score block, not a ranking of a corpus (no --save-run/--measures)


def codebert_code_text(tokens: Any) -> str:
    """CodeBERT's code input: each token with ``\r\n``/``\r``/``\n`` replaced by a space, joined by spaces.

    A string (a pairs dir may store tokens as text) is re-split on whitespace first, as ``joined_tokens`` does.
    """
    if tokens is None:
        return ""
    if isinstance(tokens, str):
        return joined_tokens(tokens)
    return " ".join(str(t).replace("\r\n", " ").replace("\r", " ").replace("\n", " ") for t in tokens)


def unique_id(base: str, seen: dict[str, int]) -> str:
    """``base``, or ``base#n`` for its n-th repeat (CSN urls are ids; a repeated url must stay distinguishable)."""
    n = seen.get(base, 0) + 1
    seen[base] = n
    return base if n == 1 else f"{base}#{n}"


def read_rows(task: Task, inputs: Inputs, split: str, language: str) -> tuple[list[tuple[str, str, str]], list[str], str]:
    """(id, query text, code text) per test row in source order, the files read, and the source kind."""
    inputs.check_names(task, ())
    path = inputs.primary
    if path is None:
        raise MissingTaskData(f"task {task.name!r} needs --data: {task.data_source}")
    seen: dict[str, int] = {}
    rows: list[tuple[str, str, str]] = []
    if is_pairs_dir(path):
        recs = list(pairs_rows(path, split=split, config=language,
                               columns=["id", "query", "code", "query_tokens", "code_tokens", "url", "meta"]))
        # keep the source's line order when the builder recorded it, else the dir's canonical order
        recs = _source_order(recs)
        for r in recs:
            rid = unique_id(r.get("url") or r["id"], seen)
            q = joined_tokens(r["query_tokens"]) if r.get("query_tokens") else (r.get("query") or "")
            c = codebert_code_text(r["code_tokens"]) if r.get("code_tokens") else (r.get("code") or "")
            rows.append((rid, q, c))
        return rows, [str(path)], "pairs-dir"
    files = csn_files(path, language, split)
    if not files:
        raise MissingTaskData(f"{path}: no CodeSearchNet {language}_{split}_*.jsonl.gz file found (nor a {language}.zip "
                              f"holding one). {task.data_source}")
    for name, line, obj in iter_csn_records(files):
        if obj.get("language", language).lower() != language:
            continue
        if "docstring_tokens" not in obj or "code_tokens" not in obj:
            raise CodequarryError(f"{name}:{line}: a CodeSearchNet record needs docstring_tokens and code_tokens")
        rid = unique_id(str(obj.get("url") or f"{name.rsplit('/', 1)[-1]}:{line}"), seen)
        rows.append((rid, joined_tokens(obj["docstring_tokens"]), codebert_code_text(obj["code_tokens"])))
    if not rows:
        raise CodequarryError(f"{path}: no {language} rows in the {split} files {[n for n, _ in files][:3]}")
    return rows, [n for n, _ in files], "codesearchnet-jsonl"


def _source_order(recs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    keys = []
    for r in recs:
        m = row_meta(r)
        f, ln = m.get("file", m.get("source_file")), m.get("line", m.get("lineno"))
        if f is None or ln is None:
            return recs
        keys.append((str(f), int(ln)))
    order = sorted(range(len(recs)), key=lambda i: keys[i])
    return [recs[i] for i in order]


def load(task: Task, inputs: Inputs, split: str) -> TaskData:
    language = task.options["language"]
    rows, files, kind = read_rows(task, inputs, split, language)
    queries = {rid: q for rid, q, _ in rows}
    corpus = {rid: c for rid, _, c in rows}
    qrels = {rid: {rid: 1} for rid, _, _ in rows}
    order = [rid for rid, _, _ in rows]
    batches = csn_batches(len(order), CSN_BATCH_SIZE, CSN_SEED)
    size = len(batches[0])
    return make_task_data(task, split, queries, corpus, qrels, files=files, extra={"order": order},
                          fingerprint_extra=order, source_kind=kind, batch_size=size, num_batches=len(batches),
                          dropped_rows=len(order) - size * len(batches))


def evaluate(task: Task, data: TaskData, model: Any) -> Evaluation:
    order: list[str] = data.extra["order"]
    direction = task.options.get("direction", "query-to-code")
    if direction not in DIRECTIONS:
        raise CodequarryError(f"task {task.name!r}: direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}")
    batches = csn_batches(len(order), CSN_BATCH_SIZE, CSN_SEED)
    batch_ranks: list[np.ndarray] = []
    per_query: dict[str, float] = {}
    embed = getattr(model, "embed", None)
    if callable(embed):  # encode every row once (cached), then score each batch from the vectors
        qv = embed([data.queries[i] for i in order], side="query", desc=f"{task.name} queries")
        cv = embed([data.corpus[i] for i in order], side="document", desc=f"{task.name} code")
    for b in batches:
        ids = [order[i] for i in b]
        if direction == "code-to-query":
            if callable(embed):
                scores = cosine_similarity(cv[b], qv[b])  # rows are codes: each code ranks the queries
            else:
                scores = np.asarray(model.score_matrix(ids, [data.queries[i] for i in ids], ids,
                                                       [data.corpus[i] for i in ids])).T
        elif callable(embed):
            scores = model.similarity_matrix(qv[b], cv[b])
        else:
            scores = model.score_matrix(ids, [data.queries[i] for i in ids], ids, [data.corpus[i] for i in ids])
        ranks = csn_ranks(scores)
        batch_ranks.append(ranks)
        per_query.update({q: 1.0 / float(r) for q, r in zip(ids, ranks.tolist())})
    size = len(batches[0])
    similarity = "cosine distance (scipy cdist)" if direction == "code-to-query" and callable(embed) else "the model's"
    return Evaluation(scores={"mrr": csn_mrr(batch_ranks)}, per_query={"mrr": per_query},
                      num_queries=len(per_query), num_docs=size,
                      details={"batch_size": size, "num_batches": len(batches), "seed": CSN_SEED,
                               "dropped_rows": len(order) - size * len(batches),
                               "direction": "query->code" if direction == "query-to-code" else "code->query",
                               "similarity": similarity, "ties": "count against the model (>=)"})


def cosine_similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``-cdist(a, b, 'cosine')`` in float64 (scipy, as model_test.py): a larger value is a smaller distance."""
    from scipy.spatial.distance import cdist

    return -cdist(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64), "cosine")
