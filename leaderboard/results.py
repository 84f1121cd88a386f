"""The leaderboard's view of result files: each validated by ``codequarry.benchmarks.results`` (the owner of the
format, docs/formats.md §4), then reduced to what tables, plots and comparisons use."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codequarry.benchmarks import results as fmt
from codequarry.benchmarks.results import Skipped
from codequarry.errors import CodequarryError

__all__ = ["Result", "Skipped", "canonical_metric", "collect_results", "load_result", "parse_result"]
NEEDED = ("family", "protocol")  # task keys a result must have to take a place in a table


@dataclass(frozen=True)
class Result:
    """One model × task result, reduced to what tables, plots and comparisons use."""

    path: Path
    task: str
    family: str
    language: str | None
    split: str
    protocol: str
    metric: str
    model: str
    model_spec: str
    model_revision: str | None
    score: float
    scores: dict[str, float]
    ci: tuple[float, float] | None
    per_query: dict[str, float] | None
    date: str | None
    data_revision: str | None
    data_fingerprint: str | None
    citation: str | None
    codequarry_version: str | None
    settings: dict[str, Any] = field(default_factory=dict)


def canonical_metric(metric: str, protocol: str) -> str:
    """Spell a metric the same way everywhere: "mrr" under a protocol named "…-mrr@1000" becomes "mrr@1000"."""
    name = metric.strip().lower()
    if "@" not in name:
        marker = f"{name}@"
        at = protocol.lower().rfind(marker)
        if at >= 0 and (at == 0 or not protocol[at - 1].isalnum()):
            return protocol.lower()[at:]
    return name


def _optional_str(obj: dict, key: str) -> str | None:
    value = obj.get(key)
    return str(value) if value not in (None, "") else None


def parse_result(data: Any, path: Path, metric: str | None = None) -> Result:
    """Validate one decoded result JSON (the format owner's rules, plus task.family and task.protocol) and reduce it.

    ``metric`` picks a score other than the task's main one (its own table, CI and per-query values)."""
    return _view(fmt.result_from_dict(data, path, require=NEEDED), path, metric)


def _view(r: fmt.Result, path: Path, metric: str | None = None) -> Result:
    task, model = r.task, r.model
    scores = {k.lower(): v for k, v in r.scores.items()}
    main, score = r.main_measure.lower(), r.main_score
    if metric is not None and metric.lower() != main:
        if metric.lower() not in scores:
            raise CodequarryError(f"{path}: no score {metric!r} (it has {', '.join(scores)})")
        main, score = metric.lower(), scores[metric.lower()]
    ci = {k.lower(): v for k, v in r.ci.items()}.get(main)
    per_query = {k.lower(): v for k, v in r.per_query.items()}.get(main)
    protocol = str(task["protocol"])
    settings = model.get("settings") if isinstance(model.get("settings"), dict) else {}
    return Result(
        path=path, task=r.task_name, family=str(task["family"]), language=_optional_str(task, "language"),
        split=_optional_str(task, "split") or "unspecified", protocol=protocol,
        metric=canonical_metric(main, protocol), model=r.model_name,
        model_spec=str(model.get("spec") or r.model_name), model_revision=_optional_str(model, "revision"),
        score=score, scores=scores, ci=ci, per_query=per_query, date=_optional_str(r.provenance, "date"),
        data_revision=_optional_str(task, "revision"), data_fingerprint=_optional_str(task, "data_fingerprint"),
        citation=_optional_str(task, "citation"), codequarry_version=_optional_str(r.provenance, "codequarry_version"),
        settings=settings,
    )


def load_result(path: str | Path) -> Result:
    """Read and validate one result file."""
    path = Path(path)
    return parse_result(fmt.read_result_json(path), path)


def collect_results(paths: Iterable[str | Path], metrics: Sequence[str] = ()) -> tuple[list[Result], list[Skipped]]:
    """Load result files and every ``*.json`` under result folders (recursively, in sorted order).

    A file named explicitly must be a result; a JSON file found inside a folder that is not a
    codequarry result (another tool's file) is returned in the skipped list with the reason.
    ``metrics`` adds, for each result that has them, rows under those metrics too (their own tables).
    """
    found, skipped = fmt.scan_results(list(paths), require=NEEDED)
    results: list[Result] = []
    for path, r in found:
        first = _view(r, path)
        results.append(first)
        for metric in metrics:
            if metric.lower() in first.scores and canonical_metric(metric, first.protocol) != first.metric:
                results.append(_view(r, path, metric))
    return results, skipped
