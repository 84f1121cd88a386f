"""Hand codequarry data and results to BEIR / CoIR / MTEB: ``codequarry export``.

* ``write_beir(data, out)``: a loaded task (any pairs dir, registered task or folder) as a BEIR folder
  (``corpus.jsonl``, ``queries.jsonl``, ``qrels/{split}.tsv``). Documents are the task's corpus, so in a pairs
  dir identical code is one doc id. Ids get a ``q``/``d`` prefix when a query id equals a doc id: BEIR/CoIR
  drop a document whose id equals the query's (``ignore_identical_ids``), which would delete a pairs row's
  own code from its results.
* ``write_retrieval_repo(data, out)``: the same as a Hub dataset repo laid out as CoIR's (configs ``corpus``,
  ``queries`` and ``default`` qrels in Parquet, declared in README.md), so ``datasets``/MTEB/CoIR load it
  as it is; ``publish --layout retrieval`` uploads that folder.
* ``to_mteb_result(result)``: a CoIR-protocol result as MTEB's result JSON (``TaskResult``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from codequarry.errors import CodequarryError

MTEB_MEASURES = {"ndcg": "ndcg_at_{k}", "map": "map_at_{k}", "recall": "recall_at_{k}", "p": "precision_at_{k}",
                 "mrr": "mrr_at_{k}"}


def _ids(data: Any) -> tuple[dict[str, str], dict[str, str]]:
    """Export ids for queries and docs: unchanged unless the two id sets meet (then ``q``/``d`` prefixes)."""
    if set(data.queries).isdisjoint(data.corpus):
        return {q: q for q in data.queries}, {d: d for d in data.corpus}
    return {q: f"q{q}" for q in data.queries}, {d: f"d{d}" for d in data.corpus}


def _prepare_out(out: Path, *, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise CodequarryError(f"{out} exists and is not a folder; choose another --out")
    if out.exists() and any(out.iterdir()) and not force:
        raise CodequarryError(f"{out} exists and is not empty; choose another --out or pass --force")
    out.mkdir(parents=True, exist_ok=True)


def _rows(data: Any) -> tuple[list[dict], list[dict], list[tuple[str, str, int]]]:
    qid, did = _ids(data)
    corpus = [{"_id": did[d], "title": "", "text": data.corpus[d]} for d in sorted(data.corpus)]
    queries = [{"_id": qid[q], "text": data.queries[q]} for q in sorted(data.queries)]
    qrels = [(qid[q], did[d], int(r)) for q in sorted(data.qrels) for d, r in sorted(data.qrels[q].items())
             if d in did]
    return corpus, queries, qrels


def write_beir(data: Any, out: str | os.PathLike[str], *, split: str | None = None, force: bool = False) -> Path:
    """Write a loaded task (``TaskData``) as a BEIR folder; returns the folder.

    The files are written by ``codequarry.releases.beir.write_folder``, the one writer of the format."""
    from codequarry.releases.beir import write_folder

    out = Path(out)
    _prepare_out(out, force=force)
    split = split or data.meta.get("split") or "test"
    corpus, queries, qrels = _rows(data)
    return write_folder(out, corpus=corpus, queries=queries, qrels={split: qrels})


def write_retrieval_repo(data: Any, out: str | os.PathLike[str], *, split: str | None = None,
                         force: bool = False, title: str | None = None) -> Path:
    """Write a loaded task as a Hub dataset repo in CoIR's layout (Parquet configs corpus / queries / default)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from huggingface_hub import DatasetCardData

    out = Path(out)
    _prepare_out(out, force=force)
    split = split or data.meta.get("split") or "test"
    corpus, queries, qrels = _rows(data)
    tables = {
        ("corpus", "corpus"): pa.Table.from_pylist(corpus, schema=pa.schema(
            [("_id", pa.string()), ("title", pa.string()), ("text", pa.string())])),
        ("queries", "queries"): pa.Table.from_pylist(queries, schema=pa.schema(
            [("_id", pa.string()), ("text", pa.string())])),
        ("qrels", split): pa.table({"query-id": [q for q, _, _ in qrels], "corpus-id": [d for _, d, _ in qrels],
                                    "score": pa.array([s for _, _, s in qrels], type=pa.int64())}),
    }
    for (folder, part), table in tables.items():
        (out / folder).mkdir(exist_ok=True)
        pq.write_table(table, out / folder / f"{part}-00000-of-00001.parquet")
    configs = [("corpus", "corpus", "corpus/corpus-*.parquet"), ("queries", "queries", "queries/queries-*.parquet"),
               ("default", split, f"qrels/{split}-*.parquet")]
    front = DatasetCardData(configs=[{"config_name": name, "data_files": [{"split": part, "path": path}]}
                                     for name, part, path in configs], task_categories=["text-retrieval"])
    meta = data.meta
    body = (f"# {title or meta.get('task', 'codequarry retrieval dataset')}\n\n"
            f"A BEIR-shaped retrieval dataset written by `codequarry export --format hub`: {len(queries)} queries, "
            f"{len(corpus)} documents, {len(qrels)} judgements (split `{split}`), laid out as the CoIR-Retrieval "
            "repos (configs `corpus`, `queries`, `default` = qrels), so MTEB and CoIR load it as it is.\n\n"
            f"Source task: `{meta.get('task')}` (protocol `{meta.get('protocol')}`), data fingerprint "
            f"`{meta.get('fingerprint')}`.\n")
    (out / "README.md").write_text(f"---\n{front.to_yaml()}\n---\n{body}", encoding="utf-8")
    return out


# ---------------------------------------------------------------------------------------------
# results → MTEB's result JSON


def _mteb_key(measure: str) -> str | None:
    name, _, k = measure.partition("@")
    fmt = MTEB_MEASURES.get(name)
    return fmt.format(k=k) if fmt and k.isdigit() else None


def to_mteb_result(result: Any, *, task_name: str | None = None, languages: list[str] | None = None) -> dict[str, Any]:
    """A codequarry result of a CoIR-protocol task as MTEB's ``TaskResult`` JSON (scores as fractions)."""
    task: Mapping[str, Any] = result.task
    if task.get("protocol") != "coir-ndcg@10":
        raise CodequarryError(f"{task.get('name')}: only CoIR-protocol (coir-ndcg@10) results have an MTEB "
                              f"equivalent; this one is {task.get('protocol')!r}")
    scores: dict[str, Any] = {}
    for measure, value in result.scores.items():
        key = _mteb_key(measure)
        if key is not None:
            scores[key] = float(value)
    scores["main_score"] = float(result.scores[task.get("main_score", "ndcg@10")])
    name = str(task.get("name", ""))
    subset = "default"
    lang = task.get("language")
    if name.startswith("coir/codesearchnet") and lang not in (None, "multi"):
        subset = str(lang)  # MTEB's CodeSearchNet tasks keep one hf_subset per language
    scores["hf_subset"] = subset
    scores["languages"] = languages or ([f"{lang}-Code"] if lang and lang not in ("multi", "unknown") else [])
    registered = _registered_mteb_name(name) is not None
    revision = str(task.get("revision", "")).rpartition("@")[2] if registered else str(task.get("data_fingerprint", ""))
    mteb_name = task_name or _registered_mteb_name(name) or name.split("/")[-1]
    return {"dataset_revision": revision, "task_name": mteb_name,
            "mteb_version": None, "scores": {str(task.get("split") or "test"): [scores]},
            "evaluation_time": (result.provenance or {}).get("eval_time_s"), "kg_co2_emissions": None}


def _registered_mteb_name(name: str) -> str | None:
    """The MTEB task name of a registered CoIR task (tasks.yaml ``hub_datasets``), if any."""
    from codequarry.benchmarks.tasks import TASKS

    return TASKS.get(name).options.get("mteb_task") if name in TASKS else None
