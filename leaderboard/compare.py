"""--compare-reported: reproduced minus reported for the same model, task, protocol, metric, split and column."""

from __future__ import annotations

import math
from dataclasses import dataclass

from codequarry.leaderboard.papers import Reported
from codequarry.leaderboard.tables import AVG, REPORTED, REPRODUCED, Cell, Row, Table, format_value

SPEC_PREFIXES = ("st:", "hf:")


@dataclass(frozen=True)
class Comparison:
    """One reproduced cell against the number a source reports for the same model and protocol."""

    table: str
    model: str
    reported_model: str
    protocol: str
    reported_protocol: str
    metric: str
    split: str
    column: str
    reproduced: float
    ci: tuple[float, float] | None
    reported: float
    reported_half_step: float  # half the last written digit: the reported number's rounding interval
    paper: str
    read_from: str
    url: str
    unit: int = 1  # the table's display unit
    reported_text: str = ""  # the reported number as written, in the table's unit

    @property
    def difference(self) -> float:
        """Reproduced − reported, on the 0–1 scale."""
        return self.reproduced - self.reported

    @property
    def status(self) -> str:
        """'within CI', 'outside CI' (reported value, ± its rounding, misses the reproduced 95% CI) or 'no CI'."""
        if self.ci is None:
            return "no CI"
        low, high = self.reported - self.reported_half_step, self.reported + self.reported_half_step
        return "within CI" if high >= self.ci[0] - 1e-12 and low <= self.ci[1] + 1e-12 else "outside CI"

    @property
    def flagged(self) -> bool:
        """True when the deviation is outside the reproduced CI."""
        return self.status == "outside CI"


@dataclass(frozen=True)
class NotComparable:
    """A reproduced model the registry reports only under another task, protocol, metric or split."""

    model: str
    reported_model: str
    reproduced_under: str
    reported_under: str
    paper: str


def normalize(name: str) -> str:
    """Case- and space-insensitive model name used for matching."""
    return " ".join(name.casefold().split())


def result_names(row: Row) -> set[str]:
    """Names a reproduced row answers to: its model name and its model spec without the st:/hf: prefix."""
    names = {normalize(row.model)}
    spec = row.spec
    for prefix in SPEC_PREFIXES:
        if spec.startswith(prefix):
            spec = spec[len(prefix):]
    if spec:
        names.add(normalize(spec))
    return names


def _half_step(cell: Cell) -> float:
    return 0.5 * 10.0 ** (-(cell.decimals or 0)) / cell.scale if cell.decimals is not None else 0.0


def compare_reported(tables: list[Table], registry: list[Reported]) -> tuple[list[Comparison], list[NotComparable]]:
    """Pair every reproduced row with the reported rows of the same table whose model name or alias matches."""
    comparisons: list[Comparison] = []
    for table in tables:
        reported_rows = [r for r in table.rows if r.provenance == REPORTED]
        for row in (r for r in table.rows if r.provenance == REPRODUCED):
            names = result_names(row)
            for rep in reported_rows:
                if not names & {normalize(n) for n in (rep.model, *rep.aliases)}:
                    continue
                for column in table.all_columns:
                    mine, theirs = row.cell(column), rep.cell(column)
                    if mine is None or theirs is None or (column == AVG and theirs.note == "mean of the reported columns"):
                        continue
                    comparisons.append(Comparison(
                        table=table.id, model=row.model, reported_model=rep.model, protocol=table.protocol,
                        reported_protocol=table.protocol, metric=table.metric, split=table.split, column=column,
                        reproduced=mine.value, ci=mine.ci, reported=theirs.value, reported_half_step=_half_step(theirs),
                        paper=rep.paper, read_from=rep.read_from, url=rep.url, unit=table.unit,
                        reported_text=format_value(theirs, table.unit)))
    keys_of: dict[str, set[tuple[str, str, str, str]]] = {}
    names_of: dict[str, set[str]] = {}
    for table in tables:
        for row in (r for r in table.rows if r.provenance == REPRODUCED):
            keys_of.setdefault(row.model, set()).add((table.family, table.protocol, table.metric, table.split))
            names_of.setdefault(row.model, set()).update(result_names(row))
    not_comparable: list[NotComparable] = []
    for model in sorted(keys_of):
        for e in registry:
            there = (e.task, e.protocol, e.metric, e.split)
            if there in keys_of[model] or not names_of[model] & {normalize(n) for n in e.names()}:
                continue
            not_comparable.append(NotComparable(
                model=model, reported_model=e.model,
                reproduced_under="; ".join(_describe(*k) for k in sorted(keys_of[model])),
                reported_under=_describe(*there), paper=e.paper))
    return comparisons, not_comparable


def _describe(family: str, protocol: str, metric: str, split: str) -> str:
    return f"{family} / {protocol} / {metric} / {split}"


def deviation_text(c: Comparison, unit: int) -> str:
    """The signed difference in a unit, e.g. '-1.23'."""
    value = c.difference * unit
    return f"{value:+.{2 if unit == 100 else 4}f}" if math.isfinite(value) else ""
