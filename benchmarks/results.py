"""Result files (docs/formats.md §4): one JSON per model × task, with CIs, per-query scores and provenance.

Also exports results for a Hugging Face model card: the ``model-index`` YAML structure and the newer
``.eval_results`` list (harness notes §6).
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from codequarry.errors import CodequarryError

SCHEMA_VERSION = 1
KIND = "codequarry-result"
SOURCE_NAME = "codequarry"
SOURCE_URL = "https://github.com/codequarry/codequarry"
_PACKAGES = {  # provenance name → distribution names to try
    "numpy": ("numpy",), "scipy": ("scipy",), "torch": ("torch",), "transformers": ("transformers",),
    "sentence-transformers": ("sentence-transformers",), "bm25s": ("bm25s",),
    "faiss": ("faiss-cpu", "faiss-gpu", "faiss-gpu-cu12", "faiss"), "pytrec-eval": ("pytrec-eval-terrier",),
}
_TASK_NAMES = {"text-retrieval": "Text Retrieval", "text-classification": "Text Classification"}
_REQUIRED = {"task": dict, "model": dict, "scores": dict, "main_score": (int, float), "ci": dict,
             "ci_method": dict, "per_query": dict, "provenance": dict}


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


def _package_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name, dists in _PACKAGES.items():
        for dist in dists:
            try:
                out[name] = version(dist)
                break
            except PackageNotFoundError:
                continue
    return out


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _gpu() -> str | None:
    torch = sys.modules.get("torch")  # only when the run used torch: importing it here would cost seconds
    try:
        if torch is not None and torch.cuda.is_available():
            return ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
    except Exception:  # a broken CUDA setup must not lose the result
        return None
    return None


def _git_sha() -> str | None:
    """The commit of the codequarry source tree, when it runs from a git checkout (read without git)."""
    here = Path(__file__).resolve().parent
    for folder in (here, *here.parents):
        git = folder / ".git"
        if git.is_dir():
            try:
                head = (git / "HEAD").read_text(encoding="utf-8").strip()
                if not head.startswith("ref: "):
                    return head
                ref = head[5:]
                if (git / ref).exists():
                    return (git / ref).read_text(encoding="utf-8").strip()
                packed = git / "packed-refs"
                if packed.exists():
                    for line in packed.read_text(encoding="utf-8").splitlines():
                        if line.endswith(" " + ref):
                            return line.split()[0]
            except OSError:
                return None
            return None
    return None


def provenance(command: str | None = None, wall_time_s: float | None = None, seed: int = 0,
               **extra: Any) -> dict[str, Any]:
    """Versions, hardware, date and command of this run (extra keys are added as given)."""
    from codequarry import __version__

    out: dict[str, Any] = {
        "codequarry_version": __version__,
        "codequarry_git": _git_sha(),
        "packages": _package_versions(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "hardware": {"cpu": _cpu_model(), "cores": os.cpu_count(), "gpu": _gpu()},
        "wall_time_s": None if wall_time_s is None else round(float(wall_time_s), 3),
        "date": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": command if command is not None else " ".join(["codequarry", *sys.argv[1:]]),
        "seed": seed,
    }
    out.update(extra)
    return out


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
    return CodequarryError(f"{path}: not a valid codequarry result: {what}")


def result_from_dict(data: Any, path: Path | str = "<dict>") -> Result:
    """Validate a parsed result JSON object and build the Result (errors name the file and the field)."""
    if not isinstance(data, dict):
        raise _fail(path, "the top level must be a JSON object")
    if data.get("kind") != KIND:
        raise _fail(path, f"'kind' is {data.get('kind')!r}, expected {KIND!r}")
    version = data.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise _fail(path, "missing or non-integer 'schema_version'")
    if version > SCHEMA_VERSION or version < 1:
        raise _fail(path, f"schema_version {version} is not supported by this codequarry "
                    f"(reads 1..{SCHEMA_VERSION}); upgrade codequarry to read it")
    for key, typ in _REQUIRED.items():
        if key not in data:
            raise _fail(path, f"missing required key {key!r}")
        value = data[key]
        if not isinstance(value, typ) or isinstance(value, bool):
            raise _fail(path, f"{key!r} has type {type(value).__name__}")
    task, scores = data["task"], data["scores"]
    for key in ("name", "main_score"):
        if not isinstance(task.get(key), str) or not task.get(key):
            raise _fail(path, f"'task.{key}' must be a non-empty string")
    if not (data["model"].get("name") or data["model"].get("spec")):
        raise _fail(path, "'model' needs a 'name' or a 'spec'")
    for k, v in scores.items():
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            raise _fail(path, f"score {k!r} is not a number")
    if task["main_score"] not in scores:
        raise _fail(path, f"main score {task['main_score']!r} is not among the scores {sorted(scores)}")
    ci = {}
    for k, v in data["ci"].items():
        if not (isinstance(v, list) and len(v) == 2 and all(isinstance(x, (int, float)) for x in v)):
            raise _fail(path, f"ci {k!r} must be a [low, high] pair of numbers")
        ci[k] = (float(v[0]), float(v[1]))
    per_query = {}
    for m, vals in data["per_query"].items():
        if not isinstance(vals, dict) or not all(isinstance(x, (int, float)) for x in vals.values()):
            raise _fail(path, f"per_query {m!r} must map query ids to numbers")
        per_query[m] = {str(q): float(x) for q, x in vals.items()}
    return Result(task=task, model=data["model"], scores={k: float(v) for k, v in scores.items()},
                  main_score=float(data["main_score"]), ci=ci, ci_method=data["ci_method"], per_query=per_query,
                  provenance=data["provenance"], schema_version=version)


def load_result(path: Path | str) -> Result:
    """Read and validate one result file."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise CodequarryError(f"{p}: result file not found") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _fail(p, f"cannot read JSON ({exc})") from exc
    return result_from_dict(data, p)


def _read_if_result(path: Path) -> Result | None:
    """The result in ``path``, None for JSON files of another kind; a broken result file is an error."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        if KIND in text:
            raise _fail(path, f"cannot read JSON ({exc})") from exc
        return None
    if not isinstance(data, dict) or data.get("kind") != KIND:
        return None
    return result_from_dict(data, path)


def load_results(paths: Sequence[Path | str] | Path | str) -> list[Result]:
    """Results from files and folders (folders: every ``*.json`` below them whose kind is a codequarry result)."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    out: list[Result] = []
    for p in map(Path, paths):
        if p.is_dir():
            for f in sorted(p.rglob("*.json")):
                r = _read_if_result(f) if f.is_file() else None
                if r is not None:
                    out.append(r)
        elif p.exists():
            out.append(load_result(p))
        else:
            raise CodequarryError(f"{p}: no such result file or folder")
    return out


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
    out = {"type": str(task.get("dataset") or task.get("hf_dataset") or f"codequarry/{task.get('family') or task['name']}"),
           "name": str(task["name"])}
    if task.get("language"):
        out["config"] = str(task["language"])
    if task.get("split"):
        out["split"] = str(task["split"])
    if task.get("revision"):
        out["revision"] = str(task["revision"])
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
