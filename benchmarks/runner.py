"""``bench``: score models on tasks, one result JSON per model × task (per language for language families).

Resuming: a finished result for the same model spec, model arguments, task and split is kept (``force``
re-runs it); embeddings are cached per text, so an interrupted run re-encodes only what it had not stored.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from codequarry.benchmarks.tasks.base import MissingTaskData
from codequarry.errors import CodequarryError

RESULTS_DIR = "results"


def _data_key(data: Any) -> dict[str, str]:
    """The ``--data`` inputs as absolute paths: part of what makes a finished result reusable."""
    from codequarry.benchmarks.tasks import Inputs

    return {name: str(path.resolve()) for name, path in sorted(Inputs.of(data).paths.items())}


def _fields(path: str | os.PathLike[str]) -> set[str]:
    return {f for f in ("{model}", "{task}") if f in str(path)}


def _find_existing(out: Path, spec: str, model_args: Mapping[str, Any], task: str, split: str | None,
                   data_key: dict[str, str], measures: Sequence[str] = ()) -> Path | None:
    """A finished result in ``out`` for this model spec + args, task, split, data and extra measures."""
    if not out.is_dir():
        return None
    want_args = {k: str(v) for k, v in model_args.items()}
    from codequarry.benchmarks.results import Skipped, read_if_result

    for path in sorted(out.glob("*.json")):
        found = read_if_result(path)  # validated (and upgraded) like every other reader; a broken result is an error
        if isinstance(found, Skipped):
            continue
        t, m = found.task, found.model
        if t.get("name") != task or m.get("spec") != spec or (m.get("args") or {}) != want_args:
            continue
        if (t.get("data_inputs") or {}) != data_key or list(t.get("extra_measures") or []) != list(measures):
            continue
        if split and t.get("split") != split:
            continue
        return path
    return None


def _expected_split(task: Any, split: str | None) -> str | None:
    """The split a run will use, when it is known before loading (None: the data decides)."""
    return split or task.default_split or None


def bench(model_spec: str, task: Any, *, data: Any = None, split: str | None = None,
          out: str | os.PathLike[str] = RESULTS_DIR, cache_dir: str | os.PathLike[str] | None = None,
          batch_size: int | None = None, model_args: Mapping[str, Any] | None = None, resume: bool = True,
          force: bool = False, command: str | None = None, model: Any = None, measures: Sequence[str] = (),
          save_run: str | os.PathLike[str] | None = None, task_name: str | None = None) -> list[Path]:
    """Score ``model_spec`` on ``task`` (a name, a family such as ``csn``, or a folder); return the result paths.

    ``data`` is the task's ``--data`` (one path or ``{name: path}``); ``model_args`` are ``--model-arg`` values.
    With ``resume`` a result already in ``out`` for the same model, arguments, task, split and extra
    ``measures`` is kept unless ``force`` (or ``save_run``: ranked lists are not stored in results, so they
    are computed again). ``model`` may pass a loaded model or a ``ModelHandle`` (several calls share one load).
    ``measures`` adds measures beyond the protocol's; ``save_run`` writes each task's ranked lists as a TREC
    run file (``{model}`` and ``{task}`` in the path are replaced); ``task_name`` names a folder task.
    """
    from codequarry.benchmarks.provenance import provenance
    from codequarry.benchmarks.results import make_result, save_result
    from codequarry.benchmarks.tasks import resolve_tasks

    out_dir = Path(out)
    args = dict(model_args or {})
    tasks = resolve_tasks(task, name=task_name)
    measures = list(dict.fromkeys(measures))
    if save_run is not None and len(tasks) > 1 and not {"{task}"} <= _fields(save_run):
        raise CodequarryError(f"--save-run {save_run}: {task!r} is {len(tasks)} tasks; put {{task}} in the file name")
    paths: list[Path] = []
    missing: list[str] = []
    for t in tasks:
        task_input = t.options.get("path") if data is None and t.options.get("path") else data
        if task_input is None:  # no --data: fetch the task's pinned sources into the cache (codequarry.fetch)
            from codequarry.fetch import fetch_task

            task_input = fetch_task(t, cache_dir=cache_dir)
        data_key = _data_key(task_input)
        if (measures or save_run is not None) and not t.ranks_a_corpus:
            raise CodequarryError(f"task {t.name!r}: --measures and --save-run need ranked lists; its protocol "
                                  f"{t.protocol!r} does not rank a corpus per query")
        if resume and not force and save_run is None:
            existing = _find_existing(out_dir, model_spec, args, t.name, _expected_split(t, split), data_key,
                                      measures)
            if existing is not None:
                paths.append(existing)
                continue
        start = time.perf_counter()
        try:
            task_data = t.load(task_input, split)
        except MissingTaskData as exc:
            if len(tasks) == 1:
                raise
            missing.append(f"{t.name}: {exc}")  # a family run scores the languages it has data for
            print(f"codequarry bench: skipped {t.name}: {exc}", file=sys.stderr)
            continue
        load_s = time.perf_counter() - start
        if model is None:
            model = ModelHandle(model_spec, args, cache_dir=cache_dir, batch_size=batch_size)
        if isinstance(model, ModelHandle):
            model = model.get()
        t0 = time.perf_counter()
        try:
            evaluation = t.evaluate(task_data, model, measures)
        except MissingTaskData as exc:  # e.g. a predictions file without rows for this language
            if len(tasks) == 1:
                raise
            missing.append(f"{t.name}: {exc}")
            print(f"codequarry bench: skipped {t.name}: {exc}", file=sys.stderr)
            continue
        eval_s = time.perf_counter() - t0
        meta = task_data.meta
        task_block = {
            "name": t.name, "family": t.family, "language": t.language, "split": meta["split"],
            "protocol": t.protocol, "protocol_description": t.protocol_description, "type": t.type,
            "main_score": t.main_score, "revision": meta.get("pairs_fingerprint") or t.revision,
            "data_fingerprint": meta["fingerprint"], "citation": t.citation, "num_queries": evaluation.num_queries,
            "num_docs": evaluation.num_docs, "query_averaging": t.query_averaging, "source": t.source,
            "data_files": meta.get("files", []), "data_inputs": data_key, "details": _jsonable(evaluation.details),
        }
        if t.hub_dataset:
            task_block.update(hub_dataset=t.hub_dataset, hub_revision=t.hub_revision)
        if measures:
            task_block["extra_measures"] = measures
        model_block = dict(model.describe())
        if model_block.get("spec") != model_spec:  # a py: factory may build a Model with its own spec string
            model_block["resolved_spec"], model_block["spec"] = model_block.get("spec"), model_spec
        model_block["args"] = {k: str(v) for k, v in args.items()}
        model_block["name"] = variant_name(model_block["name"], args)
        result = make_result(task=task_block, model=model_block, scores=evaluation.scores,
                             per_query=evaluation.per_query,
                             provenance=provenance(command=command, wall_time_s=time.perf_counter() - start,
                                                   load_time_s=round(load_s, 3), eval_time_s=round(eval_s, 3)))
        paths.append(save_result(result, out_dir))
        if save_run is not None:
            from codequarry.benchmarks.results import slug
            from codequarry.benchmarks.tasks.retrieval import write_trec_run

            target = str(save_run).replace("{model}", slug(model_block["name"])).replace("{task}", slug(t.name))
            run_path = write_trec_run(evaluation.run or {}, target, tag=slug(model_block["name"]))
            print(f"codequarry bench: ranked lists of {t.name} written to {run_path}", file=sys.stderr)
    if missing and not paths:
        raise MissingTaskData(f"no task of {task!r} found its data:\n  " + "\n  ".join(missing))
    if missing:
        print(f"codequarry bench: {task}: scored {len(tasks) - len(missing)} of {len(tasks)} tasks; not scored (no data): "
              f"{', '.join(m.split(':', 1)[0] for m in missing)}", file=sys.stderr)
    return paths


class ModelHandle:
    """A model loaded on first use, so a fully resumed run never pays for loading it."""

    def __init__(self, spec: str, model_args: Mapping[str, Any] | None = None, *,
                 cache_dir: str | os.PathLike[str] | None = None, batch_size: int | None = None) -> None:
        self.spec, self.args, self.cache_dir, self.batch_size = spec, dict(model_args or {}), cache_dir, batch_size
        self._model: Any = None

    def get(self) -> Any:
        if self._model is None:
            from codequarry.benchmarks.models import load_model

            self._model = load_model(self.spec, self.args, cache_dir=self.cache_dir, batch_size=self.batch_size)
        return self._model


def bench_many(model_specs: Sequence[str], tasks: Sequence[Any], **kw: Any) -> list[Path]:
    """``bench`` for every model × task; each model is loaded at most once, and only if a task needs it."""
    if not model_specs:
        raise CodequarryError("bench: give at least one --model")
    if not tasks:
        raise CodequarryError("bench: give at least one --task")
    save_run = kw.get("save_run")
    if save_run is not None and len(model_specs) > 1 and "{model}" not in str(save_run):
        raise CodequarryError(f"--save-run {save_run}: {len(model_specs)} models; put {{model}} in the file name")
    if save_run is not None and len(tasks) > 1 and "{task}" not in str(save_run):
        raise CodequarryError(f"--save-run {save_run}: {len(tasks)} tasks; put {{task}} in the file name")
    paths: list[Path] = []
    for spec in model_specs:
        handle = ModelHandle(spec, kw.get("model_args"), cache_dir=kw.get("cache_dir"), batch_size=kw.get("batch_size"))
        for task in tasks:
            paths += bench(spec, task, model=handle, **kw)
    return paths


def variant_name(name: str, model_args: Mapping[str, Any]) -> str:
    """The model's name, tagged with its ``--model-arg`` values (unless ``name=`` was given) so variants differ.

    ``backend`` is not a variant: it changes how vectors are computed, not what they are (float noise).
    """
    shown = {k: v for k, v in model_args.items() if k not in ("name", "backend")}
    if "name" in model_args or not shown:
        return name
    tag = ",".join(f"{k}={v}" for k, v in sorted(shown.items()))
    if len(tag) > 48:
        import hashlib

        tag = hashlib.sha256(tag.encode()).hexdigest()[:10]
    return f"{name}[{tag}]"


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=lambda o: o.item() if hasattr(o, "item") else str(o)))
