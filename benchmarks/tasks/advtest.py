"""``advtest``: CodeXGLUE AdvTest (NL-code-search-Adv), MRR@100 over the test pool.

Data: ``test.jsonl`` (or ``valid.jsonl``) made by the benchmark's ``preprocess.py``: one object per line with
``url`` (the query's id), ``idx`` (the code's id), ``docstring_tokens`` and ``code_tokens`` or
``function_tokens`` (normalised code: ``Func``, ``arg_i``). The file is its own codebase. Inputs as the
published ``run.py``: query = ``' '.join(docstring_tokens)``, code = ``' '.join(code_tokens | function_tokens)``
(plain ``docstring`` / ``function`` strings are read when there are no tokens, as in the evaluator's sample).

Protocol: the top 100 per query (``run.py`` writes 100 answers); 1/rank of the query's own idx, 0 when
absent. A CodeXGLUE predictions jsonl (``run:predictions.jsonl``) is scored against the same file, and
``details.codexglue_evaluator_mrr`` repeats ``evaluator.py``'s figure: the whole submitted list, rounded to
4 places (a url without a prediction is an error, as the evaluator aborts).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from codequarry.benchmarks.protocols import ADVTEST_CUTOFF, advtest_evaluator_mrr
from codequarry.benchmarks.tasks.base import (
    Evaluation,
    Inputs,
    MissingTaskData,
    Task,
    TaskData,
    make_task_data,
)
from codequarry.benchmarks.tasks.csn_cleaned import code_text, query_text
from codequarry.benchmarks.tasks.readers import is_pairs_dir, pairs_rows, row_meta
from codequarry.benchmarks.tasks.retrieval import evaluate_retrieval
from codequarry.errors import CodequarryError
from codequarry.releases.codexglue import iter_advtest
from codequarry.releases.files import input_of, line_of, strict


def load(task: Task, inputs: Inputs, split: str) -> TaskData:
    inputs.check_names(task, ("answers",))
    name = f"{split}.jsonl"
    primary = inputs.primary
    queries: dict[str, str] = {}
    corpus: dict[str, str] = {}
    qrels: dict[str, dict[str, int]] = {}
    if inputs.named("answers") is None and primary is not None and is_pairs_dir(primary):
        for r in pairs_rows(primary, split=split, columns=["id", "query", "code", "query_tokens", "code_tokens", "url", "meta"]):
            idx = str(row_meta(r).get("idx", r["id"]))
            url = r.get("url") or r["id"]
            if url in queries or idx in corpus:
                raise CodequarryError(f"{primary}: url {url!r} or idx {idx!r} appears twice in split {split!r}")
            queries[url] = " ".join(r["query_tokens"]) if r.get("query_tokens") else " ".join((r.get("query") or "").split())
            corpus[idx] = " ".join(r["code_tokens"]) if r.get("code_tokens") else (r.get("code") or "")
            qrels[url] = {idx: 1}
        return make_task_data(task, split, queries, corpus, qrels, files=[str(primary)])
    hub = hub_parquet_files(primary, split) if inputs.named("answers") is None and primary is not None else []
    if hub:
        return _load_hub(task, primary, hub, split)
    path = inputs.find("answers", name, required=False)
    if path is None and primary is not None and primary.is_dir() and (primary / "dataset" / name).is_file():
        path = primary / "dataset" / name
    if path is None and primary is not None and primary.is_file():
        path = primary
    if path is None:
        raise MissingTaskData(f"task 'advtest': {name} not found; pass --data FILE or a folder holding it. {task.data_source}")
    for where, obj in strict(iter_advtest(input_of(path), "jsonl")):
        line = line_of(where)
        if "url" not in obj or "idx" not in obj:
            raise CodequarryError(f"{path}:{line}: an AdvTest line needs 'url' and 'idx'")
        url, idx = str(obj["url"]), str(obj["idx"])
        if url in queries:
            raise CodequarryError(f"{path}:{line}: url {url!r} appears twice")
        if idx in corpus:
            raise CodequarryError(f"{path}:{line}: idx {idx} appears twice")
        queries[url] = query_text(obj)
        corpus[idx] = code_text(obj)
        qrels[url] = {idx: 1}
    if not queries:
        raise CodequarryError(f"{path}: no lines")
    return make_task_data(task, split, queries, corpus, qrels, files=[str(path)])


# The Hub copy (google/code_x_glue_tc_nl_code_search_adv, Parquet under data/): the rows of CodeXGLUE's
# test/valid.jsonl with `function`/`function_tokens` renamed `code`/`code_tokens`, and `id` counted from 0 in each
# split. preprocess.py numbers `idx` once across train (251,820), valid (9,604) and test, so idx = offset + id.
HUB_SPLITS = {"test": "test", "valid": "validation", "train": "train"}
HUB_IDX_OFFSET = {"train": 0, "validation": 251_820, "test": 251_820 + 9_604}


def hub_parquet_files(folder: Path, split: str) -> list[Path]:
    """The Parquet files of ``split`` in a folder laid out as the Hub repo (``data/{split}-*.parquet``)."""
    if not folder.is_dir():
        return []
    hub_split = HUB_SPLITS.get(split, split)
    return sorted(p for p in (folder / "data").glob(f"{hub_split}-*.parquet") if p.is_file())


def _load_hub(task: Task, folder: Path, files: list[Path], split: str) -> TaskData:
    import pyarrow.parquet as pq

    offset = HUB_IDX_OFFSET[HUB_SPLITS.get(split, split)]
    queries: dict[str, str] = {}
    corpus: dict[str, str] = {}
    qrels: dict[str, dict[str, int]] = {}
    for f in files:
        table = pq.read_table(f, columns=["id", "url", "code_tokens", "docstring_tokens", "code", "docstring"])
        for n, row in enumerate(table.to_pylist()):
            if row["url"] is None or row["id"] is None:
                raise CodequarryError(f"{f}: row {n} lacks url or id")
            url, idx = str(row["url"]), str(offset + int(row["id"]))
            if url in queries or idx in corpus:
                raise CodequarryError(f"{f}: url {url!r} or id {row['id']} appears twice")
            obj = {"docstring_tokens": row["docstring_tokens"], "code_tokens": row["code_tokens"],
                   "docstring": row["docstring"], "function": row["code"]}
            queries[url] = query_text(obj)
            corpus[idx] = code_text(obj)
            qrels[url] = {idx: 1}
    if not queries:
        raise CodequarryError(f"{folder}: no rows in {', '.join(p.name for p in files)}")
    return make_task_data(task, split, queries, corpus, qrels, files=[str(folder)], hub_files=[p.name for p in files])


def evaluate(task: Task, data: TaskData, model: Any) -> Evaluation:
    ev = evaluate_retrieval(task, data, model, k=ADVTEST_CUTOFF, averaging="qrels-all-missing-zero")
    lists = getattr(model, "ranked_lists", None)
    if callable(lists):
        answers = {q: next(iter(d)) for q, d in data.qrels.items()}
        ev.details["codexglue_evaluator_mrr"] = advtest_evaluator_mrr(answers, lists())
    return ev
