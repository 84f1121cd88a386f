"""CLI: ``codequarry clean``."""

from __future__ import annotations

import argparse

from codequarry.errors import NotYetImplemented


def _todo(args: argparse.Namespace) -> int:
    raise NotYetImplemented(f"`codequarry {args.command}` is not implemented yet")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("clean", help="filter, annotate, deduplicate and split a pairs dir",
                       description="Clean a pairs dir with a recipe.")
    p.add_argument("input")
    p.add_argument("--out", required=True)
    p.set_defaults(func=_todo)
