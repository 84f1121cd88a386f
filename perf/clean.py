"""A whole ``default`` clean of N pairs on 2 workers: wall time per pass and step, and peak memory.

Corpus: real documented Python functions extracted with codequarry.languages (CodeSearchNet rules)
from the standard library and this venv's site-packages, then replicated to N rows with mutations
so dedup has real work: exact copies in other "repos", consistent parameter renames, reformatting
(indentation, blank lines, a comment), and both. The input is built once (cached) in its own
process; the clean runs in a fresh process, whose peak RSS (``getrusage`` self and children) is
what is reported. Targets (issue 13 item 4): 2M pairs in ≤ 15 minutes and ≤ 4 GB on 2 cores, and the same
fingerprint whatever the worker count (``--check-workers 1`` cleans again with 1 worker and compares).

Usage: ``python perf/clean.py [--pairs 2000000] [--workers 2] [--check-workers 1] [--work DIR] [--batch-rows 10000]``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

DEFAULT_WORK = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "codequarry-perf-clean"


def _source_files() -> list[Path]:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    purelib = Path(sysconfig.get_paths()["purelib"])
    roots = [stdlib] + ([purelib] if not purelib.resolve().is_relative_to(stdlib.resolve()) else [])
    files: list[Path] = []
    for root in roots:
        files += sorted(p for p in root.rglob("*.py") if p.is_file())
    return files


def _extract(path: str) -> list[dict]:
    from codequarry.languages import extract_functions

    try:
        data = Path(path).read_bytes()
        if len(data) > 2_000_000:
            return []
        src = data.decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    out = []
    for fn in extract_functions(src, "python"):
        out.append({"name": fn.qualified_name, "code": fn.code, "doc": fn.docstring, "params": list(fn.parameters),
                    "line": fn.start_line})
    return out


def base_corpus(cache: Path, workers: int) -> list[dict]:
    """Every documented function of stdlib + site-packages (cached as JSON lines)."""
    if cache.exists():
        return [json.loads(line) for line in cache.read_text(encoding="utf-8").splitlines()]
    from concurrent.futures import ProcessPoolExecutor

    files = _source_files()
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    rows: list[dict] = []
    with ProcessPoolExecutor(max_workers=workers) as ex:
        for path, funcs in zip(files, ex.map(_extract, [str(f) for f in files], chunksize=32)):
            try:
                rel = path.relative_to(stdlib).as_posix()
            except ValueError:
                rel = path.as_posix()
            rel = rel.split("site-packages/", 1)[-1]
            repo = "python/" + rel.split("/", 1)[0].removesuffix(".py")
            for f in funcs:
                rows.append({**f, "path": rel, "repo": repo})
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    tmp.replace(cache)
    return rows


def _rename(code: str, params: list[str], k: int) -> str:
    for p in params:
        if p in ("self", "cls") or not p.isidentifier():
            continue
        code = re.sub(rf"\b{re.escape(p)}\b", f"{p}_{k}", code)
    return code


def _reformat(code: str, k: int) -> str:
    lines = code.split("\n")
    out = []
    for line in lines:
        stripped = line.lstrip(" ")
        indent = len(line) - len(stripped)
        out.append(" " * (indent // 2) + stripped if indent % 4 == 0 else line)
    head, *rest = out
    return "\n".join([head, "", *rest]) + f"\n# variant {k}\n"


def variant(base: dict, k: int) -> dict:
    """Copy k of a function: 0 the original; then an exact copy, a rename, a reformat, both, in turn."""
    code = base["code"]
    kind = k % 4
    if k and kind in (1, 3):
        code = _rename(code, base["params"], k)
    if k and kind in (2, 3):
        code = _reformat(code, k)
    repo = base["repo"] if k == 0 else f"fork{k}/{base['repo'].split('/', 1)[-1]}"
    return {"query": base["doc"], "code": code, "language": "python", "source": "perf", "repo": repo,
            "path": base["path"], "func_name": base["name"], "locator": (base["path"], base["line"], base["name"], k)}


def build_input(out: Path, n: int, workers: int, cache: Path) -> None:
    """Write N pairs: each function followed by its variants (at least 5 rows per function) as a pairs dir."""
    from codequarry.pairs import PairsWriter, SourceInfo
    from codequarry.schema import make_id

    base = base_corpus(cache, workers)
    if not base:
        raise SystemExit("no functions found")
    print(f"base corpus: {len(base):,} documented functions", flush=True)
    copies = max(5, -(-n // len(base)))  # every function comes with its variants, at any size
    with PairsWriter(out, created_by="perf/clean.py", sources=[SourceInfo("perf", description="stdlib+site-packages")],
                     overwrite=True) as w:
        batch: list[dict] = []
        for i in range(n):
            b = (i // copies) % len(base)
            row = variant(base[b], i % copies)
            row["id"] = make_id("perf", b, *row.pop("locator"))  # the base index: a file can sit in two roots
            batch.append(row)
            if len(batch) == 20_000:
                w.write(batch, split="train")
                batch = []
        if batch:
            w.write(batch, split="train")


def _vm_hwm_kb() -> int | None:
    """This process's peak RSS since exec (Linux), which ru_maxrss can overstate after fork+exec."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _rss_kb(pid: int | str) -> int:
    """Current resident set of a process in kB (0 once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _children() -> list[int]:
    pids: list[int] = []
    for task in Path("/proc/self/task").iterdir():
        try:
            pids += [int(x) for x in (task / "children").read_text().split()]
        except OSError:
            pass
    return pids


class RssSampler:
    """Samples the driver's and each worker's RSS every ``every`` seconds; keeps the peak per phase.

    The phase is the number of finished passes in ``timings`` (so phase k covers pass k and the resolve
    after it), then ``write`` once every pass is done: a per-pass table of where memory goes.
    """

    def __init__(self, timings: dict, passes: int, every: float = 0.25) -> None:
        import threading

        self.timings, self.passes, self.every = timings, passes, every
        self.peaks: dict[str, dict[str, int]] = {}  # phase -> {"driver": kB, "workers": kB (largest), "sum": kB}
        self.loads: list[float] = []  # the machine's 1-minute load average, sampled (other users share the cores)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _phase(self) -> str:
        done = len(self.timings.get("passes", []))
        return "write" if self.passes and done >= self.passes else f"pass {done + 1}"

    def _run(self) -> None:
        while not self._stop.is_set():
            driver = _rss_kb("self")
            kids = [_rss_kb(pid) for pid in _children()]
            peak = self.peaks.setdefault(self._phase(), {"driver": 0, "worker": 0, "total": 0})
            peak["driver"] = max(peak["driver"], driver)
            peak["worker"] = max([peak["worker"], *kids])
            peak["total"] = max(peak["total"], driver + sum(kids))
            self.loads.append(os.getloadavg()[0])
            self._stop.wait(self.every)

    def stop(self) -> dict[str, dict[str, int]]:
        self._stop.set()
        self._thread.join()
        return self.peaks


def run_clean(inp: Path, out: Path, workers: int, batch_rows: int, resume: bool = False) -> None:
    """The timed part, in its own process."""
    from codequarry.cleaners import clean
    from codequarry.cleaners.engine import engine_steps, plan_passes
    from codequarry.cleaners.recipe import load_recipe

    timings: dict = {}
    sampler = RssSampler(timings, len(plan_passes(engine_steps(load_recipe(preset="default").build()))))
    start = time.perf_counter()
    manifest = clean(inp, out, preset="default", workers=workers, overwrite=not resume, batch_rows=batch_rows,
                     timings=timings)
    wall = time.perf_counter() - start
    phases = sampler.stop()
    loads = sampler.loads or [os.getloadavg()[0]]
    self_kb = _vm_hwm_kb() or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"wall": wall, "timings": timings, "steps": manifest["steps"], "counts": manifest["counts"],
                      "rss_self_mb": self_kb / 1024, "rss_children_max_mb": child_kb / 1024, "rss_phases": phases,
                      "load": {"min": min(loads), "mean": sum(loads) / len(loads), "max": max(loads)},
                      "fingerprint": manifest.get("fingerprint")}), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=2_000_000, help="rows to clean (default 2000000)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--batch-rows", type=int, default=10_000, help="rows per batch (default 10000)")
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK, help=f"cache and output folder (default {DEFAULT_WORK})")
    parser.add_argument("--check-workers", type=int, default=None, metavar="N",
                        help="clean again with N workers and compare the fingerprints")
    parser.add_argument("--resume", action="store_true",
                        help="continue an interrupted measurement from its finished chunks (times only the rest)")
    parser.add_argument("--_clean", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--_build", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args._clean:
        run_clean(Path(args._clean[0]), Path(args._clean[1]), args.workers, args.batch_rows, args.resume)
        return 0
    if args._build:
        build_input(args._build, args.pairs, args.workers, args.work / "base-functions.jsonl")
        return 0

    inp = args.work / f"input-{args.pairs}"
    if not (inp / "codequarry.json").exists():  # built in its own process, so this one stays small
        t = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--pairs", str(args.pairs), "--workers", str(args.workers),
                        "--work", str(args.work), "--_build", str(inp)], check=True)
        print(f"built the input ({args.pairs:,} pairs) in {time.perf_counter() - t:.0f} s (not timed below)", flush=True)
    res = _timed_clean(inp, args.work / f"output-{args.pairs}", args.workers, args.batch_rows, args.resume)
    if res is None:
        return 1
    t = res["timings"]
    print(f"\ndefault clean of {args.pairs:,} pairs on {args.workers} workers (batch {args.batch_rows:,} rows)")
    print(f"{'step':<22}{'in':>10}{'kept':>10}{'excluded':>10}{'seconds':>10}{'resolve s':>11}")
    for s in res["steps"]:
        name = s["name"]
        print(f"{name:<22}{s['in']:>10,}{s['kept']:>10,}{s['excluded']:>10,}{t['steps'].get(name, 0):>10.1f}"
              f"{t['resolve'].get(name, 0):>11.1f}")
    print("(step seconds are summed over batches in the worker processes; passes run them in parallel)")
    print("\npass wall times:")
    for p in t["passes"]:
        print(f"  pass {p['pass'] + 1}: {p['seconds']:7.1f} s  [{p['steps']}]")
    print(f"  resolves: {sum(t['resolve'].values()):.1f} s; final write + report: {t.get('write', 0):.1f} s")
    total_gb = (res["rss_self_mb"] + args.workers * res["rss_children_max_mb"]) / 1024
    print(f"\nwall time: {res['wall']:.1f} s ({res['wall'] / 60:.1f} min; target ≤ 15 min)")
    print(f"peak RSS: driver {res['rss_self_mb']:.0f} MB, largest worker {res['rss_children_max_mb']:.0f} MB; "
          f"driver + {args.workers} × worker ≤ {total_gb:.2f} GB (target ≤ 4 GB)")
    print("peak RSS per phase (MB; a pass's phase includes the resolve after it):")
    print(f"  {'phase':<10}{'driver':>8}{'worker':>8}{'total':>8}")
    for phase, peak in res.get("rss_phases", {}).items():
        print(f"  {phase:<10}{peak['driver'] / 1024:>8.0f}{peak['worker'] / 1024:>8.0f}{peak['total'] / 1024:>8.0f}")
    if "load" in res:
        ld = res["load"]
        print(f"machine load average (1 min) during the clean: min {ld['min']:.1f}, mean {ld['mean']:.1f}, "
              f"max {ld['max']:.1f} on {os.cpu_count()} cores")
    print(f"rows: {res['counts']['read']:,} in, {res['counts']['written']:,} kept, {res['counts']['excluded']:,} excluded")
    print(f"fingerprint ({args.workers} workers): {res['fingerprint']}")
    if args.check_workers is not None:
        other = _timed_clean(inp, args.work / f"output-{args.pairs}-w{args.check_workers}", args.check_workers,
                             args.batch_rows)
        if other is None:
            return 1
        same = "identical" if other["fingerprint"] == res["fingerprint"] else "DIFFERENT"
        print(f"fingerprint ({args.check_workers} workers): {other['fingerprint']} — {same}; "
              f"{other['wall']:.1f} s, driver {other['rss_self_mb']:.0f} MB, largest worker "
              f"{other['rss_children_max_mb']:.0f} MB")
        if same != "identical":
            return 1
    return 0


def _timed_clean(inp: Path, out: Path, workers: int, batch_rows: int, resume: bool = False) -> dict | None:
    """Run the timed clean in a fresh process; its JSON result (None after printing its error)."""
    env = {**os.environ, "CODEQUARRY_PROGRESS": os.environ.get("CODEQUARRY_PROGRESS", "0")}
    proc = subprocess.run([sys.executable, __file__, "--workers", str(workers), "--batch-rows", str(batch_rows),
                           *(["--resume"] if resume else []), "--_clean", str(inp), str(out)], env=env,
                          capture_output=True, text=True)
    if proc.returncode:
        print(proc.stdout[-4000:], proc.stderr[-4000:], file=sys.stderr)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    sys.exit(main())
