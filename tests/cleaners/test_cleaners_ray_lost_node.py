"""A lost node: the worker node of a real two-node Ray cluster is removed (its raylet and workers killed) in the
middle of a `codequarry clean --engine ray`; the clean completes on the remaining node (Ray retries the tasks that
died with it), or a rerun of the same command does, and the output has the local engine's fingerprint."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from codequarry.cleaners import clean
from codequarry.cleaners.engine_input import plan_chunks
from codequarry.pairs import PairsDir, dump_yaml

RECIPE = {"name": "ray-lost-node", "steps": [
    {"step": "not_null"}, {"step": "code_length", "params": {"min_lines": 3, "max_chars": 100_000}},
    {"step": "exact_dedup"}, {"step": "near_dedup"}, {"step": "split"}, {"step": "leakage"}]}


@pytest.mark.slow
def test_a_lost_worker_node_mid_clean(cluster: Any, stdlib_pairs: PairsDir, tmp_path: Path) -> None:
    import ray

    reference = clean(stdlib_pairs.path, tmp_path / "local", recipe=RECIPE, batch_rows=100)
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(dump_yaml(RECIPE))
    out = tmp_path / "ray"
    cmd = [str(Path(sys.executable).with_name("codequarry")), "clean", str(stdlib_pairs.path), "--out", str(out),
           "--recipe", str(recipe), "--engine", "ray", "--batch-rows", "100"]
    env = {**os.environ, "CODEQUARRY_PROGRESS": "0", "RAY_ADDRESS": cluster.address}
    (worker_node,) = cluster.worker_nodes
    first_pass = out / ".codequarry-work" / "pass-00"

    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (first_pass.is_dir() and any(first_pass.glob("*.done"))):  # the kill point: chunks are finishing
            if proc.poll() is not None:
                pytest.fail(f"the clean ended (rc {proc.returncode}) before the kill point:\n{proc.stderr.read()[-3000:]}")
            if time.monotonic() > deadline:
                pytest.fail("kill point not reached in time")
            time.sleep(0.01)
        done_at_kill = len(list(first_pass.glob("*.done")))
        cluster.remove_node(worker_node, allow_graceful=False)  # SIGKILL its raylet, object store and workers
        _, err = proc.communicate(timeout=240)  # bounded: a hang fails the test
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert done_at_kill < len(plan_chunks(stdlib_pairs, 100))  # the node went while the first pass was running
    assert [n["Alive"] for n in ray.nodes()].count(True) == 1  # the rest ran on the head node alone
    assert "Traceback" not in err, err[-3000:]
    if proc.returncode != 0:  # the run may give up (one line, exit 2); the same command then finishes the job
        assert proc.returncode == 2 and len(err.strip().splitlines()) == 1, err[-3000:]
        rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
        assert rerun.returncode == 0, rerun.stderr[-3000:]
    done = PairsDir(out, verify="full")
    assert done.fingerprint == reference["fingerprint"]
    assert done.manifest["counts"] == reference["counts"]
    assert not (out / ".codequarry-work").exists()
