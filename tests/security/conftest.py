"""Helpers for hostile-input tests: everything a pairs dir holds, as text, and a bounded child process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def _everything(out: Path) -> str:
    """Every value of every table and every other file under a pairs dir, as one text (to search for leaks)."""
    import pyarrow.parquet as pq

    parts: list[str] = []
    for f in sorted(Path(out).rglob("*")):
        if not f.is_file():
            continue
        if f.suffix == ".parquet":
            parts.append(json.dumps(pq.read_table(f).to_pylist(), default=str, ensure_ascii=False))
        else:
            parts.append(f.read_bytes().decode("utf-8", "replace"))
    return "\n".join(parts)


@pytest.fixture
def everything():
    return _everything


@pytest.fixture
def bounded():
    """Run Python code in a child with a wall-clock limit; returns (stdout, peak RSS in MiB of the child)."""

    def run(code: str, timeout: float = 60) -> tuple[str, float]:
        wrapper = (code + "\nimport resource, sys\n"
                   "print('PEAK_MIB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, file=sys.stderr)\n")
        proc = subprocess.run([sys.executable, "-c", wrapper], capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            raise AssertionError(f"child failed ({proc.returncode}): {proc.stderr[-3000:]}")
        peak = float(proc.stderr.rsplit("PEAK_MIB", 1)[1].split()[0])
        return proc.stdout, peak

    return run
