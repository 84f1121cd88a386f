"""Exact top-k search: codequarry.benchmarks.search vs faiss IndexFlatIP (and a naive numpy baseline).

Each method runs in its own process (so peak memory is its own), on the same seeded unit vectors, in
interleaved rounds (so a busy machine slows every method alike); the script prints the best and median
time, the CPU time of the process (all threads; a load-independent measure of the work), throughput,
the ratio of best times to faiss, peak memory above the loaded corpus, and agreement
with faiss's top-k. Targets (issue 5): time <= 1.25x faiss, memory <= corpus + 1 GB. faiss's OpenMP threads
spin while waiting, which costs it dearly on a loaded machine; "faiss-passive" (OMP_WAIT_POLICY=PASSIVE)
shows it without that penalty.

    python perf/search.py                      # 200k x 384 corpus, 1k queries, k=100
    python perf/search.py --docs 20000 --queries 200 --repeats 1
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

METHODS = ("codequarry", "faiss", "faiss-passive", "numpy-naive")  # faiss-passive: OMP_WAIT_POLICY=PASSIVE


def _rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _data(docs: int, dim: int, queries: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    corpus = rng.standard_normal((docs, dim), dtype=np.float32)
    for i in range(0, docs, 8192):  # normalise in slices: no corpus-sized temporary inflating the peak
        corpus[i:i + 8192] /= np.linalg.norm(corpus[i:i + 8192], axis=1, keepdims=True)
    q = rng.standard_normal((queries, dim), dtype=np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    return corpus, q


def _worker(args: argparse.Namespace) -> None:
    corpus, q = _data(args.docs, args.dim, args.queries, args.seed)
    if args.method.startswith("faiss"):
        import faiss
    else:
        from codequarry.benchmarks.search import exact_search
    base = _rss_bytes()
    times, cpu = [], []
    for _ in range(args.repeats):
        c0 = time.process_time()
        t0 = time.perf_counter()
        if args.method == "codequarry":
            idx, _ = exact_search(q, corpus, args.k, memory_budget_bytes=args.budget_mb << 20)
        elif args.method.startswith("faiss"):
            index = faiss.IndexFlatIP(args.dim)
            index.add(corpus)
            _, idx = index.search(q, args.k)
            del index
        else:  # one full score matrix + argpartition + sort of the winners
            S = q @ corpus.T
            part = np.argpartition(-S, args.k - 1, axis=1)[:, : args.k]
            top = np.take_along_axis(S, part, axis=1)
            idx = np.take_along_axis(part, np.argsort(-top, axis=1, kind="stable"), axis=1)
            del S, part, top
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    np.save(args.out, np.asarray(idx, dtype=np.int64))
    print(json.dumps({"times": times, "cpu": cpu, "extra_bytes": max(0, peak - base), "corpus_bytes": corpus.nbytes}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=200_000, help="corpus vectors (default 200000)")
    ap.add_argument("--dim", type=int, default=384, help="vector dimension (default 384)")
    ap.add_argument("--queries", type=int, default=1000, help="query vectors (default 1000)")
    ap.add_argument("--k", type=int, default=100, help="top-k (default 100)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds; each runs every method in a fresh process (default 3)")
    ap.add_argument("--repeats", type=int, default=1, help="timed runs per method and round (default 1)")
    ap.add_argument("--budget-mb", type=int, default=1024, help="codequarry memory budget in MiB (default 1024)")
    ap.add_argument("--methods", default=",".join(METHODS), help=f"comma-separated subset of {METHODS}")
    ap.add_argument("--seed", type=int, default=0, help="data seed (default 0)")
    ap.add_argument("--method", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.method:
        _worker(args)
        return
    methods = [m for m in args.methods.split(",") if m]
    rows: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.rounds):
            for m in methods:
                out = Path(tmp) / f"{m}.npy"
                cmd = [sys.executable, __file__, "--method", m, "--out", str(out)] + [
                    f"--{k.replace('_', '-')}={getattr(args, k)}"
                    for k in ("docs", "dim", "queries", "k", "repeats", "budget_mb", "seed")]
                env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE") if m == "faiss-passive" else None
                proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
                if proc.returncode:
                    print(f"{m}: failed\n{proc.stderr[-2000:]}", file=sys.stderr)
                    continue
                info = json.loads(proc.stdout.strip().splitlines()[-1])
                row = rows.setdefault(m, {"times": [], "cpu": [], "extra_bytes": 0})
                row["times"] += info["times"]
                row["cpu"] += info["cpu"]
                row["extra_bytes"] = max(row["extra_bytes"], info["extra_bytes"])
                row["idx"] = np.load(out)
    ref = rows.get("faiss") or rows.get("faiss-passive")
    corpus_mb = args.docs * args.dim * 4 / 2**20
    print(f"exact top-{args.k}: {args.docs} x {args.dim} float32 corpus ({corpus_mb:.0f} MiB), {args.queries} queries, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    print(f"| method | best s | median s | CPU s (best) | queries/s | × faiss | peak MiB above corpus | "
          f"top-{args.k} = faiss |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for m, info in rows.items():
        best, med = min(info["times"]), float(np.median(info["times"]))
        ratio = f"{best / min(ref['times']):.2f}" if ref else "n/a"
        agree = f"{(info['idx'] == ref['idx']).mean():.5f}" if ref else "n/a"
        print(f"| {m} | {best:.3f} | {med:.3f} | {min(info['cpu']):.2f} | {args.queries / best:.0f} | {ratio} | "
              f"{info['extra_bytes'] / 2**20:.0f} | {agree} |")
    if "codequarry" in rows:
        ours = min(rows["codequarry"]["times"])
        for name in ("faiss", "faiss-passive"):
            if name in rows:
                ratio = ours / min(rows[name]["times"])
                print(f"time target (<= 1.25x {name}): {'met' if ratio <= 1.25 else 'NOT met'} ({ratio:.2f}x)")
        extra = rows["codequarry"]["extra_bytes"]
        print(f"memory target (<= corpus + 1 GB): {'met' if extra <= 1e9 else 'NOT met'} "
              f"({extra / 1e9:.2f} GB above the corpus)")

if __name__ == "__main__":
    main()
