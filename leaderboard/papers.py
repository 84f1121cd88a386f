"""The papers registry: numbers reported in papers and leaderboards (papers.yaml), loaded with a schema check."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from codequarry.errors import CodequarryError
from codequarry.leaderboard.catalog import AVERAGE_KEYS, families, protocols
from codequarry.leaderboard.results import canonical_metric

PAPERS_FILE = Path(__file__).resolve().parent / "papers.yaml"
REQUIRED = ("model", "paper", "year", "url", "read_from", "task", "protocol", "metric", "scale", "values")
OPTIONAL = ("aliases", "split", "notes")
SCALES = (1, 100)


class _Written(float):
    """A float that remembers how it was written ("0.330" keeps its three decimals)."""

    text: str


def _construct_float(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> float:
    number = _Written(yaml.SafeLoader.construct_yaml_float(loader, node))
    number.text = str(node.value)
    return number


class _Loader(yaml.SafeLoader):
    """Safe YAML loading that keeps the written form of floats."""


_Loader.add_constructor("tag:yaml.org,2002:float", _construct_float)


def _decimals(value: float) -> int:
    text = getattr(value, "text", repr(value)).lower()
    if "e" in text or "." not in text:
        return 0
    return len(text.split(".", 1)[1])


@dataclass(frozen=True)
class Reported:
    """One reported number set: a model's values under one protocol, as read in one source."""

    model: str
    aliases: tuple[str, ...]
    paper: str
    year: int
    url: str
    read_from: str
    task: str
    protocol: str
    metric: str
    split: str
    scale: int
    values: dict[str, float]
    notes: str
    entry: int
    source: Path
    precision: dict[str, int] = field(default_factory=dict)

    def native(self, column: str) -> float:
        """The value on the 0–1 scale results use."""
        return self.values[column] / self.scale

    def decimals(self, column: str) -> int:
        """Decimal places the number was written with in the file (so displays add no false precision)."""
        return self.precision.get(column, 0)

    def names(self) -> tuple[str, ...]:
        """The model name and its aliases, for matching reproduced results."""
        return (self.model, *self.aliases)

    @property
    def label(self) -> str:
        """How the entry is named in error messages."""
        return f"{self.source.name} entry {self.entry} (model {self.model!r}, task {self.task!r})"


def _err(where: str, message: str) -> CodequarryError:
    return CodequarryError(f"{where}: {message}; fix the entry (fields: docs/formats.md §5)")


def _text(raw: dict, key: str, where: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _err(where, f"{key!r} must be a non-empty string, got {value!r}")
    return value.strip()


def parse_entry(raw: Any, entry: int, source: Path) -> Reported:
    """Check one registry entry against the schema and return it (errors name the entry)."""
    model = raw.get("model") if isinstance(raw, dict) else None
    where = f"{source.name} entry {entry}" + (f" (model {model!r})" if isinstance(model, str) else "")
    if not isinstance(raw, dict):
        raise _err(where, f"expected a mapping, got {type(raw).__name__}")
    missing = [k for k in REQUIRED if k not in raw]
    if missing:
        raise _err(where, f"missing {', '.join(missing)}")
    unknown = sorted(set(raw) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        raise _err(where, f"unknown field(s) {', '.join(unknown)}")
    year = raw["year"]
    if isinstance(year, bool) or not isinstance(year, int) or not 1950 <= year <= 2100:
        raise _err(where, f"'year' must be a year like 2021, got {year!r}")
    url = _text(raw, "url", where)
    if not url.startswith(("https://", "http://")):
        raise _err(where, f"'url' must start with https:// or http://, got {url!r}")
    protocol = _text(raw, "protocol", where)
    if protocol not in protocols():
        raise _err(where, f"unknown protocol {protocol!r}; known: {', '.join(protocols())}")
    scale = raw["scale"]
    if isinstance(scale, bool) or scale not in SCALES:
        raise _err(where, f"'scale' must be 1 (fractions) or 100 (percent), got {scale!r}")
    task = _text(raw, "task", where)
    values = _values(raw["values"], scale, families().get(task), where)
    precision = {str(k).lower(): _decimals(v) for k, v in raw["values"].items()}
    aliases = raw.get("aliases") or []
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a.strip() for a in aliases):
        raise _err(where, "'aliases' must be a list of names")
    split = raw.get("split", "test")
    if not isinstance(split, str) or not split:
        raise _err(where, f"'split' must be a split name, got {split!r}")
    notes = raw.get("notes") or ""
    if not isinstance(notes, str):
        raise _err(where, "'notes' must be a string")
    return Reported(model=_text(raw, "model", where), aliases=tuple(a.strip() for a in aliases),
                    paper=_text(raw, "paper", where), year=year, url=url, read_from=_text(raw, "read_from", where),
                    task=task, protocol=protocol, metric=canonical_metric(_text(raw, "metric", where), protocol),
                    split=split, scale=int(scale), values=values, notes=notes.strip(), entry=entry, source=source,
                    precision=precision)


def _values(raw: Any, scale: int, family: Any, where: str) -> dict[str, float]:
    if not isinstance(raw, dict) or not raw:
        raise _err(where, "'values' must be a non-empty mapping {column: number}")
    values: dict[str, float] = {}
    for key, value in raw.items():
        column = str(key).lower()
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise _err(where, f"values[{key!r}] must be a number, got {value!r}")
        if not 0 <= value <= scale:
            raise _err(where, f"values[{key!r}] = {value} is outside 0..{scale} for scale {scale}")
        if family is not None and column not in family.columns and column not in AVERAGE_KEYS:
            raise _err(where, f"values key {key!r} is not a column of task {family.name!r} "
                              f"({', '.join(family.columns)}, or avg/overall)")
        if column in values:
            raise _err(where, f"values key {key!r} appears twice")
        values[column] = float(value)
    if all(k in values for k in AVERAGE_KEYS):
        raise _err(where, "give either 'avg' or 'overall', not both")
    if scale == 100 and all(v <= 1 for v in values.values()):
        raise _err(where, "every value is ≤ 1 although scale is 100; these look like fractions (use scale: 1)")
    return values


def load_papers(path: str | Path | None = None) -> list[Reported]:
    """Load and check the registry (the packaged papers.yaml by default); duplicates are an error."""
    source = Path(path) if path is not None else PAPERS_FILE
    try:
        data = yaml.load(source.read_text(encoding="utf-8"), Loader=_Loader)  # _Loader is a SafeLoader
    except OSError as exc:
        raise CodequarryError(f"cannot read papers registry {source}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise CodequarryError(f"{source}: invalid YAML: {exc}") from None
    if data is None:
        return []
    if not isinstance(data, list):
        raise CodequarryError(f"{source}: expected a list of entries (docs/formats.md §5)")
    entries = [parse_entry(raw, i, source) for i, raw in enumerate(data, start=1)]
    seen: dict[tuple, Reported] = {}
    for e in entries:
        key = (e.model.lower(), e.paper, e.task, e.protocol, e.metric, e.split)
        if key in seen:
            raise CodequarryError(f"{e.label} repeats {seen[key].label} (same model, paper, task, protocol, "
                                  "metric and split); merge them into one entry")
        seen[key] = e
    return entries
