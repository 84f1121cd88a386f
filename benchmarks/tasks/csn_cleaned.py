"""``csn-cleaned/{lang}``: GraphCodeBERT/UniXcoder full-codebase MRR@1000 on cleaned CodeSearchNet.

Data (GraphCodeBERT ``codesearch/dataset/{lang}/``): ``test.jsonl`` (or ``valid.jsonl``) holds the queries and
``codebase.jsonl`` the candidate pool; each line is a CSN-style object with ``url``, ``code_tokens`` (a list;
UniXcoder also accepts ``function_tokens``), ``docstring_tokens`` and ``original_string``. A query's answer is
every codebase entry with the same ``url``. Both ``run.py`` scripts keep every line of both files: a url
repeated in the codebase is a candidate at each of its entries (ids ``url``, ``url#2`` …; a repeated
distractor takes a rank per entry) and a query finds its code at the first entry with its url; a
repeated query url is scored once per line. Inputs as UniXcoder's ``run.py``: code = ``' '.join(code_tokens)``
(``original_string`` when there are no tokens), query = ``' '.join(docstring_tokens)``. A pairs dir works
too: the split's rows are the queries and their codes the codebase.

Protocol: inner product over the whole codebase (the model's own similarity; UniXcoder normalises), a
query scores 1/rank when its code is in the top 1000, else 0; ties by doc id (GraphCodeBERT's numpy
quicksort leaves them arbitrary).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from codequarry.benchmarks.tasks.base import (
    Inputs,
    MissingTaskData,
    Task,
    TaskData,
    iter_jsonl,
    joined_tokens,
    make_task_data,
)
from codequarry.benchmarks.tasks.csn import unique_id
from codequarry.benchmarks.tasks.readers import is_pairs_dir, pairs_rows
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
    query_url: dict[str, str] = {}  # query id → its url
    code_ids: dict[str, list[str]] = {}  # url → every codebase entry carrying it
    seen_q: dict[str, int] = {}
    seen_c: dict[str, int] = {}
    path = inputs.primary
    if path is not None and is_pairs_dir(path):
        for r in pairs_rows(path, split=split, config=language,
                            columns=["id", "query", "code", "query_tokens", "code_tokens", "url"]):
            url = r.get("url") or r["id"]
            qid, cid = unique_id(url, seen_q), unique_id(url, seen_c)
            queries[qid] = joined_tokens(r["query_tokens"]) if r.get("query_tokens") else " ".join((r.get("query") or "").split())
            corpus[cid] = joined_tokens(r["code_tokens"]) if r.get("code_tokens") else (r.get("code") or "")
            query_url[qid] = url
            code_ids.setdefault(url, []).append(cid)
        files = [str(path)]
    else:
        qpath, cpath = _locate(task, inputs, split, language)
        for line, obj in iter_jsonl(cpath):
            if "url" not in obj:
                raise CodequarryError(f"{cpath}:{line}: codebase entry without 'url'")
            url = str(obj["url"])
            cid = unique_id(url, seen_c)  # run.py keeps every entry: each one is a candidate
            corpus[cid] = code_text(obj)
            code_ids.setdefault(url, []).append(cid)
        for line, obj in iter_jsonl(qpath):
            if "url" not in obj:
                raise CodequarryError(f"{qpath}:{line}: query without 'url'")
            url = str(obj["url"])
            qid = unique_id(url, seen_q)
            queries[qid] = query_text(obj)
            query_url[qid] = url
        files = [str(qpath), str(cpath)]
    if not queries:
        raise CodequarryError(f"task {task.name!r}: no queries in {files[0]}")
    qrels = {q: {c: 1 for c in code_ids.get(query_url[q], [])} for q in queries}
    absent = sum(1 for q in queries if not qrels[q])
    return make_task_data(task, split, queries, corpus, qrels, files=files,
                          duplicate_codebase_urls=sum(len(v) - 1 for v in code_ids.values()),
                          duplicate_query_urls=len(queries) - len(set(query_url.values())),
                          queries_without_code=absent)
