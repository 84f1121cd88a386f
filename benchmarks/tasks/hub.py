"""``hub:OWNER/NAME[/SUBSET][@COMMIT]`` and the registered CoIR tasks: a BEIR-shaped Hub dataset, scored as CoIR does.

A BEIR-shaped Hub repo (CoIR-Retrieval/*, mteb/*) has three configs, read here through ``datasets`` from
the repo's snapshot at a pinned commit (fetched into the codequarry cache, or a local copy given as
``--data``): ``corpus`` (``_id``, ``title``, ``text``), ``queries`` (``_id``, ``text``, sometimes
``partition``) and the qrels (``query-id``, ``corpus-id``, ``score``) in config ``default`` (or ``qrels``).
A repo holding several datasets prefixes them: ``{SUBSET}-corpus``, ``{SUBSET}-queries``, ``{SUBSET}-qrels``
(CoIR-Retrieval/CodeSearchNet: ``python-corpus`` …). That is MTEB's naming rule; the split read from each
config is the evaluation split when the config has it, else its only split.

As BEIR and MTEB's CoIR loaders: queries are those in the qrels (rows with a ``partition`` column keep the
evaluation split's), score-0 judgements stay. Scoring is ``coir-ndcg@10`` exactly as for a BEIR folder
(``beir.py``): documents embedded from ``text``, exact search top 1000, a document whose id equals the query
id never returned, pytrec_eval-equal NDCG/MAP/Recall/P at 1…1000.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from codequarry.benchmarks.tasks.base import (
    Inputs,
    MissingTaskData,
    Task,
    TaskData,
    make_task_data,
)
from codequarry.errors import CodequarryError

_SPEC = re.compile(r"^(?P<repo>[A-Za-z0-9][\w.-]*/[\w.-]+)(?:/(?P<subset>[\w.-]+))?(?:@(?P<rev>[0-9a-f]{40}))?$")


def parse_hub_name(text: str) -> tuple[str, str | None, str | None]:
    """``OWNER/NAME[/SUBSET][@COMMIT]`` → (repo_id, subset, revision); a malformed name is a one-line error."""
    m = _SPEC.match(text.strip())
    if not m:
        raise CodequarryError(f"hub:{text}: expected hub:OWNER/NAME[/SUBSET][@COMMIT] (COMMIT: 40 hex digits), "
                              "e.g. hub:CoIR-Retrieval/cosqa or hub:CoIR-Retrieval/CodeSearchNet/python")
    return m.group("repo"), m.group("subset"), m.group("rev")


def config_names(subset: str | None) -> dict[str, str]:
    """The corpus / queries / qrels config names of a (sub)dataset, by MTEB's rule."""
    if subset:
        return {"corpus": f"{subset}-corpus", "queries": f"{subset}-queries", "qrels": f"{subset}-qrels"}
    return {"corpus": "corpus", "queries": "queries", "qrels": "default"}


def _read_config(folder: Path, config: str, split: str, cache: Path | None) -> Any:
    """One config of the local repo snapshot through ``datasets``: the eval split, else its only split."""
    import datasets

    try:
        names = datasets.get_dataset_config_names(str(folder))
    except Exception as exc:  # noqa: BLE001 - any reader failure becomes one line naming the folder
        raise CodequarryError(f"{folder}: not a readable Hub dataset folder ({type(exc).__name__}: "
                              f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
    if config not in names:
        alt = {"default": "qrels", "queries": "query"}.get(config)
        if alt in names:
            config = alt
        else:
            raise CodequarryError(f"{folder}: no config {config!r}; it has: {', '.join(names)}")
    try:
        dsd = datasets.load_dataset(str(folder), config, cache_dir=str(cache) if cache else None)
    except Exception as exc:  # noqa: BLE001
        raise CodequarryError(f"{folder}: config {config!r} unreadable ({type(exc).__name__}: "
                              f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
    if split in dsd:
        return dsd[split]
    if len(dsd) == 1:
        return next(iter(dsd.values()))
    raise CodequarryError(f"{folder}: config {config!r} has splits {', '.join(dsd)} and none is {split!r} (use --split)")


def _column(ds: Any, name: str, where: str, *alts: str) -> list[Any]:
    for col in (name, *alts):
        if col in ds.column_names:
            return list(ds[col])
    raise CodequarryError(f"{where}: missing column {name!r} (columns: {', '.join(ds.column_names)})")


def load(task: Task, inputs: Inputs, split: str | None) -> TaskData:
    inputs.check_names(task, ())
    folder = inputs.primary
    if folder is None:
        raise MissingTaskData(f"task {task.name!r}: no data; it is fetched from the Hub when you have network "
                              f"(`codequarry download {task.name}`), or pass --data with a local copy of the repo. "
                              f"{task.data_source}")
    if not folder.is_dir():
        raise CodequarryError(f"{folder}: a Hub dataset task needs the repo's folder (with its README.md configs)")
    split = split or "test"
    names = task.options.get("configs") or config_names(task.options.get("subset"))
    from codequarry.fetch import data_root

    cache = data_root() / "datasets"  # datasets' Arrow cache stays inside the codequarry cache
    where = f"{task.options.get('repo_id', folder.name)}"
    qrels_ds = _read_config(folder, names["qrels"], split, cache)
    q_ids = _column(qrels_ds, "query-id", where, "query_id")
    d_ids = _column(qrels_ds, "corpus-id", where, "corpus_id")
    scores = _column(qrels_ds, "score", where)
    qrels: dict[str, dict[str, int]] = {}
    for q, d, s in zip(q_ids, d_ids, scores):
        qrels.setdefault(str(q), {})[str(d)] = int(s)
    corpus_ds = _read_config(folder, names["corpus"], "corpus", cache)
    corpus = {str(i): str(t or "") for i, t in zip(_column(corpus_ds, "_id", where), _column(corpus_ds, "text", where))}
    queries_ds = _read_config(folder, names["queries"], "queries", cache)
    ids, texts = _column(queries_ds, "_id", where), _column(queries_ds, "text", where)
    if "partition" in queries_ds.column_names:  # CoIR CodeSearchNet: one queries config for every partition
        keep = [p == split for p in queries_ds["partition"]]
        ids, texts = [i for i, k in zip(ids, keep) if k], [t for t, k in zip(texts, keep) if k]
    all_queries = {str(i): str(t or "") for i, t in zip(ids, texts)}
    missing = [q for q in qrels if q not in all_queries]
    if missing:
        raise CodequarryError(f"{where}: qrels query {missing[0]!r} is not in the queries ({len(missing)} missing)")
    queries = {q: all_queries[q] for q in qrels}
    return make_task_data(task, split, queries, corpus, qrels, files=[str(folder)],
                          queries_not_in_qrels=len(all_queries) - len(queries), text_field="text",
                          hub_repo=task.options.get("repo_id"), hub_revision=task.options.get("revision"))


# ---------------------------------------------------------------------------------------------
# task specs: the registered CoIR datasets (tasks.yaml ``hub_datasets``) and ``--task hub:…``


def _options(repo_id: str, subset: str | None, revision: str, languages: list[str]) -> dict[str, Any]:
    return {"repo_id": repo_id, "subset": subset, "revision": revision, "languages": languages,
            "language": languages[0] if len(languages) == 1 else None,
            "data": [{"kind": "hub", "repo_id": repo_id, "revision": revision}]}


def hub_specs(key: str, spec: dict[str, Any], families: dict[str, dict[str, Any]]) -> list[tuple[str, dict, dict]]:
    """(task name, family spec for it, task options) for each ``hub_datasets`` entry of family ``key``."""
    prefix = spec.get("family", key)
    langs = (families.get(prefix) or {}).get("coir_languages") or {}
    out = []
    for sub, entry in (spec.get("hub_datasets") or {}).items():
        if not isinstance(entry, dict) or not entry.get("repo_id") or not entry.get("revision"):
            raise CodequarryError(f"tasks.yaml: {key}.hub_datasets.{sub} needs repo_id and revision")
        repo_id, subset, rev = entry["repo_id"], entry.get("subset"), entry["revision"]
        opts = _options(repo_id, subset, rev, list(langs.get(sub, ["unknown"])))
        opts["mteb_task"] = entry.get("mteb")
        title = f"CoIR {sub} ({repo_id}" + (f", {subset}" if subset else "") + (f"; MTEB {entry['mteb']})" if entry.get("mteb") else ")")
        out.append((f"{prefix}/{sub}", dict(spec, revision=f"{repo_id}@{rev}", title=title), opts))
    return out


def hub_spec_for(text: str, families: dict[str, dict[str, Any]]) -> tuple[str, str, dict, dict]:
    """``OWNER/NAME[/SUBSET][@COMMIT]`` → (family key, task name, spec, options); the commit defaults to the pin
    of a registered task on the same repo and subset, else to the Hub's current ``main`` commit."""
    repo_id, subset, rev = parse_hub_name(text)
    key = next((k for k, s in families.items() if s.get("hub_datasets")), None)
    if key is None:
        raise CodequarryError("tasks.yaml has no hub_datasets family (module hub)")
    spec = families[key]
    registered = [(n, s, o) for n, s, o in hub_specs(key, spec, families)
                  if o["repo_id"].lower() == repo_id.lower() and o["subset"] == subset]
    languages = list(registered[0][2]["languages"]) if registered else ["unknown"]
    if rev is None and registered:
        rev = registered[0][2]["revision"]
    if rev is None:
        rev = _current_commit(repo_id)
    opts = _options(repo_id, subset, rev, languages)
    if registered and registered[0][2]["revision"] == rev:  # the registered task itself (same leaderboard column)
        return key, registered[0][0], registered[0][1], dict(registered[0][2])
    name = "hub:" + repo_id + (f"/{subset}" if subset else "")
    return key, name, dict(spec, family=name, revision=f"{repo_id}@{rev}"), opts


def _current_commit(repo_id: str) -> str:
    from codequarry.fetch import offline_requested

    if offline_requested():
        raise CodequarryError(f"hub:{repo_id}: offline, so its current commit is unknown; pin one: hub:{repo_id}@COMMIT")
    from huggingface_hub import HfApi

    try:
        return str(HfApi().dataset_info(repo_id, revision="main").sha)
    except Exception as exc:  # noqa: BLE001 - no network, unknown repo: one line
        raise CodequarryError(f"hub:{repo_id}: cannot resolve its current commit ({type(exc).__name__}); "
                              f"pin one: hub:{repo_id}@COMMIT") from None
