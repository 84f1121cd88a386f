"""``coir/{dir}``: any BEIR/CoIR-format folder, scored as CoIR reports it (``coir-ndcg@10``).

Data: ``corpus.jsonl`` (``{"_id", "title", "text"}``), ``queries.jsonl`` (``{"_id", "text"}``) and
``qrels/{split}.tsv`` (header row, then ``query-id <TAB> corpus-id <TAB> score``). As BEIR's loader: only
queries that appear in the qrels are kept, and score-0 judgements stay in the qrels. As CoIR's sample
model, documents are embedded from ``text`` only (MTEB joins ``title`` and ``text``; coir#17).

Protocol: exact search, top 1000, a doc whose id equals the query id is never returned
(``ignore_identical_ids``, as BEIR/CoIR do), then NDCG/MAP/Recall/P at 1, 3, 5, 10, 100, 1000 averaged over
every qrels query (pytrec_eval sees a run for each), main score NDCG@10.
"""

from __future__ import annotations

from pathlib import Path

from codequarry.benchmarks.tasks.base import Inputs, Task, TaskData, make_task_data
from codequarry.errors import CodequarryError
from codequarry.releases import beir
from codequarry.releases.beir import is_beir_dir
from codequarry.releases.files import strict


def load(task: Task, inputs: Inputs, split: str | None) -> TaskData:
    inputs.check_names(task, ())
    path = Path(inputs.primary or task.options["path"])
    if not is_beir_dir(path):
        raise CodequarryError(f"{path} is not a BEIR/CoIR folder (corpus.jsonl, queries.jsonl, qrels/SPLIT.tsv)")
    splits = beir.splits(path)
    split = split or ("test" if "test" in splits else (splits[0] if len(splits) == 1 else ""))
    if split not in splits:
        raise CodequarryError(f"{path}: no qrels/{split or 'SPLIT'}.tsv; splits: {', '.join(splits) or 'none'} (use --split)")
    qrels_path = path / "qrels" / f"{split}.tsv"
    qrels = beir.read_qrels(qrels_path)
    corpus = {obj["_id"]: obj["text"] for _, obj in strict(beir.iter_corpus(path))}
    all_queries = {obj["_id"]: obj["text"] for _, obj in strict(beir.iter_queries(path))}
    missing = [q for q in qrels if q not in all_queries]
    if missing:
        raise CodequarryError(f"{qrels_path}: query {missing[0]!r} is not in queries.jsonl ({len(missing)} missing)")
    queries = {q: all_queries[q] for q in qrels}
    return make_task_data(task, split, queries, corpus, qrels, files=[str(path)],
                          queries_not_in_qrels=len(all_queries) - len(queries), text_field="text")
