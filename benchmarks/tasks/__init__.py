"""Benchmark tasks: a registry built from ``tasks.yaml`` (one entry per family), plus any pairs dir or BEIR folder.

``load_task(name_or_dir, data=None, split=None) -> TaskData`` is the public loader (the cleaners'
decontamination step imports it); ``resolve_tasks`` expands a family name (``csn``) to its per-language tasks.
"""

from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from codequarry.benchmarks.tasks.base import Evaluation, Inputs, Task, TaskData, parse_data_arg
from codequarry.benchmarks.tasks.spec import TaskSpecError, parse_spec, protocol_specs, raw_entries
from codequarry.citations import bibtex
from codequarry.errors import CodequarryError
from codequarry.registry import Registry

__all__ = ["TASKS", "Evaluation", "Inputs", "Task", "TaskData", "families", "get_task", "load_task",
           "parse_data_arg", "resolve_tasks", "task_for_dir"]

_PACKAGE = "codequarry.benchmarks.tasks"


def families() -> dict[str, dict[str, Any]]:
    """Family key → its ``tasks.yaml`` block as written (validated first; the typed form is ``spec.task_specs()``)."""
    return raw_entries()


def _make(key: str, spec: dict[str, Any], *, name: str, languages: list[str], **options: Any) -> Task:
    """A Task from a ``tasks.yaml`` block (or one derived from it), validated by ``spec.parse_spec``."""
    ts = parse_spec(key, spec)
    described = protocol_specs().get(ts.protocol)
    if described is None:
        raise TaskSpecError(f"tasks.yaml: task {key!r}: no entry describes protocol {ts.protocol!r}")
    bibtex(ts.citation)  # an unknown citation key fails here, when the registry is built
    opts = dict(ts.options)
    opts.update(options)
    return Task(name=name, spec=replace(ts, protocol_description=described.protocol_description),
                languages=tuple(languages), options=opts)


def _build_registry() -> Registry[Task]:
    reg: Registry[Task] = Registry("benchmark task")
    for key, spec in families().items():
        if spec.get("hub_datasets"):  # one task per Hub dataset (CoIR); see hub.py
            from codequarry.benchmarks.tasks.hub import hub_specs

            for name, sub_spec, opts in hub_specs(key, spec, families()):
                reg.register(name, _make(key, sub_spec, name=name, **opts))
            continue
        if spec.get("dynamic"):
            continue
        if spec.get("per_language"):
            for lang in spec["languages"]:
                reg.register(f"{key}/{lang}", _make(key, spec, name=f"{key}/{lang}", languages=[lang], language=lang))
        else:
            reg.register(key, _make(key, spec, name=key, languages=list(spec["languages"]),
                                    language=spec["languages"][0] if len(spec["languages"]) == 1 else None))
    return reg


TASKS: Registry[Task] = _build_registry()


def get_task(name: str) -> Task:
    """One registered task by name (``csn/python``, ``cosqa`` …); unknown names get a did-you-mean error."""
    if name in TASKS:
        return TASKS.get(name)
    members = _family_members(name)
    if members:
        raise CodequarryError(f"{name!r} is a family of {len(members)} tasks; name one of: {', '.join(members)}")
    raise CodequarryError(_unknown(name))


def _family_members(name: str) -> list[str]:
    return [t for t in TASKS.names() if t.startswith(name.rstrip("/") + "/")]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "data"


def task_for_dir(path: str | os.PathLike[str], name: str | None = None) -> Task:
    """A task for a folder: a pairs dir (``pairs-retrieval``) or a BEIR/CoIR folder (``coir-ndcg@10``).

    ``name`` replaces the folder's own name in the task name (``coir/NAME``, ``pairs/NAME``): a CoIR dataset
    saved under any folder name still fills its CoIR leaderboard column and gets its languages.
    """
    from codequarry.benchmarks.tasks.beir import is_beir_dir
    from codequarry.benchmarks.tasks.readers import is_pairs_dir, pairs_configs
    from codequarry.releases.files import check_folder

    p = Path(path).expanduser()
    if name is not None and _slug(name) != name:
        raise CodequarryError(f"task name {name!r}: use letters, digits, '.', '_' and '-' only")
    name = name or _slug(p.resolve().name)
    if p.is_dir():
        check_folder(p, option="--task ")  # links out of the folder, FIFOs: refused before anything is read
    if is_pairs_dir(p):
        spec = families()["pairs"]
        langs = pairs_configs(p) or ["unknown"]
        # each pairs dir is its own family: two datasets never share a leaderboard column
        return _make("pairs", dict(spec, family=f"pairs/{name}"), name=f"pairs/{name}", languages=langs, path=str(p),
                     language=langs[0] if len(langs) == 1 else None)
    if is_beir_dir(p):
        spec = families()["coir"]
        langs = spec.get("coir_languages", {}).get(name.lower(), ["unknown"])
        return _make("coir", spec, name=f"coir/{name}", languages=langs, path=str(p),
                     language=langs[0] if len(langs) == 1 else None)
    if p.is_dir():
        raise CodequarryError(f"{p} is neither a pairs dir (codequarry.json) nor a BEIR/CoIR folder "
                              "(corpus.jsonl, queries.jsonl, qrels/SPLIT.tsv)")
    raise CodequarryError(f"{p}: no such folder")


def resolve_tasks(name_or_dir: str | os.PathLike[str] | Task, name: str | None = None) -> list[Task]:
    """Tasks for a name, a family (``csn`` → the six ``csn/{lang}``) or a folder (``name``: the folder task's name)."""
    from codequarry.storage import is_uri, local_pairs_dir

    if not isinstance(name_or_dir, Task) and is_uri(str(name_or_dir)):  # an object-store pairs dir: a checked copy
        uri = str(name_or_dir).rstrip("/")
        return [task_for_dir(local_pairs_dir(uri), name=name or _slug(uri.rsplit("/", 1)[-1]))]
    if name is not None:
        if isinstance(name_or_dir, Task) or not Path(str(name_or_dir)).expanduser().is_dir():
            raise CodequarryError(f"--task-name names a folder task (pairs dir or BEIR folder); {name_or_dir!s} "
                                  "is not a folder")
        return [task_for_dir(name_or_dir, name=name)]
    if isinstance(name_or_dir, Task):
        return [name_or_dir]
    text = str(name_or_dir)
    if text in TASKS:
        return [TASKS.get(text)]
    if text.startswith("hub:"):  # any BEIR-shaped Hub dataset (hub.py)
        from codequarry.benchmarks.tasks.hub import hub_spec_for

        key, name, spec, opts = hub_spec_for(text[4:], families())
        return [_make(key, spec, name=name, **opts)]
    members = _family_members(text)
    if members:
        return [TASKS.get(m) for m in members]
    if isinstance(name_or_dir, os.PathLike) or Path(text).expanduser().is_dir():
        return [task_for_dir(text)]
    raise CodequarryError(_unknown(text))


def _unknown(name: str) -> str:
    import difflib

    fams = sorted({t.split("/", 1)[0] for t in TASKS.names() if "/" in t})
    close = difflib.get_close_matches(name, fams + TASKS.names(), n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return (f"unknown benchmark task {name!r}.{hint} Families: {', '.join(fams)}; tasks: `codequarry tasks`. "
            "A folder (pairs dir or BEIR/CoIR folder) also works as --task.")


def load_task(name_or_dir: str | os.PathLike[str] | Task, data: Any = None, split: str | None = None) -> TaskData:
    """Load one task's queries, corpus and graded qrels (``data``: a path or ``{name: path}``; see each family)."""
    tasks = resolve_tasks(name_or_dir)
    if len(tasks) > 1:
        raise CodequarryError(f"{name_or_dir!r} is a family of {len(tasks)} tasks; load one of: "
                              f"{', '.join(t.name for t in tasks)}")
    task = tasks[0]
    if task.options.get("path") and data is None:
        data = task.options["path"]
    if data is None:  # no --data: fetch the task's pinned sources into the cache (codequarry.fetch)
        from codequarry.fetch import fetch_task

        data = fetch_task(task)
    return task.load(data, split)
