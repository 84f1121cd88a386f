"""Read result JSON files (docs/formats.md §4) for the leaderboard, checking only the keys it needs."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codequarry.errors import CodequarryError

RESULT_KIND = "codequarry-result"
SCHEMA_VERSIONS = (1,)


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


@dataclass(frozen=True)
class Skipped:
    """A file found in a results folder that is not a result, with the reason (nothing is dropped silently)."""

    path: Path
    reason: str


def canonical_metric(metric: str, protocol: str) -> str:
    """Spell a metric the same way everywhere: "mrr" under a protocol named "…-mrr@1000" becomes "mrr@1000"."""
    name = metric.strip().lower()
    if "@" not in name:
        marker = f"{name}@"
        at = protocol.lower().rfind(marker)
        if at >= 0 and (at == 0 or not protocol[at - 1].isalnum()):
            return protocol.lower()[at:]
    return name


def _need(obj: Any, key: str, kind: type | tuple[type, ...], where: str, path: Path) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise CodequarryError(f"{path}: missing key {where}{key!r} (see docs/formats.md §4); regenerate it with "
                              "`codequarry bench`")
    value = obj[key]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise CodequarryError(f"{path}: {where}{key!r} must be {_kind_name(kind)}, got {type(value).__name__}")
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(k.__name__ for k in kinds)


def _number(value: Any, what: str, path: Path) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise CodequarryError(f"{path}: {what} must be a finite number, got {value!r}")
    return float(value)


def _optional_str(obj: dict, key: str) -> str | None:
    value = obj.get(key)
    return str(value) if value not in (None, "") else None


def parse_result(data: Any, path: Path, metric: str | None = None) -> Result:
    """Validate one decoded result JSON and return it as a Result (CodequarryError names file and key).

    ``metric`` picks a score other than the task's main one (its own table, CI and per-query values)."""
    if not isinstance(data, dict) or data.get("kind") != RESULT_KIND:
        raise CodequarryError(f"{path}: not a codequarry result (expected \"kind\": {RESULT_KIND!r})")
    version = data.get("schema_version")
    if version not in SCHEMA_VERSIONS:
        raise CodequarryError(f"{path}: unsupported schema_version {version!r} (this codequarry reads "
                              f"{', '.join(map(str, SCHEMA_VERSIONS))}); upgrade codequarry")
    task = _need(data, "task", dict, "", path)
    model = _need(data, "model", dict, "", path)
    scores_raw = _need(data, "scores", dict, "", path)
    name = _need(task, "name", str, "task.", path)
    family = _need(task, "family", str, "task.", path)
    protocol = _need(task, "protocol", str, "task.", path)
    main = _need(task, "main_score", str, "task.", path)
    model_name = _need(model, "name", str, "model.", path)
    scores = {str(k).lower(): _number(v, f"scores.{k}", path) for k, v in scores_raw.items()}
    if main.lower() not in scores:
        raise CodequarryError(f"{path}: task.main_score {main!r} is not among scores ({', '.join(scores)})")
    score = _number(_need(data, "main_score", (int, float), "", path), "main_score", path)
    if abs(score - scores[main.lower()]) > 1e-9:
        raise CodequarryError(f"{path}: main_score {score} differs from scores[{main!r}] = {scores[main.lower()]}")
    if metric is not None and metric.lower() != main.lower():
        if metric.lower() not in scores:
            raise CodequarryError(f"{path}: no score {metric!r} (it has {', '.join(scores)})")
        main, score = metric.lower(), scores[metric.lower()]
    ci = _read_ci(data.get("ci"), main, path)
    per_query = _read_per_query(data.get("per_query"), main, path)
    provenance = data.get("provenance") if isinstance(data.get("provenance"), dict) else {}
    settings = model.get("settings") if isinstance(model.get("settings"), dict) else {}
    return Result(
        path=path, task=name, family=family, language=_optional_str(task, "language"),
        split=_optional_str(task, "split") or "unspecified", protocol=protocol,
        metric=canonical_metric(main, protocol), model=model_name,
        model_spec=str(model.get("spec") or model_name), model_revision=_optional_str(model, "revision"),
        score=score, scores=scores, ci=ci, per_query=per_query, date=_optional_str(provenance, "date"),
        data_revision=_optional_str(task, "revision"), data_fingerprint=_optional_str(task, "data_fingerprint"),
        citation=_optional_str(task, "citation"), codequarry_version=_optional_str(provenance, "codequarry_version"),
        settings=settings,
    )


def _read_ci(ci: Any, main: str, path: Path) -> tuple[float, float] | None:
    if not isinstance(ci, dict):
        return None
    pair = ci.get(main, ci.get(main.lower()))
    if pair is None:
        return None
    if not isinstance(pair, (list, tuple)) or len(pair) != 2:
        raise CodequarryError(f"{path}: ci.{main} must be [low, high], got {pair!r}")
    low, high = (_number(v, f"ci.{main}", path) for v in pair)
    if low > high:
        raise CodequarryError(f"{path}: ci.{main} has low {low} > high {high}")
    return (low, high)


def _read_per_query(per_query: Any, main: str, path: Path) -> dict[str, float] | None:
    if not isinstance(per_query, dict):
        return None
    scores = per_query.get(main, per_query.get(main.lower()))
    if scores is None:
        return None
    if not isinstance(scores, dict):
        raise CodequarryError(f"{path}: per_query.{main} must map query ids to numbers")
    return {str(q): _number(v, f"per_query.{main}[{q!r}]", path) for q, v in scores.items()}


def _read_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CodequarryError(f"cannot read result file {path}: {exc.strerror or exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CodequarryError(f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None


def load_result(path: str | Path) -> Result:
    """Read and validate one result file."""
    path = Path(path)
    return parse_result(_read_json(path), path)


def _with_metrics(data: Any, path: Path, metrics: Sequence[str]) -> list[Result]:
    """The result under its main metric, plus one Result per extra metric the file has."""
    first = parse_result(data, path)
    out = [first]
    for metric in metrics:
        if metric.lower() in first.scores and canonical_metric(metric, first.protocol) != first.metric:
            out.append(parse_result(data, path, metric))
    return out


def collect_results(paths: Iterable[str | Path], metrics: Sequence[str] = ()) -> tuple[list[Result], list[Skipped]]:
    """Load result files and every ``*.json`` under result folders (recursively, in sorted order).

    A file named explicitly must be a result; a JSON file found inside a folder that is not a
    codequarry result (another tool's file) is returned in the skipped list with the reason.
    ``metrics`` adds, for each result that has them, rows under those metrics too (their own tables).
    """
    results: list[Result] = []
    skipped: list[Skipped] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for file in sorted(p for p in path.rglob("*.json") if p.is_file()):
                try:
                    data = json.loads(file.read_text(encoding="utf-8"))
                except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                    skipped.append(Skipped(file, f"not readable JSON ({exc.__class__.__name__})"))
                    continue
                if not isinstance(data, dict) or data.get("kind") != RESULT_KIND:
                    skipped.append(Skipped(file, f"not a codequarry result (no \"kind\": {RESULT_KIND!r})"))
                    continue
                results += _with_metrics(data, file, metrics)
        elif path.is_file():
            results += _with_metrics(_read_json(path), path, metrics)
        else:
            raise CodequarryError(f"results path {path} does not exist; pass result JSON files or folders "
                                  "written by `codequarry bench`")
    return results, skipped
