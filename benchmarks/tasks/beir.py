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

import csv
from pathlib import Path

from codequarry.benchmarks.tasks.base import Inputs, Task, TaskData, iter_jsonl, make_task_data
from codequarry.errors import CodequarryError


def is_beir_dir(path: Path | None) -> bool:
    return (path is not None and path.is_dir() and (path / "corpus.jsonl").is_file()
            and (path / "queries.jsonl").is_file() and (path / "qrels").is_dir())


def beir_splits(path: Path) -> list[str]:
    return sorted(p.stem for p in (path / "qrels").glob("*.tsv"))


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_MINIMAL)
        next(reader, None)  # header (query-id, corpus-id, score), skipped as BEIR does
        for n, row in enumerate(reader, start=2):
            if not row:
                continue
            if len(row) < 3:
                raise CodequarryError(f"{path}:{n}: expected query-id, corpus-id and score separated by tabs")
            try:
                score = int(row[2])
            except ValueError:
                raise CodequarryError(f"{path}:{n}: score {row[2]!r} is not an integer") from None
            qrels.setdefault(row[0], {})[row[1]] = score
    return qrels


def load(task: Task, inputs: Inputs, split: str | None) -> TaskData:
    inputs.check_names(task, ())
    path = Path(inputs.primary or task.options["path"])
    if not is_beir_dir(path):
        raise CodequarryError(f"{path} is not a BEIR/CoIR folder (corpus.jsonl, queries.jsonl, qrels/SPLIT.tsv)")
    splits = beir_splits(path)
    split = split or ("test" if "test" in splits else (splits[0] if len(splits) == 1 else ""))
    if split not in splits:
        raise CodequarryError(f"{path}: no qrels/{split or 'SPLIT'}.tsv; splits: {', '.join(splits) or 'none'} (use --split)")
    qrels_path = path / "qrels" / f"{split}.tsv"
    qrels = read_qrels(qrels_path)
    corpus: dict[str, str] = {}
    for line, obj in iter_jsonl(path / "corpus.jsonl"):
        if "_id" not in obj:
            raise CodequarryError(f"{path / 'corpus.jsonl'}:{line}: missing '_id'")
        corpus[str(obj["_id"])] = str(obj.get("text") or "")
    all_queries: dict[str, str] = {}
    for line, obj in iter_jsonl(path / "queries.jsonl"):
        if "_id" not in obj:
            raise CodequarryError(f"{path / 'queries.jsonl'}:{line}: missing '_id'")
        all_queries[str(obj["_id"])] = str(obj.get("text") or "")
    missing = [q for q in qrels if q not in all_queries]
    if missing:
        raise CodequarryError(f"{qrels_path}: query {missing[0]!r} is not in queries.jsonl ({len(missing)} missing)")
    queries = {q: all_queries[q] for q in qrels}
    return make_task_data(task, split, queries, corpus, qrels, files=[str(path)],
                          queries_not_in_qrels=len(all_queries) - len(queries), text_field="text")
