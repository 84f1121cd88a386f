"""Known protocol ids and task families (data in protocols.yaml and families.yaml next to this module)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from codequarry.errors import CodequarryError

HERE = Path(__file__).resolve().parent
AVERAGE_KEYS = ("avg", "overall")


@dataclass(frozen=True)
class Protocol:
    """A protocol id with what it measures and the metric it reports."""

    id: str
    description: str
    metric: str


@dataclass(frozen=True)
class Family:
    """A task family: its table columns (languages or datasets), where they come from, and the average rule."""

    name: str
    title: str
    columns: tuple[str, ...]
    column_from: str = "language"
    average: bool = False
    groups: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (column, the result subsets it averages)


def _load_yaml(name: str) -> dict:
    data = yaml.safe_load((HERE / name).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise CodequarryError(f"{HERE / name}: expected a mapping at the top level")
    return data


@lru_cache(maxsize=1)
def protocols() -> dict[str, Protocol]:
    """Every known protocol id (docs/formats.md §4)."""
    return {key: Protocol(key, str(v["description"]), str(v["metric"])) for key, v in _load_yaml("protocols.yaml").items()}


@lru_cache(maxsize=1)
def families() -> dict[str, Family]:
    """Every declared task family."""
    out = {}
    for key, v in _load_yaml("families.yaml").items():
        columns = tuple(str(c) for c in v["columns"])
        column_from = str(v.get("column_from", "language"))
        if column_from not in ("language", "task"):
            raise CodequarryError(f"families.yaml: {key}: column_from must be 'language' or 'task'")
        groups = tuple((str(g), tuple(str(m) for m in members)) for g, members in (v.get("groups") or {}).items())
        out[key] = Family(key, str(v.get("title", key)), columns, column_from,
                          bool(v.get("average", len(columns) > 1)), groups)
    return out


def family(name: str, seen_columns: tuple[str, ...] = ()) -> Family:
    """The declared family, or an ad-hoc one whose columns are those its results bring (and no average)."""
    known = families().get(name)
    if known is not None:
        return known
    return Family(name, name, tuple(sorted(set(seen_columns))), "language", False)


def column_of(family_name: str, task: str, language: str | None) -> str:
    """The column a result fills: its language, or its dataset for families whose columns are datasets."""
    known = families().get(family_name)
    if known is not None and known.column_from == "task":
        return task.rstrip("/").rsplit("/", 1)[-1].lower()
    return (language or "all").lower()
