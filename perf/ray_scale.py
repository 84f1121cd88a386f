"""The Ray engine's driver stays small: a ``default`` clean of N and 4N synthetic pairs on Ray and on the local engine.

For each size the input is built once (the corpus of ``perf/clean.py``: real documented functions of
the standard library and site-packages, replicated with exact copies, renames and reformatting, so
every dedup step has real work), then cleaned by each engine in a fresh process. Printed per size
and engine: wall time, the driver process's peak RSS (``VmHWM``: for Ray the process that calls
``clean``; Ray's workers, raylet and object store are other processes) and the fingerprint. Then
the driver-RSS ratio between the two sizes (target ≤ 1.2× for Ray) and the Ray/local wall-time
ratio. Both engines must give the same fingerprint.

Usage: ``python perf/ray_scale.py [--sizes 1000000,4000000] [--workers 2] [--batch-rows 10000] [--work DIR]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_WORK = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "codequarry-perf-clean"


def _vm_hwm_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_clean(inp: Path, out: Path, engine: str, workers: int, batch_rows: int) -> None:
    """The measured part, in its own process (prints one JSON line)."""
    from codequarry.cleaners import clean

    start = time.perf_counter()
    manifest = clean(inp, out, preset="default", engine=engine, workers=workers, overwrite=True,
                     batch_rows=batch_rows)
    wall = time.perf_counter() - start
    print(json.dumps({"wall": wall, "driver_rss_mb": _vm_hwm_mb(), "fingerprint": manifest["fingerprint"],
                      "written": manifest["counts"]["written"], "read": manifest["counts"]["read"]}), flush=True)


def _measure(inp: Path, out: Path, engine: str, workers: int, batch_rows: int) -> dict:
    env = {**os.environ, "CODEQUARRY_PROGRESS": "0"}
    proc = subprocess.run([sys.executable, __file__, "--workers", str(workers), "--batch-rows", str(batch_rows),
                           "--_clean", engine, str(inp), str(out)], env=env, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"{engine} clean of {inp} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000000,4000000", help="pair counts, comma-separated (default 1M,4M)")
    parser.add_argument("--workers", type=int, default=2, help="CPUs for either engine (default 2)")
    parser.add_argument("--batch-rows", type=int, default=10_000, help="rows per chunk (default 10000)")
    parser.add_argument("--engines", default="local,ray", help="engines to run (default local,ray)")
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK, help=f"cache and output folder (default {DEFAULT_WORK})")
    parser.add_argument("--_clean", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args._clean:
        engine, inp, out = args._clean
        run_clean(Path(inp), Path(out), engine, args.workers, args.batch_rows)
        return 0
    sizes = [int(s) for s in args.sizes.split(",")]
    engines = args.engines.split(",")
    results: dict[tuple[int, str], dict] = {}
    for n in sizes:
        inp = args.work / f"input-{n}"
        if not (inp / "codequarry.json").exists():
            t = time.perf_counter()
            subprocess.run([sys.executable, str(HERE / "clean.py"), "--pairs", str(n), "--workers", str(args.workers),
                            "--work", str(args.work), "--_build", str(inp)], check=True)
            print(f"built the input ({n:,} pairs) in {time.perf_counter() - t:.0f} s (not timed)", flush=True)
        for engine in engines:
            res = _measure(inp, args.work / f"ray-scale-{engine}-{n}", engine, args.workers, args.batch_rows)
            results[(n, engine)] = res
            print(f"{n:>10,} pairs  {engine:<6} wall {res['wall']:8.1f} s  driver peak RSS {res['driver_rss_mb']:7.0f} MB"
                  f"  kept {res['written']:,}  {res['fingerprint'][:23]}…", flush=True)
        fps = {results[(n, e)]["fingerprint"] for e in engines}
        if len(fps) != 1:
            print(f"FINGERPRINTS DIFFER at {n:,} pairs: {fps}")
            return 1
    print(f"\nsame fingerprint from {' and '.join(engines)} at every size; {args.workers} CPUs, batch {args.batch_rows:,}")
    lo, hi = sizes[0], sizes[-1]
    for engine in engines:
        a, b = results[(lo, engine)]["driver_rss_mb"], results[(hi, engine)]["driver_rss_mb"]
        note = " (target ≤ 1.2×)" if engine == "ray" else ""
        print(f"driver peak RSS {engine:<6}: {a:.0f} MB at {lo:,} → {b:.0f} MB at {hi:,}: {b / a:.2f}×{note}")
    if "ray" in engines and "local" in engines:
        for n in sizes:
            r, x = results[(n, "ray")]["wall"], results[(n, "local")]["wall"]
            print(f"wall time Ray/local at {n:,} pairs: {r:.1f} s / {x:.1f} s = {r / x:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
