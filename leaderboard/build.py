"""build_leaderboard: results + the papers registry → tables, plots and files in every requested format."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from codequarry.errors import CodequarryError
from codequarry.leaderboard.compare import compare_reported as _compare
from codequarry.leaderboard.formats import Board, csv_text, json_text, latex, markdown
from codequarry.leaderboard.papers import load_papers
from codequarry.leaderboard.results import collect_results
from codequarry.leaderboard.tables import Options, build_tables

FORMATS = ("md", "csv", "tex", "html", "json")
FILE_NAMES = {"md": "leaderboard.md", "csv": "leaderboard.csv", "tex": "leaderboard.tex", "html": "index.html",
              "json": "leaderboard.json"}
DEFAULT_TITLE = "Code search leaderboard"


def parse_formats(formats: str | Iterable[str]) -> tuple[str, ...]:
    """Normalize "md,html" or ["md", "html"] and reject unknown names."""
    items = formats.split(",") if isinstance(formats, str) else list(formats)
    chosen = tuple(dict.fromkeys(f.strip().lower() for f in items if f.strip()))
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown or not chosen:
        raise CodequarryError(f"unknown format(s) {', '.join(unknown) or '(none given)'}; choose from "
                              f"{','.join(FORMATS)}")
    return chosen


def prepare_board(result_paths: Sequence[str | Path], *, compare_reported: bool = False,
                  include_reported: bool = True, title: str | None = None, papers: str | Path | None = None,
                  options: Options | None = None, metrics: Sequence[str] = ()) -> Board:
    """Load results and the registry and build the tables (and the comparison when asked).

    ``metrics`` (e.g. recall@1, recall@10) adds a table per extra metric for the results that report it."""
    from codequarry import __version__

    results, skipped = collect_results(result_paths, metrics)
    registry = load_papers(papers)
    if not results and not include_reported:
        raise CodequarryError("no result files found and --no-reported given: nothing to show; pass result JSON "
                              "files or folders written by `codequarry bench`")
    shown = registry if include_reported else []
    tables = build_tables(results, shown, options)
    comparisons = not_comparable = None
    if compare_reported:
        full = tables if include_reported else build_tables(results, registry, options)
        comparisons, not_comparable = _compare(full, registry)
    return Board(title=title or DEFAULT_TITLE, tables=tables, comparisons=comparisons,
                 not_comparable=not_comparable or (), skipped=skipped, num_results=len(results),
                 num_reported=len(shown), version=__version__)


def write_board(board: Board, out_dir: str | Path, formats: str | Iterable[str] = FORMATS) -> dict[str, list[Path]]:
    """Write the chosen formats (plus PNG/SVG charts when md or html is chosen) into out_dir."""
    chosen = parse_formats(formats)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CodequarryError(f"cannot create output folder {out}: {exc.strerror or exc}") from None
    written: dict[str, list[Path]] = {}
    svg_files: dict[str, Path] = {}
    if "md" in chosen or "html" in chosen:
        from codequarry.leaderboard.plots import draw
        from codequarry.progress import progress

        plots: dict[str, str] = {}
        for t in progress(board.tables, desc="plots", unit="table"):
            drawn = draw(t, out / "plots" / t.id)
            if drawn:
                written.setdefault("plots", []).extend(drawn)
                svg_files[t.id] = drawn[1]
                plots[t.id] = f"plots/{t.id}"
        board = replace(board, plots=plots)
    for fmt in chosen:
        if fmt == "html":
            from codequarry.leaderboard.html import render_html

            text = render_html(board, svg_files)
        else:
            text = {"md": markdown, "csv": csv_text, "tex": latex, "json": json_text}[fmt](board)
        path = out / FILE_NAMES[fmt]
        path.write_text(text, encoding="utf-8")
        written[fmt] = [path]
    return written


def build_leaderboard(result_paths: Sequence[str | Path], out_dir: str | Path,
                      formats: str | Iterable[str] = FORMATS, compare_reported: bool = False, *,
                      include_reported: bool = True, title: str | None = None, papers: str | Path | None = None,
                      unit: str | int = "auto", metrics: Sequence[str] = ()) -> dict[str, list[Path]]:
    """Results (files or folders) + the papers registry → leaderboard files in out_dir; returns written paths
    by format ("md", "csv", "tex", "html", "json", and "plots")."""
    parse_formats(formats)  # fail before any work
    board = prepare_board(result_paths, compare_reported=compare_reported, include_reported=include_reported,
                          title=title, papers=papers, options=Options(unit=unit), metrics=metrics)
    return write_board(board, out_dir, formats)
