"""``codequarry demo``: the whole chain on the installed Python standard library."""

from __future__ import annotations

import argparse

from codequarry.errors import NotYetImplemented


def _todo(args: argparse.Namespace) -> int:
    raise NotYetImplemented("`codequarry demo` is not implemented yet")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run build → clean → bench → leaderboard on the standard library",
                       description="Run the whole chain on code every machine has.")
    p.add_argument("--out", default="codequarry-demo", help="folder for everything the demo writes")
    p.set_defaults(func=_todo)
