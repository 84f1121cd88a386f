"""The Ray engine's driver stays small: a ``default`` clean of N and 4N synthetic pairs on Ray and on the local engine.

For each size the input is built once (the corpus of ``perf/clean.py``: real documented functions of
the standard library and site-packages, replicated with exact copies, renames and reformatting, so
every dedup step has real work), then cleaned by each engine in a fresh process. Printed per size
and engine: wall time, the driver process's peak RSS (``VmHWM``: for Ray the process that calls
``clean``; Ray's workers, raylet and object store are other processes), the largest worker process's
RSS (sampled each second) and the fingerprint. Then the RSS ratios between the smallest and largest
size (target ≤ 1.2× for Ray's driver) and, per size, the Ray/local ratios of wall time and driver
peak RSS. Both engines must give the same fingerprint.

Last, per size, the wall seconds of each phase of each run side by side (every pass, every global step's
resolve and, for a shuffled one on Ray, its stages; the final write), with the load average at its end;
``--rounds N`` alternates the engines N times so that both see the same load.

Usage: ``python perf/ray_scale.py [--sizes 1000000,4000000] [--workers 2] [--batch-rows 10000] [--rounds 1]
[--engines local,ray] [--work DIR]``.
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


def _descendants(root: int) -> dict[int, str]:
    """Every process below ``root`` (children, grandchildren...) with its command line."""
    parent: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                parent[int(entry.name)] = int(stat[stat.rindex(")") + 2:].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    found: dict[int, str] = {}
    frontier = [root]
    while frontier:
        pid = frontier.pop()
        for child, ppid in parent.items():
            if ppid == pid and child not in found:
                try:
                    found[child] = (Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ")
                                    .decode("utf-8", "replace"))
                except OSError:
                    found[child] = ""
                frontier.append(child)
    return found


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return 0.0


class WorkerPeak:
    """The largest resident set of any worker process, sampled every ``every`` seconds in a thread: for Ray the
    processes below the driver whose title starts ``ray::`` (task workers; raylet, GCS and the dashboard are not
    workers), for the local engine every process below the driver (its worker pool)."""

    def __init__(self, engine: str, every: float = 1.0) -> None:
        import threading

        self.engine, self.every, self.peak_mb = engine, every, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        me = os.getpid()
        while not self._stop.is_set():
            for pid, cmd in _descendants(me).items():
                if self.engine != "ray" or cmd.startswith("ray::"):
                    self.peak_mb = max(self.peak_mb, _rss_mb(pid))
            self._stop.wait(self.every)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak_mb


def run_clean(inp: Path, out: Path, engine: str, workers: int, batch_rows: int) -> None:
    """The measured part, in its own process (prints one JSON line)."""
    from codequarry.cleaners import clean

    sampler = WorkerPeak(engine)
    timings: dict = {}
    start = time.perf_counter()
    manifest = clean(inp, out, preset="default", engine=engine, workers=workers, overwrite=True,
                     batch_rows=batch_rows, timings=timings)
    wall = time.perf_counter() - start
    print(json.dumps({"wall": wall, "driver_rss_mb": _vm_hwm_mb(), "worker_rss_mb": sampler.stop(),
                      "fingerprint": manifest["fingerprint"], "written": manifest["counts"]["written"],
                      "read": manifest["counts"]["read"], "phases": phases(timings),
                      "load": os.getloadavg()[0]}), flush=True)


def phases(timings: dict) -> dict[str, float]:
    """A clean's ``timings`` as (phase, wall seconds) in run order: each pass, each global step's resolve (a
    shuffled one's stages indented under it), the final write; both engines fill the same keys."""
    out: dict[str, float] = {}
    resolves = list(timings.get("resolve", {}).items())
    for p in timings.get("passes", []):
        steps = p["steps"].split(", ")
        label = ", ".join(steps) if len(steps) <= 2 else f"{steps[0]} … {steps[-1]}: {len(steps)} steps"
        out[f"pass {p['pass'] + 1} [{label}]"] = p["seconds"]
        for name, seconds in resolves:  # a pass that maps a global step is labelled "..., STEP:map"
            if p["steps"].endswith(f"{name}:map"):
                out[f"  resolve {name}"] = seconds
                for stage, s in timings.get("stages", {}).get(name, {}).items():
                    out[f"    {name}: {stage}"] = s
                resolves.remove((name, seconds))
                break
    for name, seconds in resolves:  # a resolve the pass labels did not name
        out[f"  resolve {name}"] = seconds
    out["write"] = timings.get("write", 0.0)
    return out


def phase_table(runs: list[tuple[str, dict]]) -> list[str]:
    """The per-phase wall seconds of several runs side by side (one column per run, in run order)."""
    names: list[str] = []
    for _, res in runs:  # a phase one run has and another lacks goes after its predecessor in that run
        before = -1
        for k in res["phases"]:
            if k not in names:
                names.insert(before + 1, k)
            before = names.index(k)
    width = max(len(n) for n in names + ["other (start, plan, publish, stop)"])
    lines = [f"{'phase':<{width}}  " + "  ".join(f"{label:>10}" for label, _ in runs)]
    for n in names + ["other (start, plan, publish, stop)", "total (wall)", "load (1 min, end)"]:
        cells = []
        for _, res in runs:
            top = sum(v for k, v in res["phases"].items() if not k.startswith("    "))  # stages are within resolves
            v = (res["wall"] if n == "total (wall)" else res.get("load") if n.startswith("load")
                 else res["wall"] - top if n.startswith("other") else res["phases"].get(n))
            cells.append(f"{v:10.1f}" if isinstance(v, (int, float)) else f"{'-':>10}")
        lines.append(f"{n:<{width}}  " + "  ".join(cells))
    return lines


def _measure(inp: Path, out: Path, engine: str, workers: int, batch_rows: int) -> dict:
    env = {**os.environ, "CODEQUARRY_PROGRESS": "0"}  # Ray's task workers run at this niceness (ray_engine)
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
    parser.add_argument("--rounds", type=int, default=1,
                        help="runs of each engine per size, alternating (local, ray, local, ray...) so both see the "
                             "same load; ratios use each engine's fastest run (default 1)")
    parser.add_argument("--_clean", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args._clean:
        engine, inp, out = args._clean
        run_clean(Path(inp), Path(out), engine, args.workers, args.batch_rows)
        return 0
    sizes = [int(s) for s in args.sizes.split(",")]
    engines = args.engines.split(",")
    results: dict[tuple[int, str], dict] = {}
    runs: list[tuple[int, str, dict]] = []
    for n in sizes:
        inp = args.work / f"input-{n}"
        if not (inp / "codequarry.json").exists():
            t = time.perf_counter()
            subprocess.run([sys.executable, str(HERE / "clean.py"), "--pairs", str(n), "--workers", str(args.workers),
                            "--work", str(args.work), "--_build", str(inp)], check=True)
            print(f"built the input ({n:,} pairs) in {time.perf_counter() - t:.0f} s (not timed)", flush=True)
        for r, engine in [(r, e) for r in range(args.rounds) for e in engines]:
            res = _measure(inp, args.work / f"ray-scale-{engine}-{n}", engine, args.workers, args.batch_rows)
            runs.append((n, f"{engine} #{r + 1}" if args.rounds > 1 else engine, res))
            if (n, engine) not in results or res["wall"] < results[(n, engine)]["wall"]:
                results[(n, engine)] = res
            print(f"{n:>10,} pairs  {engine:<6} wall {res['wall']:8.1f} s  driver peak RSS {res['driver_rss_mb']:7.0f} MB"
                  f"  largest worker {res['worker_rss_mb']:6.0f} MB  kept {res['written']:,}  "
                  f"{res['fingerprint'][:23]}…", flush=True)
        fps = {res["fingerprint"] for m, _, res in runs if m == n}
        if len(fps) != 1:
            print(f"FINGERPRINTS DIFFER at {n:,} pairs: {fps}")
            return 1
    print(f"\nsame fingerprint from {' and '.join(engines)} at every size; {args.workers} CPUs, batch {args.batch_rows:,}")
    lo, hi = sizes[0], sizes[-1]
    if lo != hi:
        for engine in engines:
            for key, what in (("driver_rss_mb", "driver peak RSS"), ("worker_rss_mb", "largest worker RSS")):
                a, b = results[(lo, engine)][key], results[(hi, engine)][key]
                note = " (target ≤ 1.2×)" if engine == "ray" and key == "driver_rss_mb" else ""
                print(f"{what} {engine:<6}: {a:.0f} MB at {lo:,} → {b:.0f} MB at {hi:,}: {b / a:.2f}×{note}")
    if "ray" in engines and "local" in engines:
        for n in sizes:
            r, x = results[(n, "ray")], results[(n, "local")]
            print(f"at {n:,} pairs: wall time Ray/local {r['wall']:.1f} s / {x['wall']:.1f} s = "
                  f"{r['wall'] / x['wall']:.2f}; driver peak RSS Ray/local {r['driver_rss_mb']:.0f} MB / "
                  f"{x['driver_rss_mb']:.0f} MB = {r['driver_rss_mb'] / x['driver_rss_mb']:.2f}")
    for n in sizes:  # where the wall time goes (driver-side seconds per phase, each run)
        print(f"\nwall seconds per phase at {n:,} pairs:")
        print("\n".join(phase_table([(label, res) for m, label, res in runs if m == n])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
