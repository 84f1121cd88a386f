"""CLI: ``codequarry card`` and ``codequarry publish``."""

from __future__ import annotations

import argparse

from codequarry.errors import NotYetImplemented


def _todo(args: argparse.Namespace) -> int:
    raise NotYetImplemented(f"`codequarry {args.command}` is not implemented yet")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("card", help="write the dataset card of a pairs dir", description="Write a dataset card.")
    p.add_argument("dir")
    p.set_defaults(func=_todo)
    p = sub.add_parser("publish", help="upload a pairs dir to the Hugging Face Hub", description="Publish a pairs dir.")
    p.add_argument("dir")
    p.set_defaults(func=_todo)
