"""``tasks.yaml`` parsed into frozen, validated specs: the single home of every fact about a benchmark task.

One entry per task family (``csn``, ``cosqa`` …) declares what the task is (title, protocol id and
description, main score, measures, languages, splits, query averaging, source, licence, citation key,
Hub dataset id and revision), how it is scored (``eval``: a standard evaluator's depth, averaging rule
and identical-id rule; omitted when the family module's own ``evaluate`` really differs), how the
leaderboard shows it (``leaderboard``: columns, where they come from, average, groups) and where its
files come from (``data``: a block whose schema ``codequarry.fetch.sources`` owns; carried here as is).

Errors name the file, the task and the field, so a typo in ``tasks.yaml`` is found at import time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from codequarry.errors import CodequarryError

TASKS_YAML = Path(__file__).with_name("tasks.yaml")
TASK_TYPES = ("retrieval", "classification")
EVAL_KINDS = ("retrieval",)
COLUMN_FROM = ("language", "task")
_REQUIRED_TEXT = ("module", "title", "protocol", "main_score", "query_averaging", "source", "homepage", "revision",
                  "license", "citation", "data_source", "description")
# carried as written for the module that owns them: data (codequarry.fetch.sources), hub_datasets (tasks/hub.py);
# a task's Hub dataset id and revision are read from its data block's hub source unless `hub` names them
_OPAQUE = ("data", "hub_datasets")
_KNOWN = set(_REQUIRED_TEXT) | {"protocol_description", "family", "type", "measures", "languages", "per_language",
                                "dynamic", "splits", "default_split", "options", "eval", "leaderboard", "hub",
                                "coir_languages", *_OPAQUE}


class TaskSpecError(CodequarryError):
    """A ``tasks.yaml`` entry that does not follow the schema (the message names file, task and field)."""


@dataclass(frozen=True)
class EvalSpec:
    """A standard evaluator: top-``k`` search over the corpus, trec_eval-exact measures, one averaging rule.

    ``k`` None ranks the whole corpus (full-rank MRR); ``exclude_identical`` drops a doc whose id equals the
    query's (BEIR/CoIR).
    """

    kind: str
    k: int | None
    averaging: str
    exclude_identical: bool = False


@dataclass(frozen=True)
class BoardSpec:
    """How the leaderboard shows a family: its columns in order, where a result's column comes from, the average."""

    title: str
    columns: tuple[str, ...]
    column_from: str = "language"
    average: bool = False
    groups: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (column, the result subsets it averages)


@dataclass(frozen=True)
class TaskSpec:
    """One ``tasks.yaml`` entry, validated."""

    key: str
    module: str
    family: str
    title: str
    protocol: str
    protocol_description: str
    type: str
    main_score: str
    measures: tuple[str, ...]
    languages: tuple[str, ...]
    per_language: bool
    dynamic: bool
    splits: tuple[str, ...]
    default_split: str
    query_averaging: str
    source: str
    homepage: str
    revision: str
    license: str
    citation: str
    data_source: str
    description: str
    hub_dataset: str | None = None
    hub_revision: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    eval: EvalSpec | None = None
    leaderboard: BoardSpec | None = None
    data: Any = None  # the fetch block, validated by codequarry.fetch.sources
    coir_languages: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def _fail(where: str, key: str, fld: str | None, msg: str) -> TaskSpecError:
    return TaskSpecError(f"{where}: task {key!r}" + (f", field {fld!r}" if fld else "") + f": {msg}")


def _text(block: Mapping[str, Any], fld: str, where: str, key: str, *, default: str | None = None) -> str:
    value = block.get(fld, default)
    if value is None:
        raise _fail(where, key, fld, "missing")
    if not isinstance(value, str):
        raise _fail(where, key, fld, f"must be text, got {type(value).__name__}")
    if default is None and not value.strip():
        raise _fail(where, key, fld, "must not be empty")
    return value


def _texts(block: Mapping[str, Any], fld: str, where: str, key: str, *, required: bool = True) -> tuple[str, ...]:
    value = block.get(fld)
    if value is None and not required:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _fail(where, key, fld, "must be a list of non-empty strings")
    return tuple(value)


def _flag(block: Mapping[str, Any], fld: str, where: str, key: str, default: bool = False) -> bool:
    value = block.get(fld, default)
    if not isinstance(value, bool):
        raise _fail(where, key, fld, f"must be true or false, got {value!r}")
    return value


def _eval(raw: Any, where: str, key: str) -> EvalSpec | None:
    from codequarry.benchmarks.metrics import AVERAGING

    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise _fail(where, key, "eval", "must be a mapping (kind, k, averaging, exclude_identical)")
    unknown = sorted(set(raw) - {"kind", "k", "averaging", "exclude_identical"})
    if unknown:
        raise _fail(where, key, f"eval.{unknown[0]}", "unknown field (known: kind, k, averaging, exclude_identical)")
    kind = raw.get("kind", "retrieval")
    if kind not in EVAL_KINDS:
        raise _fail(where, key, "eval.kind", f"must be one of {', '.join(EVAL_KINDS)}, got {kind!r}")
    k = raw.get("k")
    if k == "all":
        k = None
    elif isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise _fail(where, key, "eval.k", f"must be a positive integer or 'all' (the whole corpus), got {k!r}")
    averaging = raw.get("averaging")
    if averaging not in AVERAGING:
        raise _fail(where, key, "eval.averaging", f"must be one of {', '.join(AVERAGING)}, got {averaging!r}")
    return EvalSpec(kind, k, averaging, _flag(raw, "exclude_identical", where, f"{key}.eval"))


def _board(raw: Any, where: str, key: str, title: str) -> BoardSpec | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise _fail(where, key, "leaderboard", "must be a mapping (columns, column_from, average, groups, title)")
    unknown = sorted(set(raw) - {"title", "columns", "column_from", "average", "groups"})
    if unknown:
        raise _fail(where, key, f"leaderboard.{unknown[0]}", "unknown field")
    columns = _texts(raw, "columns", where, key)
    column_from = raw.get("column_from", "language")
    if column_from not in COLUMN_FROM:
        raise _fail(where, key, "leaderboard.column_from", f"must be one of {', '.join(COLUMN_FROM)}")
    average = raw.get("average", len(columns) > 1)
    if not isinstance(average, bool):
        raise _fail(where, key, "leaderboard.average", "must be true or false")
    groups_raw = raw.get("groups") or {}
    if not isinstance(groups_raw, Mapping):
        raise _fail(where, key, "leaderboard.groups", "must map a column to the subsets it averages")
    groups = []
    for g, members in groups_raw.items():
        if g not in columns or not isinstance(members, list) or not members:
            raise _fail(where, key, f"leaderboard.groups.{g}", "must be one of the columns, mapped to a list of subsets")
        groups.append((str(g), tuple(str(m) for m in members)))
    return BoardSpec(str(raw.get("title", title)), columns, column_from, average, tuple(groups))


def _hub_source(data: Any) -> dict[str, Any]:
    """``{dataset, revision}`` of the first ``kind: hub`` source of a ``data`` block (its schema: fetch/sources.py)."""
    for src in data if isinstance(data, list) else ():
        if isinstance(src, Mapping) and src.get("kind") == "hub" and isinstance(src.get("repo_id"), str):
            return {"dataset": src["repo_id"], "revision": src.get("revision")}
    return {}


def parse_spec(key: str, block: Any, where: str = str(TASKS_YAML)) -> TaskSpec:
    """Validate one entry; every error names ``where``, the task and the field."""
    if not isinstance(block, Mapping):
        raise _fail(where, key, None, "an entry must be a mapping")
    unknown = sorted(set(block) - _KNOWN)
    if unknown:
        raise _fail(where, key, unknown[0], "unknown field")
    text = {f: _text(block, f, where, key) for f in _REQUIRED_TEXT}
    measures = _texts(block, "measures", where, key)
    if text["main_score"] not in measures:
        raise _fail(where, key, "main_score", f"{text['main_score']!r} is not among the measures {list(measures)}")
    dynamic = _flag(block, "dynamic", where, key)
    per_language = _flag(block, "per_language", where, key)
    languages = _texts(block, "languages", where, key)  # empty: the data decides (folders, Hub datasets)
    if per_language and not languages:
        raise _fail(where, key, "languages", "a per_language family needs its languages")
    splits = _texts(block, "splits", where, key)
    default_split = _text(block, "default_split", where, key, default="")
    if splits and default_split not in splits:
        raise _fail(where, key, "default_split", f"{default_split!r} is not among the splits {list(splits)}")
    task_type = block.get("type", "retrieval")
    if task_type not in TASK_TYPES:
        raise _fail(where, key, "type", f"must be one of {', '.join(TASK_TYPES)}, got {task_type!r}")
    options = block.get("options") or {}
    if not isinstance(options, Mapping):
        raise _fail(where, key, "options", "must be a mapping")
    hub = block.get("hub") or {}
    if not isinstance(hub, Mapping) or set(hub) - {"dataset", "revision"} or (hub and not hub.get("dataset")):
        raise _fail(where, key, "hub", "must be a mapping with 'dataset' (a Hub id) and optionally 'revision'")
    coir = block.get("coir_languages") or {}
    if not isinstance(coir, Mapping):
        raise _fail(where, key, "coir_languages", "must map a dataset name to its languages")
    if not hub:  # the Hub copy the data block fetches, when there is one (its repo id is written there once)
        hub = _hub_source(block.get("data"))
    family = _text(block, "family", where, key, default=key) or key
    text["protocol_description"] = _text(block, "protocol_description", where, key, default="")
    return TaskSpec(key=key, family=family, type=task_type, measures=measures, languages=languages,
                    per_language=per_language, dynamic=dynamic, splits=splits, default_split=default_split,
                    hub_dataset=hub.get("dataset"), hub_revision=hub.get("revision"), options=dict(options),
                    eval=_eval(block.get("eval"), where, key), leaderboard=_board(block.get("leaderboard"), where, key,
                                                                                  text["title"]),
                    data=block.get("data"), coir_languages={str(k): tuple(v) for k, v in coir.items()}, **text)


def parse_specs(data: Any, where: str) -> dict[str, TaskSpec]:
    """Every entry of a parsed ``tasks.yaml`` (keys starting with ``_`` are left out), checked as a whole."""
    if not isinstance(data, Mapping):
        raise TaskSpecError(f"{where}: expected a mapping of task keys to entries")
    out = {str(k): parse_spec(str(k), v, where) for k, v in data.items() if not str(k).startswith("_")}
    described: dict[str, TaskSpec] = {}
    for spec in out.values():
        if spec.family not in out:
            raise _fail(where, spec.key, "family", f"{spec.family!r} is not a task key")
        if spec.protocol_description:
            first = described.setdefault(spec.protocol, spec)
            if first.protocol_description != spec.protocol_description:
                raise _fail(where, spec.key, "protocol_description", f"protocol {spec.protocol!r} is described by "
                            f"{first.key!r} already; write a protocol's description once")
    for key, spec in out.items():
        first = described.get(spec.protocol)
        if first is None:
            raise _fail(where, key, "protocol_description", f"no entry describes protocol {spec.protocol!r}")
        if first.main_score != spec.main_score:
            raise _fail(where, key, "main_score", f"protocol {spec.protocol!r} reports {first.main_score!r} "
                        f"(entry {first.key!r}); a protocol id has one main score")
        out[key] = replace(spec, protocol_description=first.protocol_description)
    return out


@lru_cache(maxsize=1)
def task_specs() -> dict[str, TaskSpec]:
    """The validated entries of ``benchmarks/tasks/tasks.yaml``, by key."""
    try:
        data = yaml.safe_load(TASKS_YAML.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise TaskSpecError(f"{TASKS_YAML}: not valid YAML ({exc})") from None
    return parse_specs(data, str(TASKS_YAML))


@lru_cache(maxsize=1)
def raw_entries() -> dict[str, dict[str, Any]]:
    """The YAML blocks as written (for code that reads a field this module carries opaquely)."""
    data = yaml.safe_load(TASKS_YAML.read_text(encoding="utf-8"))
    task_specs()  # validated first
    return {k: v for k, v in data.items() if not str(k).startswith("_")}


def protocol_specs() -> dict[str, TaskSpec]:
    """Protocol id → the first entry declaring it (its description, main score and task type)."""
    out: dict[str, TaskSpec] = {}
    for spec in task_specs().values():
        out.setdefault(spec.protocol, spec)
    return out


def board_specs() -> dict[str, BoardSpec]:
    """Family → how the leaderboard shows it (families that declare a ``leaderboard`` block)."""
    return {s.family: s.leaderboard for s in task_specs().values() if s.leaderboard is not None}
