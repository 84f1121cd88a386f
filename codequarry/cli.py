"""The ``codequarry`` command: a thin skin over library calls, one module per stage registers its commands.

Every command module exposes ``register(subparsers)``; it must import only light modules at
import time (heavy libraries are imported inside the command), so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
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

Run `codequarry COMMAND --help` for each command's options. -v/-q (before or after COMMAND) make
codequarry say more (-v: what it is doing, -vv: debugging detail) or only errors (-q, no progress bars).
"""

#: the logger every codequarry module logs under (``logging.getLogger(__name__)`` inside the package)
LOGGER = "codequarry"


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=32, width=min(110, max(60, _columns())))


def _columns() -> int:
    try:
        return os.get_terminal_size().columns
    except OSError:
        return 100


def _add_verbosity(parser: argparse.ArgumentParser, default: object) -> None:
    g = parser.add_mutually_exclusive_group()
    g.add_argument("-v", "--verbose", action="count", default=default,
                   help="say what codequarry is doing (-vv: debugging detail)")
    g.add_argument("-q", "--quiet", action="store_true", default=default,
                   help="print only errors and results: no warnings, no progress bars")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="codequarry", description=DESCRIPTION, formatter_class=_Formatter)
    parser.add_argument("--version", action="version", version=f"codequarry {__version__}")
    _add_verbosity(parser, None)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    for action in sub.choices.values():
        action.formatter_class = _Formatter
        _add_verbosity(action, argparse.SUPPRESS)  # also accepted after the command; the top-level value otherwise
    return parser


def configure_logging(verbose: int = 0, quiet: bool = False) -> logging.Logger:
    """Send the ``codequarry`` logger to stderr: warnings by default, info with -v, debug with -vv, errors with -q.

    Progress bars follow the same switch (``codequarry.progress`` is off when the logger is quieter than
    warnings). Returns the logger; calling it again replaces the handler, never stacks a second one.
    """
    level = logging.ERROR if quiet else {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    log = logging.getLogger(LOGGER)
    for h in [h for h in log.handlers if getattr(h, "_codequarry_cli", False)]:
        log.removeHandler(h)
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("codequarry: %(levelname)s: %(message)s" if level > logging.DEBUG
                                           else "codequarry: %(levelname)s: %(name)s: %(message)s"))
    handler._codequarry_cli = True  # type: ignore[attr-defined]
    log.addHandler(handler)
    log.setLevel(level)
    return log


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time of the record (it may be swapped, e.g. by tests)."""

    def __init__(self) -> None:
        super().__init__()

    @property  # type: ignore[override]
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, value: object) -> None:
        pass


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
    configure_logging(args.verbose or 0, bool(args.quiet))
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
