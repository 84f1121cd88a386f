"""CLI: ``codequarry sources`` and ``codequarry build SOURCE``."""

from __future__ import annotations

import argparse

from codequarry.errors import NotYetImplemented


def _todo(args: argparse.Namespace) -> int:
    raise NotYetImplemented(f"`codequarry {args.command}` is not implemented yet")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sources", help="list the sources that `build` can read", description="List the registered sources.")
    p.set_defaults(func=_todo)
    p = sub.add_parser("build", help="read a source into a pairs dir", description="Read a source into a pairs dir.")
    p.add_argument("source")
    p.set_defaults(func=_todo)
