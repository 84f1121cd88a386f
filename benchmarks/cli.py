"""CLI: ``codequarry tasks``, ``bench``, ``compare`` and ``train``."""

from __future__ import annotations

import argparse

from codequarry.errors import NotYetImplemented


def _todo(args: argparse.Namespace) -> int:
    raise NotYetImplemented(f"`codequarry {args.command}` is not implemented yet")


def register(sub: argparse._SubParsersAction) -> None:
    for name, text in (("tasks", "list the registered benchmark tasks"), ("bench", "score a model on a task"),
                       ("compare", "significance test between two result sets"),
                       ("train", "fine-tune a code-search model on a pairs dir")):
        p = sub.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
        p.set_defaults(func=_todo)
