"""Bar charts per table (PNG and SVG, matplotlib without pyplot): solid bars with 95% CI whiskers for
reproduced rows, hatched bars for reported ones."""

from __future__ import annotations

from pathlib import Path

from codequarry.leaderboard.tables import AVG, REPRODUCED, Row, Table, format_value

REPRODUCED_COLOR = "#2b6cb0"
REPORTED_COLOR = "#e2e8f0"
REPORTED_EDGE = "#718096"
MAX_LABEL = 60


def plot_column(t: Table) -> str:
    """The column a table's chart shows: the main column, unless some reproduced row lacks it; then the
    column most reproduced rows fill (so every reproduced run gets a bar)."""
    reproduced = [r for r in t.rows if r.provenance == REPRODUCED]
    if all(r.cell(t.main_column) is not None for r in reproduced):
        return t.main_column
    counts = {c: sum(1 for r in reproduced if r.cell(c) is not None) for c in t.all_columns}
    return max(t.all_columns, key=lambda c: counts[c])


def plotted_rows(t: Table, column: str) -> list[Row]:
    """Rows with a value in the column, best first."""
    rows = [r for r in t.rows if r.cell(column) is not None]
    return sorted(rows, key=lambda r: -r.cell(column).value)


def _label(text: str) -> str:
    text = text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"
    return text.replace("$", r"\$")  # model names are text, never mathtext


def draw(t: Table, out_base: Path) -> tuple[Path, Path] | None:
    """Write out_base.png and out_base.svg for a table; None when no row has a value to plot."""
    from matplotlib import rc_context
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    column = plot_column(t)
    rows = plotted_rows(t, column)
    if not rows:
        return None
    unit = t.unit
    values = [r.cell(column).value * unit for r in rows]
    fig = Figure(figsize=(8.0, 1.6 + 0.32 * len(rows)), layout="constrained")
    ax = fig.add_subplot()
    positions = list(range(len(rows)))[::-1]
    for pos, row, value in zip(positions, rows, values):
        cell = row.cell(column)
        if row.provenance == REPRODUCED:
            err = None
            if cell.ci is not None:
                low, high = cell.ci[0] * unit, cell.ci[1] * unit
                err = [[max(0.0, value - low)], [max(0.0, high - value)]]
            ax.barh(pos, value, color=REPRODUCED_COLOR, xerr=err, capsize=3,
                    error_kw={"elinewidth": 1.2, "ecolor": "#1a202c"})
        else:
            ax.barh(pos, value, color=REPORTED_COLOR, edgecolor=REPORTED_EDGE, hatch="///", linewidth=0.8)
        end = max(value, cell.ci[1] * unit) if row.provenance == REPRODUCED and cell.ci else value
        ax.text(end, pos, f"  {format_value(cell, unit)}", va="center", ha="left", fontsize=8, color="#2d3748")
    ax.set_yticks(positions, [_label(r.model) for r in rows], fontsize=8)
    top = max(values + [(r.cell(column).ci or (0, 0))[1] * unit for r in rows])
    ax.set_xlim(0, max(top * 1.18, 1e-9))
    ax.set_xlabel(f"{t.metric} ({t.unit_label})" + ("" if column == t.main_column else f" — column {column}"))
    which = "average" if column == AVG else column
    fig.suptitle(_label(t.title) + "\n" + _label(f"{t.protocol} · {which} · {t.split} split"), fontsize=10)
    ax.grid(axis="x", color="#e2e8f0", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.legend(handles=[Patch(color=REPRODUCED_COLOR, label="reproduced (95% CI)"),
                       Patch(facecolor=REPORTED_COLOR, edgecolor=REPORTED_EDGE, hatch="///", label="reported")],
               loc="outside lower center", ncols=2, fontsize=8, frameon=False)
    out_base.parent.mkdir(parents=True, exist_ok=True)
    png, svg = out_base.with_suffix(".png"), out_base.with_suffix(".svg")
    with rc_context({"svg.hashsalt": "codequarry"}):  # stable element ids: same table, same SVG bytes
        fig.savefig(png, dpi=110, metadata={"Software": None})
        fig.savefig(svg, metadata={"Date": None, "Creator": None})
    return png, svg
