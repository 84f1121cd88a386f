"""CLI: ``codequarry leaderboard``."""

from __future__ import annotations

import argparse

from codequarry.errors import NotYetImplemented


def _todo(args: argparse.Namespace) -> int:
    raise NotYetImplemented(f"`codequarry {args.command}` is not implemented yet")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("leaderboard", help="render results and papers' numbers as tables and an HTML board",
                       description="Render a leaderboard.")
    p.add_argument("results", nargs="*")
    p.set_defaults(func=_todo)
