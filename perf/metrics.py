"""Metric speed: codequarry.benchmarks.metrics.evaluate vs pytrec_eval on a large run, values checked equal.

pytrec_eval's time includes building its evaluator from the qrels (it must, to score a run), as ours
does. Target (issue 5): at least pytrec_eval's speed on 10k queries x 1k docs.

    python perf/metrics.py                         # 10k queries x 1k docs per query
    python perf/metrics.py --queries 2000 --ties   # scores drawn from 5 values: many ties
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

MEASURES = {"mrr": "recip_rank", "ndcg@10": "ndcg_cut.10", "map": "map", "recall@100": "recall.100", "p@10": "P.10"}


def _data(queries: int, docs: int, relevant: int, ties: bool, seed: int):
    rng = np.random.default_rng(seed)
    pool = [f"doc{i}" for i in range(max(50_000, docs * 2))]
    qrels, run = {}, {}
    for q in range(queries):
        qid = f"q{q}"
        picked = rng.choice(len(pool), docs + relevant, replace=False)
        scores = rng.integers(0, 5, docs).astype(float) if ties else rng.random(docs)
        run[qid] = dict(zip((pool[i] for i in picked[:docs]), scores.tolist()))
        judged = list(picked[relevant // 2: relevant // 2 + relevant])  # some retrieved, some not
        qrels[qid] = {pool[i]: int(rng.integers(1, 4)) for i in judged}
    return qrels, run


def _best(fn, repeats: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--queries", type=int, default=10_000, help="queries (default 10000)")
    ap.add_argument("--docs", type=int, default=1000, help="retrieved docs per query (default 1000)")
    ap.add_argument("--relevant", type=int, default=4, help="judged docs per query (default 4)")
    ap.add_argument("--ties", action="store_true", help="draw scores from 5 values (tie-heavy run)")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs; the best is reported (default 3)")
    ap.add_argument("--seed", type=int, default=0, help="data seed (default 0)")
    args = ap.parse_args()

    import pytrec_eval

    from codequarry.benchmarks.metrics import evaluate

    qrels, run = _data(args.queries, args.docs, args.relevant, args.ties, args.seed)
    print(f"{args.queries} queries x {args.docs} docs ({'tie-heavy' if args.ties else 'continuous'} scores), "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    print("| measure | codequarry s | pytrec_eval s | speed-up | max abs diff |")
    print("|---|---:|---:|---:|---:|")
    rows = [[m] for m in MEASURES] + [list(MEASURES)]
    for ms in rows:
        spec = {MEASURES[m] for m in ms}
        ours_t, ours = _best(lambda ms=ms: evaluate(qrels, run, ms, averaging="run-and-qrels"), args.repeats)
        ref_t, ref = _best(lambda spec=spec: pytrec_eval.RelevanceEvaluator(qrels, spec).evaluate(run), args.repeats)
        diff = max(abs(ours.per_query[m][q] - vals[MEASURES[m].replace(".", "_")])
                   for m in ms for q, vals in ref.items())
        label = ms[0] if len(ms) == 1 else "all five"
        print(f"| {label} | {ours_t:.3f} | {ref_t:.3f} | {ref_t / ours_t:.1f}x | {diff:.1e} |")


if __name__ == "__main__":
    main()
