"""Benchmarks: tasks and their protocols, models, exact search, metrics, statistics and results.

Public entry points (imported lazily, so ``import codequarry.benchmarks`` stays light):

* ``load_task(name_or_dir, data=None, split=None) -> TaskData`` — queries, corpus, graded qrels, meta;
* ``TASKS`` (the registry), ``get_task(name)``, ``resolve_tasks(name_or_family_or_dir)``;
* ``load_model(spec, model_args)``; ``bench(model_spec, task, ...) -> list[Path]``;
* ``evaluate`` (trec_eval-exact metrics), ``exact_search``, ``compare_paths``.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "load_task": "codequarry.benchmarks.tasks",
    "TASKS": "codequarry.benchmarks.tasks",
    "get_task": "codequarry.benchmarks.tasks",
    "resolve_tasks": "codequarry.benchmarks.tasks",
    "Task": "codequarry.benchmarks.tasks",
    "TaskData": "codequarry.benchmarks.tasks",
    "load_model": "codequarry.benchmarks.models",
    "bench": "codequarry.benchmarks.runner",
    "bench_many": "codequarry.benchmarks.runner",
    "evaluate": "codequarry.benchmarks.metrics",
    "exact_search": "codequarry.benchmarks.search",
    "compare_paths": "codequarry.benchmarks.compare",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'codequarry.benchmarks' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
