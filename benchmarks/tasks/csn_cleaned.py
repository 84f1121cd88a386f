"""``csn-cleaned/{lang}``: GraphCodeBERT/UniXcoder full-codebase MRR@1000 on cleaned CodeSearchNet.

Data (GraphCodeBERT ``codesearch/dataset/{lang}/``): ``test.jsonl`` (or ``valid.jsonl``) holds the queries and
``codebase.jsonl`` the candidate pool; each line is a CSN-style object with ``url``, ``code_tokens`` (a list;
UniXcoder also accepts ``function_tokens``), ``docstring_tokens`` and ``original_string``. A query's answer is
the codebase entry with the same ``url``. Inputs as UniXcoder's ``run.py``: code = ``' '.join(code_tokens)``
(``original_string`` when there are no tokens), query = ``' '.join(docstring_tokens)``. A pairs dir works
too: the split's rows are the queries and their codes the codebase.

Protocol: inner product over the whole codebase (the model's own similarity; UniXcoder normalises), a
query scores 1/rank when its code is in the top 1000, else 0; ties by doc id (GraphCodeBERT's numpy
quicksort leaves them arbitrary).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from codequarry.benchmarks.protocols import FULL_CODEBASE_CUTOFF
from codequarry.benchmarks.tasks.base import (
    Evaluation,
    Inputs,
    MissingTaskData,
    Task,
    TaskData,
    iter_jsonl,
    joined_tokens,
    make_task_data,
)
from codequarry.benchmarks.tasks.readers import is_pairs_dir, pairs_rows
from codequarry.benchmarks.tasks.retrieval import evaluate_retrieval
from codequarry.errors import CodequarryError


def code_text(obj: dict[str, Any]) -> str:
    tokens = obj.get("code_tokens") or obj.get("function_tokens")
    if tokens:
        return joined_tokens(tokens)
    return str(obj.get("original_string") or obj.get("code") or obj.get("function") or "")


def query_text(obj: dict[str, Any]) -> str:
    if obj.get("docstring_tokens"):
        return joined_tokens(obj["docstring_tokens"])
    return " ".join(str(obj.get("docstring") or obj.get("doc") or "").split())


def _locate(task: Task, inputs: Inputs, split: str, language: str) -> tuple[Path, Path]:
    name = f"{split}.jsonl"
    queries = inputs.named("queries")
    codebase = inputs.named("codebase")
    primary = inputs.primary
    for base in ([primary / language, primary] if primary is not None and primary.is_dir() else []):
        if queries is None and (base / name).is_file():
            queries = base / name
        if codebase is None and (base / "codebase.jsonl").is_file():
            codebase = base / "codebase.jsonl"
    if queries is None or codebase is None:
        missing = " and ".join(n for n, p in ((name, queries), ("codebase.jsonl", codebase)) if p is None)
        raise MissingTaskData(f"task {task.name!r}: {missing} not found; pass --data DIR (GraphCodeBERT's dataset/ or "
                              f"dataset/{language}/) or --data queries=FILE --data codebase=FILE. {task.data_source}")
    return queries, codebase


def load(task: Task, inputs: Inputs, split: str) -> TaskData:
    inputs.check_names(task, ("queries", "codebase"))
    language = task.options["language"]
    queries: dict[str, str] = {}
    corpus: dict[str, str] = {}
    duplicates = 0
    path = inputs.primary
    if path is not None and is_pairs_dir(path):
        for r in pairs_rows(path, split=split, config=language,
                            columns=["id", "query", "code", "query_tokens", "code_tokens", "url"]):
            key = r.get("url") or r["id"]
            if key in queries:
                duplicates += 1
                continue
            queries[key] = joined_tokens(r["query_tokens"]) if r.get("query_tokens") else " ".join((r.get("query") or "").split())
            corpus[key] = joined_tokens(r["code_tokens"]) if r.get("code_tokens") else (r.get("code") or "")
        files = [str(path)]
    else:
        qpath, cpath = _locate(task, inputs, split, language)
        for line, obj in iter_jsonl(cpath):
            if "url" not in obj:
                raise CodequarryError(f"{cpath}:{line}: codebase entry without 'url'")
            if obj["url"] in corpus:
                duplicates += 1  # run.py keeps every entry; the first one found wins the rank, as here
                continue
            corpus[obj["url"]] = code_text(obj)
        for line, obj in iter_jsonl(qpath):
            if "url" not in obj:
                raise CodequarryError(f"{qpath}:{line}: query without 'url'")
            if obj["url"] in queries:
                raise CodequarryError(f"{qpath}:{line}: url {obj['url']!r} appears twice among the queries")
            queries[obj["url"]] = query_text(obj)
        files = [str(qpath), str(cpath)]
    if not queries:
        raise CodequarryError(f"task {task.name!r}: no queries in {files[0]}")
    qrels = {q: {q: 1} for q in queries}
    absent = sum(1 for q in queries if q not in corpus)
    return make_task_data(task, split, queries, corpus, qrels, files=files, duplicate_codebase_urls=duplicates,
                          queries_without_code=absent)


def evaluate(task: Task, data: TaskData, model: Any) -> Evaluation:
    return evaluate_retrieval(task, data, model, k=FULL_CODEBASE_CUTOFF, averaging="qrels-all-missing-zero")
