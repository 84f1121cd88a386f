"""CLI: ``codequarry leaderboard RESULTS... --out DIR`` (a thin skin over codequarry.leaderboard.build)."""

from __future__ import annotations

import argparse

from codequarry import options
from codequarry.leaderboard.table_options import Options

FORMATS = "md,csv,tex,html,json"

DESCRIPTION = """\
Render result files (from `codequarry bench`) and the numbers papers report (leaderboard/papers.yaml)
as protocol-aware tables: Markdown, CSV, LaTeX (booktabs), JSON and a static HTML board with charts.

Each table holds one task family, protocol, metric and split; rows are marked reproduced (with 95% CI)
or reported (with citation). Without RESULTS the board shows the reported numbers only.

examples:
  codequarry leaderboard results/ --out board/
  codequarry leaderboard results/ --out board/ --format md,html --compare-reported
"""


def _run(args: argparse.Namespace) -> int:
    from codequarry.leaderboard.build import parse_formats, prepare_board, write_board
    from codequarry.leaderboard.formats import markdown_comparison, markdown_table, table_heading

    formats = parse_formats(args.format)
    board = prepare_board(args.results, compare_reported=args.compare_reported,
                          include_reported=not args.no_reported, title=args.title, papers=args.papers,
                          options=Options(**options.values_from_args(Options, args)),
                          metrics=[m.strip() for m in args.metrics.split(",") if m.strip()])
    written = write_board(board, args.out, formats)
    for t in board.tables:
        print(f"## {table_heading(t)}\n\n{markdown_table(t)}\n")
    if board.comparisons is not None:
        print(markdown_comparison(board) + "\n")
    for s in board.skipped:
        print(f"skipped {s.path}: {s.reason}")
    for fmt, paths in written.items():
        shown = paths[0] if len(paths) == 1 else f"{len(paths)} files in {paths[0].parent}"
        print(f"wrote {fmt}: {shown}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("leaderboard", help="render results and papers' numbers as tables and an HTML board",
                       description=DESCRIPTION)
    p.add_argument("results", nargs="*", metavar="RESULTS",
                   help="result JSON files or folders holding them (searched recursively)")
    p.add_argument("--out", required=True, metavar="DIR", help="folder to write the leaderboard files into")
    p.add_argument("--format", default=FORMATS, metavar="LIST",
                   help=f"comma-separated formats among {FORMATS} (default: all); md and html also write "
                        "PNG/SVG charts under DIR/plots")
    p.add_argument("--compare-reported", action="store_true",
                   help="add a section with reproduced − reported for models the papers registry also reports "
                        "under the same protocol, flagging deviations outside the 95%% CI")
    p.add_argument("--no-reported", action="store_true", help="show reproduced results only (no papers' rows)")
    p.add_argument("--metrics", default="", metavar="LIST",
                   help="also a table per extra metric the results report, e.g. recall@1,recall@10 (default: each "
                        "task's main metric only)")
    p.add_argument("--title", default=None, help="page and document title (default: 'Code search leaderboard')")
    p.add_argument("--papers", default=None, metavar="FILE",
                   help="papers registry YAML to use instead of the packaged leaderboard/papers.yaml")
    options.add_arguments(p, Options)  # --unit, --alpha, --resamples
    p.set_defaults(func=_run)
