"""Extraction speed: ``build repos`` against tree-sitter parse-only over the same files, in one run.

Corpus (fixed, real, on every machine with this venv): the base Python's standard library (its
own site-packages included), this venv's site-packages, and /usr/include when present — Python
plus the C/C++ headers and the few JavaScript files installed there. Three timings:

1. parse-only: read and parse exactly the files that build parses, nothing else, one process;
2. ``build repos`` with 1 worker (list, read, parse, extract, tokenize, write Parquet);
3. parse-only again (the baseline is the best parse-only run);
4. ``build repos`` with 2 workers (its fingerprint must equal run 2's);
repeated ``--repeat`` times, keeping the best time of each kind.

Targets (issue 3): build(1 worker) ≤ 1.5 × parse-only, and build(2 workers) ≥ 1.7 × faster than
build(1 worker). Wall and CPU seconds are both shown: on a shared machine the CPU figures (this
process plus its workers) are the steadier measure of the work done, the wall figures are what a
user waits. Usage: ``python perf/extract.py [--limit-files N] [--paths P ...] [--workers N]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import sysconfig
import tempfile
import time
from collections import Counter
from itertools import islice
from pathlib import Path


def default_paths() -> list[str]:
    """The fixed corpus: stdlib (with the base site-packages), this venv's site-packages, /usr/include."""
    stdlib = sysconfig.get_paths()["stdlib"]
    purelib = sysconfig.get_paths()["purelib"]
    paths = [stdlib]
    if not Path(purelib).resolve().is_relative_to(Path(stdlib).resolve()):
        paths.append(purelib)
    if Path("/usr/include").is_dir():
        paths.append("/usr/include")
    return paths


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the worker processes)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def parse_only(paths: list[str], limit: int | None, max_file_bytes: int) -> tuple[int, int, float, float]:
    """Read and parse the files that ``build repos`` parses (same listing, same filters).

    Returns (files, bytes, wall seconds, CPU seconds)."""
    from codequarry.builders import _repos_extract as RX
    from codequarry.builders import _repos_inputs as RI
    from codequarry.languages import get_parser

    selection = RI.Selection(languages=RI.check_languages(None))
    resolved = [RI.resolve_repo(p, clone_root=None, depth=None) for p in paths]
    tasks = list(islice(RI.iter_files(resolved, selection, Counter()), limit))
    for name in {t.language for t in tasks if t.language}:
        get_parser(name)  # load grammars outside the timing, as the build's first files do
    files = nbytes = 0
    start, cpu = time.perf_counter(), cpu_seconds()
    for task in tasks:
        if task.reason is not None or task.size > max_file_bytes:
            continue
        data, reason, _ = RX.read_source(resolved[task.repo].root, task, max_file_bytes)
        if data is None:
            continue
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        get_parser(task.language).parse(data)
        files += 1
        nbytes += len(data)
    return files, nbytes, time.perf_counter() - start, cpu_seconds() - cpu


def timed_build(paths: list[str], out: Path, workers: int, limit: int | None) -> tuple[dict, float, float]:
    """Run ``build repos``; (manifest, wall seconds, CPU seconds of this process and its workers)."""
    from codequarry.builders import repos as R

    start, cpu = time.perf_counter(), cpu_seconds()
    manifest = R.build(out, paths=paths, workers=workers, limit_files=limit, overwrite=True)
    return manifest, time.perf_counter() - start, cpu_seconds() - cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--paths", nargs="+", help="folders to use instead of the fixed corpus")
    parser.add_argument("--limit-files", type=int, help="only the first N candidate files (listing order)")
    parser.add_argument("--workers", type=int, default=2, help="worker count of the parallel run (default 2)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run everything N times and keep the best time of each kind (steadier on a busy machine)")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.workers < 1:
        parser.error("--repeat and --workers must be at least 1")
    os.environ.setdefault("CODEQUARRY_PROGRESS", "0")
    from codequarry.builders.repos import DEFAULT_MAX_FILE_BYTES

    paths = args.paths or default_paths()
    print(f"corpus: {', '.join(paths)}" + (f" (first {args.limit_files} files)" if args.limit_files else ""))
    with tempfile.TemporaryDirectory(prefix="codequarry-perf-") as tmp:
        warm = Path(tmp) / "warm"
        warm.mkdir()
        (warm / "w.py").write_text('def f():\n    """Warm-up: imports and grammars load outside the timings."""\n'
                                   '    return 1\n')
        timed_build([str(warm)], Path(tmp) / "warm-out", 1, None)
        # parse-only runs before each build and the best run of each kind counts: on a shared machine the
        # load changes between runs, and the fastest run is the one least disturbed by it
        P: list[tuple[float, float]] = []
        B1: list[tuple[float, float]] = []
        B2: list[tuple[float, float]] = []
        for r in range(args.repeat):
            files, nbytes, tp, cp = parse_only(paths, args.limit_files, DEFAULT_MAX_FILE_BYTES)
            P.append((tp, cp))
            m1, t1, c1 = timed_build(paths, Path(tmp) / f"w1-{r}", 1, args.limit_files)
            B1.append((t1, c1))
            tp, cp = parse_only(paths, args.limit_files, DEFAULT_MAX_FILE_BYTES)[2:]
            P.append((tp, cp))
            m2, t2, c2 = timed_build(paths, Path(tmp) / f"w2-{r}", args.workers, args.limit_files)
            B2.append((t2, c2))
    t_parse, c_parse = min(t for t, _ in P), min(c for _, c in P)
    t1, c1 = min(t for t, _ in B1), min(c for _, c in B1)
    t2, c2 = min(t for t, _ in B2), min(c for _, c in B2)
    same = m1["fingerprint"] == m2["fingerprint"]
    parsed = m1["repos"]["stats"].get("files_parsed", 0)
    rows = [
        ("files parsed", f"{parsed:,}" + ("" if parsed == files else f" (parse-only: {files:,})")),
        ("source bytes", f"{nbytes / 1e6:,.1f} MB"),
        ("functions extracted (rows)", f"{m1['counts']['written']:,}"),
        ("records excluded", f"{m1['counts']['excluded']:,}"),
        (f"parse-only, 1 process (best of {len(P)})", f"{t_parse:,.1f} s wall, {c_parse:,.1f} s CPU  "
                                                 f"(runs: {' / '.join(f'{t:,.1f}' for t, _ in P)} s wall)"),
        (f"build repos, 1 worker (best of {len(B1)})", f"{t1:,.1f} s wall, {c1:,.1f} s CPU"),
        ("ratio build / parse-only", f"{t1 / t_parse:.2f}x wall, {c1 / c_parse:.2f}x CPU  (target <= 1.5x)"),
        (f"build repos, {args.workers} workers (best of {len(B2)})", f"{t2:,.1f} s wall, {c2:,.1f} s CPU"),
        ("speedup", f"{t1 / t2:.2f}x wall  (target >= 1.7x)"),
        ("same fingerprint", "yes" if same else "NO"),
    ]
    width = max(len(k) for k, _ in rows)
    print(f"| {'measure':<{width}} | value |\n|{'-' * (width + 2)}|-------|")
    for k, v in rows:
        print(f"| {k:<{width}} | {v} |")
    print(f"cpu cores: {os.cpu_count()}; load average: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
