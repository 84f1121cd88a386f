"""Any pairs dir as a task (``pairs-retrieval``), and StaQC (``staqc-retrieval``) which is read the same way.

``pairs/{dir}``: every row of the chosen split whose ``label`` is not 0 is a query; it must find its own
code among the split's distinct codes (rows with identical code share one doc, whose id is the smallest
row id among them, so a duplicate is not a distractor). Rows with an empty query or code are left out and
counted. Depth 1000; MRR over that list, Recall@1/5/10, nDCG@10.

``staqc/{lang}``: the StaQC pairs of ``codequarry build staqc`` (config python or sql). Positive pairs
(label 1, or unlabelled mined/single-answer pairs) only; a question (``meta.question_id``, else the title
text) is one query whose relevant docs are all of its positive snippets, searched among the split's
positive snippets.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from codequarry.benchmarks.tasks.base import (
    Inputs,
    MissingTaskData,
    Task,
    TaskData,
    make_task_data,
)
from codequarry.benchmarks.tasks.readers import (
    is_pairs_dir,
    pairs_configs,
    pairs_fingerprint,
    pairs_rows,
    pairs_splits,
    row_meta,
)
from codequarry.errors import CodequarryError


def choose_split(path: Path, split: str | None, config: str | None = None) -> str:
    """The requested split, else ``test`` when present, else the dir's only split."""
    have = pairs_splits(path, config)
    if split:
        if split not in have:
            raise CodequarryError(f"{path}: no split {split!r}; it has: {', '.join(have) or 'none'} (use --split)")
        return split
    if "test" in have:
        return "test"
    if len(have) == 1:
        return have[0]
    raise CodequarryError(f"{path}: several splits ({', '.join(have)}) and none is 'test'; choose one with --split")


def _pairs_path(task: Task, inputs: Inputs) -> Path:
    path = inputs.primary or task.options.get("path")
    if path is None:
        raise MissingTaskData(f"task {task.name!r} needs --data PAIRS_DIR. {task.data_source}")
    path = Path(path)
    if not is_pairs_dir(path):
        raise CodequarryError(f"{path} is not a pairs dir (no codequarry.json). {task.data_source}")
    return path


def load(task: Task, inputs: Inputs, split: str | None) -> TaskData:
    inputs.check_names(task, ())
    path = _pairs_path(task, inputs)
    config = task.options.get("language") if task.family == "staqc" else None
    if config is not None and config not in pairs_configs(path):
        raise MissingTaskData(f"{path}: no {config} config; it has {', '.join(pairs_configs(path))}")
    split = choose_split(path, split or None, config)
    rows = pairs_rows(path, split=split, config=config, columns=["id", "query", "code", "label", "meta"])
    if task.family == "staqc":
        queries, corpus, qrels, skipped = _staqc(rows)
    else:
        queries, corpus, qrels, skipped = _own_code(rows)
    if not queries:
        raise CodequarryError(f"{path}: split {split!r} has no usable query rows")
    if task.family != "staqc":
        _warn_if_query_in_code(path, queries, corpus, qrels)
    return make_task_data(task, split, queries, corpus, qrels, files=[str(path)], pairs_fingerprint=pairs_fingerprint(path),
                          rows_skipped=skipped)


def _own_code(rows: Any) -> tuple[dict[str, str], dict[str, str], dict[str, dict[str, int]], dict[str, int]]:
    code_doc: dict[str, str] = {}
    query_code: list[tuple[str, str, str]] = []
    skipped = {"empty_query_or_code": 0, "label_0_query": 0}
    for r in rows:
        code = r.get("code") or ""
        query = r.get("query") or ""
        if not code.strip():
            skipped["empty_query_or_code"] += 1
            continue
        prev = code_doc.get(code)
        code_doc[code] = r["id"] if prev is None else min(prev, r["id"])
        if r.get("label") == 0:
            skipped["label_0_query"] += 1
            continue
        if not query.strip():
            skipped["empty_query_or_code"] += 1
            continue
        query_code.append((r["id"], query, code))
    corpus = {doc: code for code, doc in code_doc.items()}
    queries = {rid: q for rid, q, _ in query_code}
    qrels = {rid: {code_doc[c]: 1} for rid, _, c in query_code}
    return queries, corpus, qrels, skipped


def _warn_if_query_in_code(path: Path, queries: dict[str, str], corpus: dict[str, str],
                           qrels: dict[str, dict[str, int]]) -> int:
    """Docstring summaries left inside the code make retrieval trivial for lexical models: say so."""
    inside = sum(1 for qid, q in queries.items() if q.strip() and q.strip() in corpus[next(iter(qrels[qid]))])
    if inside > 0.5 * len(queries):
        print(f"warning: {path}: {inside:,} of {len(queries):,} queries appear verbatim in their own code (the "
              "docstring was kept in `code`), which makes retrieval trivial for lexical models; build with "
              "`codequarry build repos` (without --keep-docstring) or clean with the `strip_comments` step "
              "(keep_docstring: false)", file=sys.stderr)
    return inside


def _staqc(rows: Any) -> tuple[dict[str, str], dict[str, str], dict[str, dict[str, int]], dict[str, int]]:
    queries: dict[str, str] = {}
    corpus: dict[str, str] = {}
    qrels: dict[str, dict[str, int]] = {}
    skipped = {"label_0": 0, "empty_query_or_code": 0}
    for r in rows:
        if r.get("label") == 0:
            skipped["label_0"] += 1
            continue
        query, code = r.get("query") or "", r.get("code") or ""
        if not query.strip() or not code.strip():
            skipped["empty_query_or_code"] += 1
            continue
        meta = row_meta(r)
        qid_raw = meta.get("question_id", meta.get("qid"))
        qid = f"q{qid_raw}" if qid_raw is not None else "t:" + " ".join(query.split()).lower()
        queries.setdefault(qid, query)
        corpus[r["id"]] = code
        qrels.setdefault(qid, {})[r["id"]] = 1
    return queries, corpus, qrels, skipped
