"""Known protocol ids and task families, read from the one home of task facts: ``benchmarks/tasks/tasks.yaml``.

Each protocol id's description and main metric, and each family's columns, column source, average and
groups, are declared there (``spec.py`` validates them); this module only shapes them for the tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

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


@lru_cache(maxsize=1)
def protocols() -> dict[str, Protocol]:
    """Every known protocol id (from the task entries that declare them)."""
    from codequarry.benchmarks.tasks.spec import protocol_specs

    return {pid: Protocol(pid, s.protocol_description, s.main_score) for pid, s in protocol_specs().items()}


@lru_cache(maxsize=1)
def families() -> dict[str, Family]:
    """Every task family that declares a ``leaderboard`` block."""
    from codequarry.benchmarks.tasks.spec import board_specs

    return {name: Family(name, b.title, b.columns, b.column_from, b.average, b.groups)
            for name, b in board_specs().items()}


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
