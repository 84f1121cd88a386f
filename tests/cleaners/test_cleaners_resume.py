"""kill -9 at three moments of a real `codequarry clean` run, rerun the same command: the output is
byte-identical to an uninterrupted run (nothing lost, nothing duplicated)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from codequarry.cleaners import clean
from codequarry.cleaners.engine_input import plan_chunks
from codequarry.pairs import PairsDir, dump_yaml

RECIPE = {
    "name": "resume-test",
    "steps": [
        {"step": "not_null"},
        {"step": "code_length", "params": {"min_lines": 3}},
        {"step": "parse_check"},
        {"step": "query_length"},
        {"step": "csn_tokens"},
        {"step": "exact_dedup"},
        {"step": "near_dedup"},
        {"step": "split"},
        {"step": "leakage"},
    ],
}
BATCH = "20"


def _digest(path: Path) -> dict[str, str]:
    return {p.relative_to(path).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file()}


def _markers(work: Path, k: int) -> int:
    d = work / f"pass-{k:02d}"
    return len(list(d.glob("*.done"))) if d.is_dir() else 0


def _run_until(kill_when: Callable[..., int], cmd: list[str], condition: Callable[[], bool]) -> None:
    """Start the command in its own process group and SIGKILL the whole group once ``condition`` holds."""
    rc = kill_when(cmd, {**os.environ, "CODEQUARRY_PROGRESS": "0"}, condition, 120.0)
    assert rc == -signal.SIGKILL


def test_kill_9_then_rerun_gives_identical_output(stdlib_pairs: PairsDir, tmp_path: Path,
                                                  kill_when: Callable[..., int]) -> None:
    recipe_file = tmp_path / "recipe.yaml"
    recipe_file.write_text(dump_yaml(RECIPE))
    ref = tmp_path / "reference"
    clean(stdlib_pairs.path, ref, recipe=str(recipe_file), workers=1, batch_rows=int(BATCH))

    out = tmp_path / "out"
    work = out / ".codequarry-work"
    exe = Path(sys.executable).with_name("codequarry")
    cmd = [str(exe), "clean", str(stdlib_pairs.path), "--out", str(out), "--recipe", str(recipe_file),
           "--workers", "2", "--batch-rows", BATCH]

    _run_until(kill_when, cmd, lambda: _markers(work, 1) >= 3)  # in the middle of the first fused pass
    first = _markers(work, 1)
    assert not (out / "codequarry.json").exists() and first >= 3
    _run_until(kill_when, cmd, lambda: _markers(work, 3) >= 2)  # resumed, killed again in a later pass
    assert _markers(work, 1) == len(plan_chunks(stdlib_pairs, int(BATCH)))  # the first pass was finished
    _run_until(kill_when, cmd, lambda: (work / "final").is_dir())  # killed while the final output is being written
    assert not (out / "codequarry.json").exists()

    done = subprocess.run(cmd, env={**os.environ, "CODEQUARRY_PROGRESS": "0"}, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "rows kept" in done.stdout and not work.exists()
    assert _digest(out) == _digest(ref)
    PairsDir(out).verify()
    m = json.loads((out / "codequarry.json").read_text())
    assert m["counts"]["read"] == stdlib_pairs.num_rows() == m["counts"]["written"] + m["counts"]["excluded"]

    again = subprocess.run(cmd, capture_output=True, text=True, timeout=120)  # a finished output is left alone
    assert again.returncode == 0 and _digest(out) == _digest(ref)
