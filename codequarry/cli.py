"""The ``codequarry`` command: a thin skin over library calls, one module per stage registers its commands.

Every command module exposes ``register(subparsers)``; it must import only light modules at
import time (heavy libraries are imported inside the command), so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from codequarry import __version__
from codequarry.errors import CodequarryError

#: Modules that add subcommands, in the order they appear in ``codequarry --help``.
COMMAND_MODULES: tuple[str, ...] = (
    "codequarry.builders.cli",  # sources, build
    "codequarry.cleaners.cli",  # clean
    "codequarry.benchmarks.cli",  # tasks, bench, compare, train
    "codequarry.fetch.cli",  # download, export
    "codequarry.leaderboard.cli",  # leaderboard
    "codequarry.dataset_cards.cli",  # card, publish
    "codequarry.demo",  # demo
)

DESCRIPTION = """\
Build, clean, publish and benchmark natural-language ↔ code search datasets.

  sources | tasks                      list what can be built / benchmarked
  build SOURCE ... --out DIR           read a source into a pairs dir
  clean IN --out DIR [--preset NAME]   filter, annotate, deduplicate, split
  bench --model SPEC --task NAME|DIR   score a model under a published protocol
  leaderboard RESULTS... --out DIR     tables and an HTML board from results
  card DIR | publish DIR --repo-id ID  dataset card and Hugging Face Hub upload
  demo [--out DIR]                     the whole chain on code every machine has

Run `codequarry COMMAND --help` for each command's options.
"""


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=32, width=min(110, max(60, _columns())))


def _columns() -> int:
    try:
        return os.get_terminal_size().columns
    except OSError:
        return 100


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="codequarry", description=DESCRIPTION, formatter_class=_Formatter)
    parser.add_argument("--version", action="version", version=f"codequarry {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    for action in sub.choices.values():
        action.formatter_class = _Formatter
    return parser


def subcommands() -> dict[str, argparse.ArgumentParser]:
    """Every subcommand's parser by name (used by the docs/--help tests)."""
    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        code = args.func(args)
    except CodequarryError as exc:
        print(f"codequarry {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"codequarry {args.command}: interrupted (rerun the same command to resume where supported)", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    return int(code or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
