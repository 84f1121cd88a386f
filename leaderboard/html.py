"""The static HTML board: one self-contained page (inline CSS, JS and base64 SVG charts) that works from file://."""

from __future__ import annotations

import base64
import re
from html import escape
from pathlib import Path

from codequarry.leaderboard.compare import deviation_text
from codequarry.leaderboard.formats import Board, column_label, details, table_heading
from codequarry.leaderboard.tables import AVG, REPORTED, RULES, Cell, Row, Table, format_ci, format_value

HERE = Path(__file__).resolve().parent
SAFE_SCHEMES = ("https://", "http://")
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


def esc(text: object) -> str:
    """HTML-escape text for element content and quoted attributes (model names come from files)."""
    return escape(str(text), quote=True)


def _asset(name: str) -> str:
    return (HERE / name).read_text(encoding="utf-8")


def _link(url: str, text: str) -> str:
    if url.startswith(SAFE_SCHEMES):
        return f'<a href="{esc(url)}" target="_blank" rel="noopener noreferrer">{esc(text)}</a>'
    return esc(text)


def _num_attr(value: float | None) -> str:
    return "" if value is None else repr(float(value))


def _value_td(cell: Cell | None, t: Table, column: str) -> str:
    if cell is None:
        return f'<td class="num" data-col="{esc(column)}" data-sort=""></td>'
    text = esc(format_value(cell, t.unit))
    if cell.best:
        text = f'<span class="best" title="best reproduced row in this column">{text}</span>'
    if cell.significant:
        text += f'<span class="sig" title="differs from the best reproduced row: Holm-adjusted p = {cell.p_value:.3g}">†</span>'
    ci = format_ci(cell, t.unit)
    if ci:
        text += f'<span class="ci">{esc(ci)}</span>'
    title = f' title="{esc(cell.note)}"' if cell.note else ""
    return f'<td class="num" data-col="{esc(column)}" data-sort="{_num_attr(cell.value)}"{title}>{text}</td>'


def _row(row: Row, t: Table) -> str:
    model = _link(row.url, row.model) if row.provenance == REPORTED and row.url else esc(row.model)
    if row.provenance == REPORTED:
        more = f"Read from {esc(row.read_from)}." + (f" {esc(row.notes)}" if row.notes else "")
        info = f"{esc(row.paper)} ({row.year})<details><summary>source</summary>{more}</details>"
    else:
        info = esc(details(row))
        if row.spec and row.spec != row.model:
            info += f"<br><code>{esc(row.spec)}</code>"
    cells = [f'<td class="num" data-sort="{row.rank or ""}">{row.rank or "–"}</td>',
             f'<td class="model" data-sort="{esc(row.model.casefold())}">{model}</td>',
             f'<td data-sort="{esc(row.provenance)}"><span class="badge {esc(row.provenance)}">{esc(row.provenance)}'
             "</span></td>",
             *[_value_td(row.cell(c), t, c) for c in t.all_columns],
             f'<td class="details">{info}</td>']
    return f'<tr class="{esc(row.provenance)}" data-provenance="{esc(row.provenance)}">' + "".join(cells) + "</tr>"


def _header(t: Table) -> str:
    def th(label: str, kind: str, col: str | None = None, first: str | None = None, tip: str = "") -> str:
        attrs = f' data-type="{kind}"' + (f' data-col="{esc(col)}"' if col else "")
        attrs += f' data-first="{first}"' if first else ""
        attrs += ' class="num"' if kind == "num" else ""
        attrs += f' title="{esc(tip)}"' if tip else ""
        attrs += ' aria-sort="ascending"' if label == "#" else ""
        return f'<th scope="col"{attrs}><button type="button">{esc(label)}</button></th>'

    cells = [th("#", "num", first="ascending", tip="rank by the main column"), th("Model", "text"),
             th("Provenance", "text")]
    for c in t.all_columns:
        tip = "mean over the family's columns (blank unless all are present)" if c == AVG else f"{t.metric} on {c}"
        cells.append(th(column_label(c), "num", col=c, tip=tip))
    cells.append(th("Details", "text"))
    return "<thead><tr>" + "".join(cells) + "</tr></thead>"


def _plot_img(path: Path | None, t: Table) -> str:
    if path is None or not path.is_file():
        return ""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    alt = f"Bar chart of {t.title}, {t.protocol}: reproduced rows with 95% CI whiskers, reported rows hatched"
    return (f'<figure class="plot"><img src="data:image/svg+xml;base64,{data}" alt="{esc(alt)}">'
            f"<figcaption>Solid bars: reproduced (95% CI whiskers); hatched bars: reported.</figcaption></figure>")


def _section(t: Table, plot_svg: Path | None) -> str:
    notes = "".join(f"<li>{esc(n)}</li>" for n in t.notes)
    return "\n".join([
        f'<section class="board ranked" data-task="{esc(t.id)}" id="{esc(t.id)}">',
        f"<h2>{esc(table_heading(t))}</h2>",
        f'<p class="protocol">Protocol <code>{esc(t.protocol)}</code>: {esc(t.protocol_description)}. '
        f"Metric <code>{esc(t.metric)}</code>, unit {esc(t.unit_label)}, main column "
        f"<strong>{esc(column_label(t.main_column))}</strong>.</p>",
        '<div class="table-wrap"><table class="lb">' + _header(t) + "<tbody>",
        *[_row(r, t) for r in t.rows],
        "</tbody></table></div>",
        _plot_img(plot_svg, t),
        f'<ul class="notes">{notes}</ul>' if notes else "",
        "</section>"])


def _compare_section(board: Board) -> str:
    if board.comparisons is None:
        return ""
    heads = ["Model", "Reported as", "Task / protocol / metric / split", "Column", "Reproduced [95% CI]",
             "Reported", "Reproduced − reported", "Status", "Source"]
    types = ["text", "text", "text", "text", "num", "num", "num", "text", "text"]
    head = "".join(f'<th scope="col" data-type="{k}"{" class=num" if k == "num" else ""}><button type="button">'
                   f"{esc(h)}</button></th>" for h, k in zip(heads, types))
    rows = []
    families = {t.id: t.family for t in board.tables}
    for c in board.comparisons:
        unit = c.unit
        d = 2 if unit == 100 else 4
        ci = f'<span class="ci">[{c.ci[0] * unit:.{d}f}, {c.ci[1] * unit:.{d}f}]</span>' if c.ci else ""
        status = f'<span class="status-flag">{esc(c.status)} ⚠</span>' if c.flagged else esc(c.status)
        rows.append(
            f'<tr class="{"flagged" if c.flagged else ""}" data-task="{esc(c.table)}">'
            f'<td data-sort="{esc(c.model.casefold())}">{esc(c.model)}</td>'
            f'<td data-sort="{esc(c.reported_model.casefold())}">{esc(c.reported_model)}</td>'
            f'<td data-sort="{esc(c.table)}">{esc(families.get(c.table, ""))} / <code>{esc(c.protocol)}</code> / '
            f"{esc(c.metric)} / {esc(c.split)}</td>"
            f'<td data-sort="{esc(c.column)}">{esc(column_label(c.column))}</td>'
            f'<td class="num" data-sort="{_num_attr(c.reproduced)}">{c.reproduced * unit:.{d}f}{ci}</td>'
            f'<td class="num" data-sort="{_num_attr(c.reported)}">{esc(c.reported_text)}</td>'
            f'<td class="num" data-sort="{_num_attr(c.difference)}">{esc(deviation_text(c, unit))}</td>'
            f'<td data-sort="{esc(c.status)}">{status}</td>'
            f"<td>{_link(c.url, c.paper)}<br><small>{esc(c.read_from)}</small></td></tr>")
    body = "".join(rows) or '<tr><td colspan="9">No reproduced model is also in the papers registry under the same protocol.</td></tr>'
    others = ""
    if board.not_comparable:
        items = "".join(f"<li>{esc(n.model)} ~ {esc(n.reported_model)}: reported under <code>{esc(n.reported_under)}</code> "
                        f"({esc(n.paper)}); reproduced under <code>{esc(n.reproduced_under)}</code></li>"
                        for n in board.not_comparable)
        others = f"<h3>Also reported under another task, protocol, metric or split (not compared)</h3><ul>{items}</ul>"
    return (f'<section class="compare" id="compare-reported"><h2>Reproduced vs reported</h2>'
            '<p class="protocol">Same model (by name or registry alias), task, protocol, metric, split and column. '
            "Flagged: the reported number (± half its last digit) lies outside the reproduced 95% CI.</p>"
            f'<div class="table-wrap"><table class="lb"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
            f"</div>{others}</section>")


def render_html(board: Board, plot_files: dict[str, Path] | None = None) -> str:
    """The whole page as one string; plot_files maps table id to its SVG file (embedded as base64)."""
    plot_files = plot_files or {}
    columns: list[str] = []
    for kind in ("language", "dataset"):
        for t in board.tables:
            columns += [c for c in t.columns if c not in columns and t.column_kind == kind]
    task_options = "\n".join(f'      <option value="{esc(t.id)}">{esc(table_heading(t))}</option>'
                             for t in board.tables)
    column_options = "\n".join(f'    <label><input type="checkbox" value="{esc(c)}" checked> {esc(c)}</label>'
                               for c in columns)
    sections = [_section(t, plot_files.get(t.id)) for t in board.tables]
    if not board.tables:
        sections.append('<p class="protocol">No results and no reported numbers to show.</p>')
    sections.append(_compare_section(board))
    if board.skipped:
        items = "".join(f"<li><code>{esc(s.path)}</code>: {esc(s.reason)}</li>" for s in board.skipped)
        sections.append(f'<section class="skipped"><h2>Files skipped</h2><ul class="notes">{items}</ul></section>')
    meta = (f"Generated by codequarry {board.version} from {board.num_results} result file(s) and "
            f"{board.num_reported} reported number set(s). Every row says whether it was reproduced here or "
            "reported, and under which protocol.")
    fills = {"title": esc(board.title), "version": esc(board.version), "meta": esc(meta),
             "task_options": task_options, "column_options": column_options, "sections": "\n".join(sections),
             "rules": "\n".join(f"    <li>{_emphasis(esc(r))}</li>" for r in RULES), "css": _asset("board.css"),
             "js": _asset("board.js")}
    return _PLACEHOLDER.sub(lambda m: fills[m.group(1)], _asset("board.html"))  # one pass: values are not rescanned


def _emphasis(escaped: str) -> str:
    """The rules are written in Markdown: render their *emphasis* (text already escaped)."""
    return re.sub(r"\*([^*\s][^*]*)\*", r"<em>\1</em>", escaped)
