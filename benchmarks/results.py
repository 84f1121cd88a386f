"""The result format (docs/formats.md §4), owned here: build, save, load, validate, upgrade, scan and export.

One JSON file per model × task, with CIs, per-query scores and provenance. Every reader goes through
``result_from_dict`` (the runner's resume check, ``compare``, the leaderboard), so a file is validated one way;
a file of an older ``schema_version`` is upgraded on read (``upgrade``) and never rewritten in place.

Version history: 1 — the first format; 2 — ``task.type`` (retrieval | classification) and
``task.protocol_description`` are written with the result (a v1 file gets them from ``tasks.yaml`` by its
protocol id when read).

Also exports results for a Hugging Face model card: the ``model-index`` YAML structure and the newer
``.eval_results`` list (docs/harness.md §6).
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from codequarry.errors import CodequarryError

SCHEMA_VERSION = 2
KIND = "codequarry-result"
SOURCE_NAME = "codequarry"
SOURCE_URL = "https://github.com/codequarry/codequarry"
_TASK_NAMES = {"text-retrieval": "Text Retrieval", "text-classification": "Text Classification"}


@dataclass(frozen=True)
class Result:
    """One model × task result, mirroring the JSON file (``kind`` is implied)."""

    task: dict[str, Any]
    model: dict[str, Any]
    scores: dict[str, float]
    main_score: float
    ci: dict[str, tuple[float, float]] = field(default_factory=dict)
    ci_method: dict[str, Any] = field(default_factory=dict)
    per_query: dict[str, dict[str, float]] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    @property
    def task_name(self) -> str:
        """The task's registry name (``cosqa``, ``csn/python`` …)."""
        return str(self.task.get("name", ""))

    @property
    def split(self) -> str | None:
        """The evaluated split, if the task records one."""
        s = self.task.get("split")
        return None if s is None else str(s)

    @property
    def main_measure(self) -> str:
        """Name of the main score's measure (``task.main_score``)."""
        return str(self.task.get("main_score", ""))

    @property
    def model_name(self) -> str:
        """The model's display name (falls back to its spec)."""
        return str(self.model.get("name") or self.model.get("spec") or "model")

    def to_dict(self, *, rounded: bool = True) -> dict[str, Any]:
        """The JSON object; scores, main score and CIs rounded to 6 decimals, per-query values kept exact."""
        r = _round if rounded else (lambda x: x)
        return {
            "schema_version": self.schema_version,
            "kind": KIND,
            "task": self.task,
            "model": self.model,
            "scores": {k: r(v) for k, v in self.scores.items()},
            "main_score": r(self.main_score),
            "ci": {k: [r(lo), r(hi)] for k, (lo, hi) in self.ci.items()},
            "ci_method": self.ci_method,
            "per_query": self.per_query,
            "provenance": self.provenance,
        }

    def rounded(self) -> Result:
        """This result as it reads back from disk (6-decimal scores and CIs)."""
        return replace(self, scores={k: _round(v) for k, v in self.scores.items()}, main_score=_round(self.main_score),
                       ci={k: (_round(lo), _round(hi)) for k, (lo, hi) in self.ci.items()})


def _round(x: float) -> float:
    return round(float(x), 6)


def slug(text: str) -> str:
    """File-name-safe form: ``/`` and other unsafe characters become ``_``."""
    out = re.sub(r"[^A-Za-z0-9._+-]+", "_", str(text)).strip("._")
    return out or "unnamed"


def result_filename(result: Result) -> str:
    """``{model_slug}__{task_slug}.json``; the task slug carries the split when there is one (``cosqa_dev``)."""
    task = result.task_name + (f"_{result.split}" if result.split else "")
    return f"{slug(result.model_name)}__{slug(task)}.json"


def make_result(*, task: Mapping[str, Any], model: Mapping[str, Any], scores: Mapping[str, float],
                per_query: Mapping[str, Mapping[str, float]], provenance: Mapping[str, Any] | None = None,
                main_score: str | None = None, resamples: int = 1000, level: float = 0.95,
                seed: int = 0) -> Result:
    """A Result whose CIs are percentile-bootstrap intervals over ``per_query`` (one per measure that has them).

    ``main_score`` names the main measure (default ``task["main_score"]``); it must be one of ``scores``.
    Measures without per-query values (e.g. F1 of a classifier) get no CI.
    """
    from codequarry.benchmarks.stats import bootstrap_cis

    task = dict(task)
    name = main_score or task.get("main_score")
    if not name:
        raise CodequarryError("make_result: the task declares no main_score; pass main_score=")
    task["main_score"] = name
    if name not in scores:
        raise CodequarryError(f"make_result: main score {name!r} is not among the scores {sorted(scores)}")
    clean_scores = {k: float(v) for k, v in scores.items()}
    for k, v in clean_scores.items():
        if not math.isfinite(v):
            raise CodequarryError(f"make_result: score {k!r} is {v}; scores must be finite")
    pq = {m: {str(q): float(v) for q, v in vals.items()} for m, vals in per_query.items()}
    ci = bootstrap_cis({m: list(vals.values()) for m, vals in pq.items() if vals}, resamples=resamples, level=level,
                       seed=seed)
    return Result(task=task, model=dict(model), scores=clean_scores, main_score=clean_scores[name], ci=ci,
                  ci_method={"kind": "bootstrap-percentile", "resamples": resamples, "seed": seed, "level": level},
                  per_query=pq, provenance=dict(provenance or {}))


def save_result(result: Result, out_dir: Path | str) -> Path:
    """Write ``result`` atomically to ``out_dir/{model_slug}__{task_slug}.json`` and return the path."""
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / result_filename(result)
    try:
        text = json.dumps(result.to_dict(), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    except (TypeError, ValueError) as exc:
        raise CodequarryError(f"result for {result.task_name!r} is not JSON-serialisable ({exc}); "
                              "task/model/provenance must hold plain JSON values") from exc
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def _fail(path: Path | str, what: str) -> CodequarryError:
    return CodequarryError(f"{path}: {what} (see docs/formats.md §4)")


def is_result(data: Any) -> bool:
    """Whether a decoded JSON value claims to be a codequarry result (its ``kind``)."""
    return isinstance(data, dict) and data.get("kind") == KIND


def _v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    from codequarry.benchmarks.tasks.spec import protocol_specs

    task = dict(data.get("task") or {})
    spec = protocol_specs().get(str(task.get("protocol")))
    task.setdefault("type", spec.type if spec is not None else "retrieval")
    task.setdefault("protocol_description", spec.protocol_description if spec is not None else "")
    return dict(data, task=task, schema_version=2)


_UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _v1_to_v2}


def upgrade(data: dict[str, Any], path: Path | str = "<dict>") -> dict[str, Any]:
    """A decoded result of any supported ``schema_version`` brought to the current one (a new dict)."""
    version = data.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise _fail(path, "missing or non-integer schema_version")
    if not 1 <= version <= SCHEMA_VERSION:
        raise _fail(path, f"unsupported schema_version {version} (this codequarry reads 1..{SCHEMA_VERSION}); "
                    "upgrade codequarry to read it")
    while data["schema_version"] < SCHEMA_VERSION:
        data = _UPGRADES[data["schema_version"]](data)
    return data


def _need(obj: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str, path: Path | str) -> Any:
    if key not in obj:
        raise _fail(path, f"missing key {where}{key!r}")
    value = obj[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        kinds = kind if isinstance(kind, tuple) else (kind,)
        raise _fail(path, f"{where}{key!r} must be {' or '.join(k.__name__ for k in kinds)}, got {type(value).__name__}")
    return value


def _number(value: Any, what: str, path: Path | str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _fail(path, f"{what} must be a finite number, got {value!r}")
    return float(value)


def result_from_dict(data: Any, path: Path | str = "<dict>", *, require: Iterable[str] = ()) -> Result:
    """Validate (and upgrade) a decoded result JSON object; errors name the file and the key.

    Required: ``kind``, ``schema_version``, ``task`` {``name``, ``main_score``, and the task keys in ``require``,
    e.g. the leaderboard's ``family`` and ``protocol``}, ``model`` {``name`` or ``spec``}, ``scores`` and a
    ``main_score`` equal to ``scores[task.main_score]``. Optional: ``ci``, ``ci_method``, ``per_query``,
    ``provenance`` (checked when present).
    """
    if not is_result(data):
        got = data.get("kind") if isinstance(data, dict) else type(data).__name__
        raise _fail(path, f"not a codequarry result (expected \"kind\": {KIND!r}, got {got!r})")
    data = upgrade(data, path)
    task = _need(data, "task", dict, "", path)
    model = _need(data, "model", dict, "", path)
    scores_raw = _need(data, "scores", dict, "", path)
    for key in ("name", "main_score", *require):
        if not _need(task, key, str, "task.", path):
            raise _fail(path, f"task.{key!r} must not be empty")
    for key in ("name", "spec"):
        if key in model and model[key] is not None:
            _need(model, key, str, "model.", path)
    if not (model.get("name") or model.get("spec")):
        raise _fail(path, "'model' needs a 'name' or a 'spec'")
    scores = {str(k): _number(v, f"scores.{k}", path) for k, v in scores_raw.items()}
    main = task["main_score"]
    if main not in scores:
        raise _fail(path, f"task.main_score {main!r} is not among scores ({', '.join(scores) or 'none'})")
    main_score = _number(_need(data, "main_score", (int, float), "", path), "main_score", path)
    if abs(main_score - scores[main]) > 1e-9:
        raise _fail(path, f"main_score {main_score} differs from scores[{main!r}] = {scores[main]}")
    ci = {}
    for k, pair in _optional(data, "ci", path).items():
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise _fail(path, f"ci.{k} must be [low, high], got {pair!r}")
        low, high = (_number(v, f"ci.{k}", path) for v in pair)
        if low > high:
            raise _fail(path, f"ci.{k} has low {low} > high {high}")
        ci[str(k)] = (low, high)
    per_query = {}
    for m, vals in _optional(data, "per_query", path).items():
        if not isinstance(vals, dict):
            raise _fail(path, f"per_query.{m} must map query ids to numbers")
        per_query[str(m)] = {str(q): _number(x, f"per_query.{m}[{q!r}]", path) for q, x in vals.items()}
    return Result(task=task, model=model, scores=scores, main_score=main_score, ci=ci,
                  ci_method=_optional(data, "ci_method", path), per_query=per_query,
                  provenance=_optional(data, "provenance", path), schema_version=data["schema_version"])


def _optional(data: Mapping[str, Any], key: str, path: Path | str) -> dict[str, Any]:
    return _need(data, key, dict, "", path) if data.get(key) is not None else {}


def read_result_json(path: Path) -> Any:
    """The decoded JSON of a result file (errors name the file; validation is ``result_from_dict``'s)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CodequarryError(f"{path}: result file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CodequarryError(f"{path}: cannot read JSON ({exc})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CodequarryError(f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg} "
                              "(cannot read JSON)") from None


def load_result(path: Path | str, *, require: Iterable[str] = ()) -> Result:
    """Read and validate one result file."""
    p = Path(path)
    return result_from_dict(read_result_json(p), p, require=require)


@dataclass(frozen=True)
class Skipped:
    """A file found in a results folder that is not a result, with the reason (nothing is dropped silently)."""

    path: Path
    reason: str


def read_if_result(path: Path, *, require: Iterable[str] = ()) -> Result | Skipped:
    """The result in ``path``; a Skipped for a JSON file of another kind; a broken result file is an error."""
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text)
    except (OSError, UnicodeDecodeError) as exc:
        return Skipped(path, f"not readable ({exc.__class__.__name__})")
    except json.JSONDecodeError as exc:
        if KIND in text:
            raise _fail(path, f"cannot read JSON ({exc})") from exc
        return Skipped(path, f"not readable JSON ({exc.__class__.__name__})")
    if not is_result(data):
        return Skipped(path, f"not a codequarry result (no \"kind\": {KIND!r})")
    return result_from_dict(data, path, require=require)


def scan_results(paths: Iterable[Path | str] | Path | str, *,
                 require: Iterable[str] = ()) -> tuple[list[tuple[Path, Result]], list[Skipped]]:
    """Results from files and folders (every ``*.json`` below a folder, sorted), with the files that are not results.

    A file named explicitly must be a result; inside a folder, another tool's JSON is skipped with the reason.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    found: list[tuple[Path, Result]] = []
    skipped: list[Skipped] = []
    for p in map(Path, paths):
        if p.is_dir():
            for f in sorted(x for x in p.rglob("*.json") if x.is_file()):
                r = read_if_result(f, require=require)
                if isinstance(r, Skipped):
                    skipped.append(r)
                else:
                    found.append((f, r))
        elif p.is_file():
            found.append((p, load_result(p, require=require)))
        else:
            raise CodequarryError(f"{p}: no such result file or folder (it does not exist); pass result JSON files "
                                  "or folders written by `codequarry bench`")
    return found, skipped


def load_results(paths: Sequence[Path | str] | Path | str) -> list[Result]:
    """Results from files and folders (folders: every ``*.json`` below them whose kind is a codequarry result)."""
    return [r for _, r in scan_results(paths)[0]]


def task_type(task: Mapping[str, Any]) -> str:
    """``retrieval`` or ``classification``: the result's own ``task.type``, else its protocol's in tasks.yaml."""
    if task.get("type") in ("retrieval", "classification"):
        return str(task["type"])
    from codequarry.benchmarks.tasks.spec import protocol_specs

    spec = protocol_specs().get(str(task.get("protocol")))
    return spec.type if spec is not None else "retrieval"


def _metric_type(measure: str) -> str:
    return measure.replace("@", "_at_").replace("-", "_")


def _metric_name(measure: str) -> str:
    base, _, k = measure.partition("@")
    nice = {"mrr": "MRR", "ndcg": "NDCG", "map": "MAP", "recall": "Recall", "p": "Precision",
            "success": "Success", "accuracy": "Accuracy", "precision": "Precision", "f1": "F1",
            "r-precision": "R-Precision"}.get(base.lower(), base)
    return f"{nice}@{k}" if k else nice


def _dataset(task: Mapping[str, Any]) -> dict[str, Any]:
    hub = task.get("hub_dataset")
    out = {"type": str(hub or task.get("dataset") or f"codequarry/{task.get('family') or task['name']}"),
           "name": str(task["name"])}
    if task.get("language"):
        out["config"] = str(task["language"])
    if task.get("split"):
        out["split"] = str(task["split"])
    revision = task.get("hub_revision") if hub else task.get("revision")  # a Hub dataset's own commit
    if revision:
        out["revision"] = str(revision)
    return out


def to_model_index(results: Sequence[Result], model_name: str) -> dict[str, Any]:
    """The model card ``model-index`` structure (dump it with yaml.safe_dump into the README front matter)."""
    entries = []
    for r in results:
        protocol = r.task.get("protocol")
        kind = "text-classification" if task_type(r.task) == "classification" else "text-retrieval"
        metrics = []
        for m, v in r.scores.items():
            item: dict[str, Any] = {"type": _metric_type(m), "value": _round(v), "name": _metric_name(m)}
            if protocol:
                item["args"] = {"protocol": protocol}
            metrics.append(item)
        entries.append({"task": {"type": kind, "name": _TASK_NAMES[kind]},
                        "dataset": _dataset(r.task), "metrics": metrics,
                        "source": {"name": SOURCE_NAME, "url": SOURCE_URL}})
    return {"model-index": [{"name": model_name, "results": entries}]}


def to_eval_results(results: Sequence[Result]) -> list[dict[str, Any]]:
    """Hub ``.eval_results`` entries: one per result, value = main score × 100 (as MTEB pushes them)."""
    from codequarry import __version__

    out = []
    for r in results:
        ds = _dataset(r.task)
        task_id = "_".join(x for x in (r.task_name.replace("/", "_"), r.split) if x)
        entry: dict[str, Any] = {
            "dataset": {"id": ds["type"], "task_id": task_id},
            "value": round(100 * r.main_score, 4),
            "date": str(r.provenance.get("date", ""))[:10] or None,
            "source": {"url": SOURCE_URL, "name": SOURCE_NAME},
            "notes": f"{_metric_name(r.main_measure)} ×100 under protocol {r.task.get('protocol') or 'n/a'}; "
                     f"obtained using codequarry {r.provenance.get('codequarry_version') or __version__}",
        }
        if ds.get("revision"):
            entry["dataset"]["revision"] = ds["revision"]
        out.append(entry)
    return out
