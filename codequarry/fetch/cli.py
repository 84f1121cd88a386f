"""CLI: ``codequarry download TASK...`` (pre-fetch pinned task data) and ``codequarry export`` (BEIR / Hub / MTEB)."""

from __future__ import annotations

import argparse
import sys

from codequarry.errors import CodequarryError

EXPORT_EPILOG = """\
formats:
  beir   a BEIR folder: corpus.jsonl, queries.jsonl, qrels/SPLIT.tsv (BEIR, CoIR and MTEB read it)
  hub    a Hub dataset repo in CoIR's layout (Parquet configs corpus / queries / default qrels, README.md);
         upload it with `codequarry publish DIR --layout retrieval` or `huggingface-cli upload`
  mteb   CoIR-protocol result JSON files (SOURCE: result files or folders) as MTEB result files
         (OUT/{task_name}.json)

examples:
  codequarry export cleaned/ --format beir --out cleaned-beir --split test
  codequarry export cosqa --format hub --out cosqa-retrieval --split dev
  codequarry export results/ --format mteb --out mteb-results
"""


def _add_download(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("download", help="fetch benchmark tasks' data into the cache (for machines without network)",
                       description="Fetch each task's pinned data sources (Hub datasets at a commit, URLs checked "
                                   "against their sha256) into the cache that `bench` reads when --data is absent. "
                                   "Copy the cache folder to an offline machine, or point CODEQUARRY_CACHE at it.")
    p.add_argument("tasks", nargs="+", metavar="TASK", help="task or family names (cosqa, csn, coir/cosqa, hub:OWNER/NAME)")
    p.add_argument("--cache-dir", metavar="DIR",
                   help="cache root (default: $CODEQUARRY_CACHE or ~/.cache/codequarry; data goes to DIR/data)")
    p.set_defaults(func=_run_download)


def _run_download(args: argparse.Namespace) -> int:
    from codequarry.benchmarks.tasks import resolve_tasks
    from codequarry.fetch import ManualDataError, data_root, fetch_task

    failed = 0
    for name in args.tasks:
        for task in resolve_tasks(name):
            try:
                where = fetch_task(task, cache_dir=args.cache_dir)
            except ManualDataError as exc:
                print(f"{task.name}: {exc}", file=sys.stderr)
                failed += 1
                continue
            if where is None:
                print(f"{task.name}: nothing to fetch (pass --data; {task.data_source})")
            elif isinstance(where, dict):
                print(f"{task.name}: " + ", ".join(f"{k or 'data'}={v}" for k, v in sorted(where.items())))
            else:
                print(f"{task.name}: {where}")
    print(f"cache: {data_root(args.cache_dir)}")
    return 2 if failed else 0


def _add_export(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="write a pairs dir or task as a BEIR folder / Hub retrieval repo; results for MTEB",
                       description="Export a pairs dir, registered task or BEIR folder (SOURCE) so that BEIR, CoIR and "
                                   "MTEB can load it, or CoIR-protocol results as MTEB result files.",
                       epilog=EXPORT_EPILOG)
    p.add_argument("source", metavar="SOURCE", help="pairs dir, task name or folder (mteb: result files/folders)",
                   nargs="+")
    p.add_argument("--format", choices=("beir", "hub", "mteb"), default="beir", help="output format (default: beir)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--split", help="split to export (default: the task's default, a pairs dir's test split)")
    p.add_argument("--data", action="append", metavar="PATH|NAME=PATH", help="the task's data, as for bench")
    p.add_argument("--force", action="store_true", help="write into a non-empty --out")
    p.set_defaults(func=_run_export)


def _run_export(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    if args.format == "mteb":
        from codequarry.benchmarks.results import load_results
        from codequarry.fetch.export import to_mteb_result

        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        results = load_results(args.source)
        if not results:
            raise CodequarryError(f"no result files in {', '.join(args.source)}")
        for r in results:
            entry = to_mteb_result(r)
            path = out / f"{entry['task_name']}.json"
            path.write_text(json.dumps(entry, indent=2) + "\n", encoding="utf-8")
            print(f"mteb result: {path}")
        return 0
    if len(args.source) != 1:
        raise CodequarryError("export --format beir|hub takes one SOURCE")
    from codequarry.benchmarks.cli import _data_arg
    from codequarry.benchmarks.tasks import load_task
    from codequarry.fetch.export import write_beir, write_retrieval_repo

    data = load_task(args.source[0], _data_arg(args.data), args.split)
    writer = write_beir if args.format == "beir" else write_retrieval_repo
    out = writer(data, args.out, split=data.meta.get("split") or args.split, force=args.force)
    print(f"{args.format}: {out} ({data.meta['num_queries']} queries, {data.meta['num_docs']} documents, "
          f"split {data.meta.get('split') or 'test'})")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    _add_download(sub)
    _add_export(sub)
