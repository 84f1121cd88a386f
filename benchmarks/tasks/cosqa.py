"""``cosqa``: CoSQA code retrieval (CoCLR ``data/search``; the UniXcoder and CodeT5+ setting).

Data: ``code_idx_map.txt`` (one JSON object ``{code: retrieval_idx}``, the 6,267-code pool) and
``cosqa-retrieval-{dev,test}-500.json`` (a JSON list of ``{idx, doc, code, code_tokens, docstring_tokens,
label, retrieval_idx}``). Inputs as UniXcoder's ``run.py``: query = ``' '.join(doc.split())``, code =
``' '.join(code.split())``. Query ids are the items' ``idx``; doc ids are the pool's ``retrieval_idx``.

Protocol: every query ranks the whole pool (full rank, as CodeT5+ reports it); MRR, Recall@1/5/10 and
nDCG@10 with trec_eval tie order.
"""

from __future__ import annotations

from codequarry.benchmarks.tasks.base import (
    Inputs,
    MissingTaskData,
    Task,
    TaskData,
    make_task_data,
)
from codequarry.errors import CodequarryError
from codequarry.releases.cosqa import POOL_FILE, iter_items, iter_pool, retrieval_file
from codequarry.releases.files import input_of, strict


def _split_file(split: str) -> str:
    return retrieval_file(split)


def load(task: Task, inputs: Inputs, split: str) -> TaskData:
    inputs.check_names(task, ("pool", "queries"))
    pool_path = inputs.find("pool", POOL_FILE, required=True, task=task)
    qfile = _split_file(split)
    q_path = inputs.find("queries", qfile)
    if q_path is None:
        where = inputs.primary or pool_path.parent
        raise MissingTaskData(f"task 'cosqa': {qfile} not found in {where}. {task.data_source}"
                              + ("" if split == "dev" else " (or use --split dev)"))
    corpus: dict[str, str] = {}
    for _, code, idx in strict(iter_pool(input_of(pool_path))):
        key = str(idx)
        if key in corpus:
            raise CodequarryError(f"{pool_path}: retrieval_idx {idx} is used by two codes")
        corpus[key] = " ".join(code.split())
    queries: dict[str, str] = {}
    qrels: dict[str, dict[str, int]] = {}
    for _, item in strict(iter_items(input_of(q_path), retrieval=True)):
        qid, target = str(item["idx"]), str(item["retrieval_idx"])
        if qid in queries:
            raise CodequarryError(f"{q_path}: query idx {qid!r} appears twice")
        if target not in corpus:
            raise CodequarryError(f"{q_path}: query {qid!r} points at retrieval_idx {target}, which is not in {pool_path.name}")
        queries[qid] = " ".join(str(item["doc"]).split())
        qrels[qid] = {target: 1}
    return make_task_data(task, split, queries, corpus, qrels, files=[str(q_path), str(pool_path)])
