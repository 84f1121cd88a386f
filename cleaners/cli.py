"""CLI: ``codequarry clean IN --out DIR [--recipe FILE | --preset NAME] [--set STEP.PARAM=VALUE ...] [--engine local|ray]
[--workers N]``."""

from __future__ import annotations

import argparse
import sys
import time

from codequarry.errors import CodequarryError
from codequarry.pairs_layout import DEFAULT_VERIFY, VERIFY_HELP, VERIFY_LEVELS

EPILOG = """\
examples:
  codequarry clean pairs/ --out clean/                    the default preset, local engine
  codequarry clean pairs/ --out clean/ --preset csn       CodeSearchNet's rules
  codequarry clean pairs/ --out clean/ --recipe my.yaml --workers 2
  codequarry clean pairs/ --out clean/ --set split.mode=file --set near_dedup.threshold=0.8
  codequarry clean --list-steps | --list-presets

An interrupted local run resumes when the same command is run again. The output holds the
cleaned pairs dir, exclusions/ (every dropped row with its step and reason), report.md and
report.png; the manifest (codequarry.json) records the recipe with every parameter.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("clean", help="filter, annotate, deduplicate and split a pairs dir",
                       description="Clean a pairs dir with a recipe of steps (filters, annotators, dedup, split …).",
                       epilog=EPILOG)
    p.add_argument("input", nargs="?", help="the pairs dir to clean (written by `codequarry build` or `clean`)")
    p.add_argument("--out", help="output folder for the cleaned pairs dir, exclusions and report")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--recipe", metavar="FILE", help="a recipe YAML file (steps with their parameters)")
    g.add_argument("--preset", metavar="NAME", help="a shipped recipe: default, csn or codexglue (default: default)")
    p.add_argument("--set", action="append", default=[], metavar="STEP.PARAM=VALUE", dest="overrides",
                   help="change one parameter of the preset or recipe (repeatable; VALUE is read as YAML and "
                        "checked against the step's parameter type), e.g. --set near_dedup.threshold=0.8 "
                        "--set split.mode=file")
    p.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="local processes (default, resumable) or Ray Data (pip install 'codequarry[ray]')")
    p.add_argument("--workers", type=int, default=1, metavar="N", help="worker processes / Ray CPUs (default 1)")
    p.add_argument("--batch-rows", type=int, default=None, metavar="N",
                   help="rows per batch, the unit of work and of resumption (default 10000)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output (or an unfinished run) in --out")
    p.add_argument("--verify", choices=VERIFY_LEVELS, default=DEFAULT_VERIFY, help=VERIFY_HELP)
    p.add_argument("--list-steps", action="store_true", help="list every step with its kind, description and parameters")
    p.add_argument("--list-presets", action="store_true", help="list the shipped presets")
    p.add_argument("--show-recipe", action="store_true", help="print the resolved recipe (every parameter) and exit")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.list_steps:
        from codequarry.cleaners.registry import describe_steps, format_steps

        print(format_steps(describe_steps()))
        return 0
    if args.list_presets:
        from codequarry.cleaners.recipe import list_presets

        for name, description in list_presets():
            print(f"{name:<12} {description}")
        return 0
    recipe, preset = args.recipe, args.preset
    if args.overrides:
        from codequarry.cleaners.overrides import recipe_with_overrides

        recipe, _ = recipe_with_overrides(recipe, preset, args.overrides)
        preset = None
    if args.show_recipe:
        from codequarry.cleaners.recipe import load_recipe

        print(load_recipe(recipe, preset).to_yaml(), end="")
        return 0
    if not args.input or not args.out:
        raise CodequarryError("give the input pairs dir and --out DIR (or --list-steps / --list-presets)")
    from pathlib import Path

    from codequarry.cleaners import clean
    from codequarry.cleaners.report import text_table

    start = time.monotonic()
    manifest = clean(args.input, args.out, recipe=recipe, preset=preset, engine=args.engine,
                     workers=args.workers, overwrite=args.overwrite, batch_rows=args.batch_rows, verify=args.verify)
    from codequarry.storage import is_uri

    out = str(args.out).rstrip("/") if is_uri(args.out) else str(Path(args.out))  # a path or an object-store URI
    print(text_table(manifest.get("steps", [])))
    counts = manifest.get("counts", {})
    print(f"\n{counts.get('written', 0):,} rows kept, {counts.get('excluded', 0):,} excluded "
          f"in {time.monotonic() - start:.1f} s → {out}")
    print(f"report: {out}/report.md (plot {out}/report.png); exclusions: {out}/exclusions")
    sys.stdout.flush()
    return 0
