"""Leaderboard tables: one per (task family, protocol, metric, split), reproduced and reported rows, ranked.

Rules (also printed under every table):
* protocols, metrics and splits are never mixed: each combination is its own table;
* columns are the family's languages (or datasets, for CoIR); the average is the mean over the family's
  columns, shown only when a row has a value in every one of them (a reported average is shown as reported);
* rows are sorted by the main column (the average when the table has one and any row fills it, else the
  column most rows fill), highest first; equal values share a rank (competition ranking 1, 1, 3); rows
  without a main value come last, unranked;
* significance: in each column, every reproduced row with per-query scores is compared with the best
  reproduced row by a paired randomization test on the same queries; p-values are Holm-corrected within the
  column; † marks a difference at the chosen alpha;
* values are stored on the 0–1 scale; each table is displayed in one unit (×1 or ×100).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from codequarry.benchmarks.stats import holm, paired_randomization_test
from codequarry.errors import CodequarryError
from codequarry.leaderboard import stats
from codequarry.leaderboard.catalog import AVERAGE_KEYS, Family, column_of, family, protocols
from codequarry.leaderboard.papers import Reported
from codequarry.leaderboard.results import Result
from codequarry.leaderboard.table_options import Options

AVG = "avg"
REPRODUCED = "reproduced"
REPORTED = "reported"


@dataclass(frozen=True)
class Cell:
    """One number in a table, on the 0–1 scale, with what is known about its uncertainty."""

    value: float
    ci: tuple[float, float] | None = None
    scale: int = 1
    decimals: int | None = None  # reported numbers: decimals as written on their own scale
    per_query: dict[str, float] | None = None
    p_value: float | None = None  # Holm-adjusted, against the column's best reproduced row
    significant: bool = False
    best: bool = False
    note: str = ""


@dataclass(frozen=True)
class Row:
    """A model's line in a table: reproduced (from result files) or reported (from the papers registry)."""

    model: str
    provenance: str
    cells: dict[str, Cell]
    average: Cell | None = None
    rank: int | None = None
    main: float | None = None
    spec: str = ""
    model_revision: str | None = None
    date: str | None = None
    files: tuple[str, ...] = ()
    paper: str = ""
    year: int | None = None
    url: str = ""
    read_from: str = ""
    notes: str = ""
    aliases: tuple[str, ...] = ()

    def cell(self, column: str) -> Cell | None:
        """The cell in a column, the average included."""
        return self.average if column == AVG else self.cells.get(column)

    @property
    def citation(self) -> str:
        """Where a reported number comes from, in one line."""
        return f"{self.paper} ({self.year}); read from {self.read_from}" if self.provenance == REPORTED else ""


@dataclass(frozen=True)
class Table:
    """One leaderboard table: a single family, protocol, metric and split."""

    id: str
    family: str
    title: str
    protocol: str
    protocol_description: str
    metric: str
    split: str
    columns: tuple[str, ...]
    has_average: bool
    unit: int
    main_column: str
    rows: tuple[Row, ...]
    notes: tuple[str, ...] = ()
    alpha: float = 0.05
    column_kind: str = "language"  # or "dataset" (families whose columns are datasets, e.g. CoIR)

    @property
    def all_columns(self) -> tuple[str, ...]:
        """The value columns in display order, the average last."""
        return self.columns + ((AVG,) if self.has_average else ())

    @property
    def unit_label(self) -> str:
        """How the unit is shown next to the metric."""
        return "×100" if self.unit == 100 else "0–1"


def table_id(family_name: str, protocol: str, metric: str, split: str) -> str:
    """A file-name-safe id that is unique per table."""
    raw = f"{family_name}--{protocol}--{metric}--{split}"
    return re.sub(r"[^A-Za-z0-9._-]+", "_", raw.replace("@", "_at_"))


def build_tables(results: Sequence[Result], reported: Sequence[Reported] = (),
                 options: Options | None = None) -> list[Table]:
    """Group results and reported numbers into protocol-pure tables, ranked and marked for significance."""
    options = options or Options()
    if not 0 < options.alpha < 1 or options.resamples < 1 or options.bootstrap_resamples < 1:
        raise CodequarryError(f"alpha must lie in (0, 1) and resamples be ≥ 1; got alpha={options.alpha}, "
                              f"resamples={options.resamples}")
    groups: dict[tuple[str, str, str, str], tuple[list[Result], list[Reported]]] = defaultdict(lambda: ([], []))
    for r in results:
        groups[(r.family, r.protocol, r.metric, r.split)][0].append(r)
    for e in reported:
        groups[(e.task, e.protocol, e.metric, e.split)][1].append(e)
    from codequarry.progress import progress

    return [_table(key, *groups[key], options) for key in progress(sorted(groups), desc="tables", unit="table")]


def _table(key: tuple[str, str, str, str], results: list[Result], reported: list[Reported],
           options: Options) -> Table:
    family_name, protocol, metric, split = key
    seen = [column_of(family_name, r.task, r.language) for r in results]
    seen += [c for e in reported for c in e.values if c not in AVERAGE_KEYS]
    fam = family(family_name, tuple(seen))
    columns = fam.columns + tuple(sorted({c for c in seen if c not in fam.columns}))
    rows = _reproduced_rows(results, fam, options) + [_reported_row(e, fam) for e in reported]
    has_average = fam.average and len(fam.columns) > 1
    columns = tuple(c for c in columns if any(c in r.cells for r in rows))  # empty columns are not shown
    main_column = _main_column(rows, columns, has_average)
    rows = _rank(rows, main_column)
    rows, sig_notes = _significance(rows, columns, options)
    notes = _notes(results, protocol, columns) + sig_notes
    for group, members in fam.groups:
        if any(r.cells.get(group) and r.cells[group].note.startswith("mean of") for r in rows):
            notes.append(f"{group} (reproduced) = mean of its {len(members)} subsets {', '.join(members)}; "
                         "no significance test on it")
    if has_average and set(fam.columns) - set(columns):
        notes.insert(0, f"avg is over all {len(fam.columns)} columns of {family_name} ({', '.join(fam.columns)}); "
                        "columns without any value here are not shown")
    known = protocols().get(protocol)
    return Table(id=table_id(*key), family=family_name, title=fam.title, protocol=protocol,
                 protocol_description=known.description if known else "protocol not in the known list",
                 metric=metric, split=split, columns=columns, has_average=has_average,
                 unit=_unit(options.unit, reported), main_column=main_column, rows=tuple(rows), notes=tuple(notes),
                 alpha=options.alpha, column_kind="dataset" if fam.column_from == "task" else "language")


def _unit(option: str | int, reported: Sequence[Reported]) -> int:
    if option in ("auto", None):
        return 100 if any(e.scale == 100 for e in reported) else 1
    unit = int(option)
    if unit not in (1, 100):
        raise CodequarryError(f"unit must be auto, 1 or 100, got {option!r}")
    return unit


def _settings_key(r: Result) -> str:
    return json.dumps(r.settings, sort_keys=True, default=str)


def _reproduced_rows(results: list[Result], fam: Family, options: Options) -> list[Row]:
    by_row: dict[tuple[str, str, str], list[Result]] = defaultdict(list)
    for r in results:
        by_row[(r.model, r.model_revision or "", _settings_key(r))].append(r)
    names = defaultdict(int)
    for model, _, _ in by_row:
        names[model] += 1
    rows = []
    for (model, revision, settings), group in sorted(by_row.items()):
        cells: dict[str, Cell] = {}
        files: dict[str, Result] = {}
        for r in sorted(group, key=lambda r: str(r.path)):
            column = column_of(r.family, r.task, r.language)
            if column in files:
                raise CodequarryError(f"two results for model {model!r} on {r.family} {column} "
                                      f"({r.protocol}, {r.split}): {files[column].path} and {r.path}; "
                                      "pass only one of them")
            files[column] = r
            cells[column] = Cell(value=r.score, ci=r.ci, per_query=r.per_query)
        cells = _collapse_groups(cells, fam, options)
        label = model
        if names[model] > 1:
            digest = hashlib.sha256(settings.encode()).hexdigest()[:8]
            label = f"{model} ({_short(revision) or 'no revision'}" + (f", settings {digest}" if settings != "{}" else "") + ")"
        dates = sorted(d[:10] for r in group if (d := r.date))
        rows.append(Row(model=label, provenance=REPRODUCED, cells=cells,
                        average=_reproduced_average(cells, fam, options), spec=group[0].model_spec,
                        model_revision=revision or None, date=dates[-1] if dates else None,
                        files=tuple(str(files[c].path) for c in sorted(files))))
    return rows


def _collapse_groups(cells: dict[str, Cell], fam: Family, options: Options) -> dict[str, Cell]:
    """Replace a complete set of subset cells (CoIR's six CodeSearchNet folders) by their mean in the group column."""
    out = dict(cells)
    for group, members in fam.groups:
        if group in out or not all(m in out for m in members):
            continue
        parts = [out.pop(m) for m in members]
        ci = None
        if all(p.per_query for p in parts):
            groups = [[p.per_query[q] for q in sorted(p.per_query)] for p in parts]
            ci = stats.stratified_bootstrap_ci(groups, resamples=options.bootstrap_resamples, seed=options.seed)
        out[group] = Cell(value=sum(p.value for p in parts) / len(parts), ci=ci,
                          note=f"mean of {', '.join(members)}")
    return out


def _short(revision: str) -> str:
    return revision[:10] if re.fullmatch(r"[0-9a-f]{40}", revision) else revision


def _reproduced_average(cells: dict[str, Cell], fam: Family, options: Options) -> Cell | None:
    if not fam.average or len(fam.columns) < 2 or any(c not in cells for c in fam.columns):
        return None
    value = sum(cells[c].value for c in fam.columns) / len(fam.columns)
    ci = None
    if all(cells[c].per_query for c in fam.columns):
        groups = [[cells[c].per_query[q] for q in sorted(cells[c].per_query)] for c in fam.columns]
        ci = stats.stratified_bootstrap_ci(groups, resamples=options.bootstrap_resamples, seed=options.seed)
    return Cell(value=value, ci=ci, note="mean of the columns; CI by bootstrap within each column" if ci else
                "mean of the columns")


def _reported_row(e: Reported, fam: Family) -> Row:
    cells = {c: Cell(value=e.native(c), scale=e.scale, decimals=e.decimals(c))
             for c in e.values if c not in AVERAGE_KEYS}
    average = None
    for key in AVERAGE_KEYS:
        if key in e.values:
            average = Cell(value=e.native(key), scale=e.scale, decimals=e.decimals(key), note=f"reported {key}")
    if average is None and fam.average and len(fam.columns) > 1 and all(c in cells for c in fam.columns):
        value = sum(cells[c].value for c in fam.columns) / len(fam.columns)
        average = Cell(value=value, scale=e.scale, decimals=max(cells[c].decimals or 0 for c in fam.columns) + 1,
                       note="mean of the reported columns")
    return Row(model=e.model, provenance=REPORTED, cells=cells, average=average, paper=e.paper, year=e.year,
               url=e.url, read_from=e.read_from, notes=e.notes, aliases=e.aliases)


def _main_column(rows: list[Row], columns: tuple[str, ...], has_average: bool) -> str:
    filled = {c: sum(1 for r in rows if c in r.cells) for c in columns}
    present = [c for c in columns if filled[c]]
    if len(present) == 1 and not (has_average and any(r.average for r in rows)):
        return present[0]
    if has_average and any(r.average is not None for r in rows):
        return AVG
    return max(columns, key=lambda c: filled[c]) if columns else AVG


def _rank(rows: list[Row], main_column: str) -> list[Row]:
    def main_of(row: Row) -> float | None:
        cell = row.cell(main_column)
        return cell.value if cell is not None else None

    def order(row: Row) -> tuple:
        main = main_of(row)
        return (main is None, -(main or 0.0), row.provenance != REPRODUCED, row.model.casefold(), row.model)

    ranked: list[Row] = []
    previous: float | None = None
    rank = 0
    for i, row in enumerate(sorted(rows, key=order), start=1):
        main = main_of(row)
        if main is None:
            ranked.append(replace(row, rank=None, main=None))
            continue
        key = round(main, 9)
        if key != previous:
            rank, previous = i, key
        ranked.append(replace(row, rank=rank, main=main))
    return ranked


def _significance(rows: list[Row], columns: tuple[str, ...], options: Options) -> tuple[list[Row], list[str]]:
    """Mark, per column, reproduced rows whose per-query scores differ from the best reproduced row's."""
    notes: list[str] = []
    updates: dict[tuple[int, str], Cell] = {}
    for column in columns:
        candidates = [(i, r.cells[column]) for i, r in enumerate(rows)
                      if r.provenance == REPRODUCED and column in r.cells]
        if len(candidates) < 2:
            continue
        best_i, best = max(candidates, key=lambda ic: (ic[1].value, -ic[0]))
        if not best.per_query:
            notes.append(f"{column}: no significance test (the best reproduced row has no per-query scores)")
            continue
        updates[(best_i, column)] = replace(best, best=True)
        tested: list[tuple[int, Cell, float]] = []
        for i, cell in candidates:
            if i == best_i:
                continue
            if not cell.per_query:
                updates[(i, column)] = replace(cell, note="not tested: no per-query scores")
            elif set(cell.per_query) != set(best.per_query):
                updates[(i, column)] = replace(cell, note="not tested: query ids differ from the best row's")
            else:
                qids = sorted(best.per_query)
                p = paired_randomization_test([cell.per_query[q] for q in qids], [best.per_query[q] for q in qids],
                                              permutations=options.resamples, seed=options.seed)
                tested.append((i, cell, p))
        adjusted = holm({str(i): p for i, _, p in tested})
        for i, cell, _ in tested:
            updates[(i, column)] = replace(cell, p_value=adjusted[str(i)], significant=adjusted[str(i)] < options.alpha)
    out = []
    for i, row in enumerate(rows):
        changed = {c: updates[(i, c)] for c in row.cells if (i, c) in updates}
        out.append(replace(row, cells={**row.cells, **changed}) if changed else row)
    return out, notes


def _notes(results: Iterable[Result], protocol: str, columns: tuple[str, ...]) -> list[str]:
    notes = []
    if protocol not in protocols():
        notes.append(f"protocol {protocol!r} is not one of the known protocol ids (docs/formats.md §4)")
    prints: dict[str, set[str]] = defaultdict(set)
    for r in results:
        prints[column_of(r.family, r.task, r.language)].add(r.data_fingerprint or "unknown")
    for column in columns:
        if len(prints.get(column, ())) > 1:
            notes.append(f"{column}: reproduced results come from {len(prints[column])} different data "
                         "fingerprints (different dataset versions); compare with care")
    return notes


def display_decimals(cell: Cell, unit: int) -> int:
    """Decimals to show: reported numbers keep their written precision, reproduced ones get 4 (×1) or 2 (×100)."""
    if cell.decimals is None:
        return 2 if unit == 100 else 4
    shift = round(math.log10(cell.scale)) - round(math.log10(unit))
    return max(0, cell.decimals + shift)


def format_value(cell: Cell | None, unit: int) -> str:
    """A cell's value in the table's unit, as text ('' for a blank cell)."""
    if cell is None:
        return ""
    return f"{cell.value * unit:.{display_decimals(cell, unit)}f}"


def format_ci(cell: Cell | None, unit: int) -> str:
    """A cell's 95% interval in the table's unit, as "[low, high]" ('' when unknown)."""
    if cell is None or cell.ci is None:
        return ""
    d = display_decimals(cell, unit)
    return f"[{cell.ci[0] * unit:.{d}f}, {cell.ci[1] * unit:.{d}f}]"


def marker(cell: Cell | None) -> str:
    """'†' when the cell differs significantly from its column's best reproduced row."""
    return "†" if cell is not None and cell.significant else ""


RULES = (
    "Rows marked *reproduced* were run by codequarry (95% bootstrap CI in brackets); *reported* rows are "
    "copied from the cited source.",
    "avg = mean over the family's columns, shown only when a row has all of them (a reported average is shown "
    "as reported).",
    "Equal main values share a rank (1, 1, 3). † = differs from the column's best reproduced row "
    "(paired randomization test on the same queries, Holm-corrected within the column).",
)
