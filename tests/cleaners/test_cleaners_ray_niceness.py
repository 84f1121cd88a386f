"""The local Ray instance the engine starts runs its task workers at the driver's niceness (Ray's default would add
15), unless the user set ``RAY_worker_niceness``; the driver's environment is left as it was."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

# A fresh process (no Ray instance yet) at niceness +2: start the engine's local instance, read a task worker's
# niceness, shut down; then the same with the user's own RAY_worker_niceness=3.
_SCRIPT = r"""
import json, os, sys
import ray
from codequarry.cleaners.ray_engine import start_local_ray

os.nice(2)
seen = {"driver": os.nice(0)}

def worker_nice():
    return os.nice(0)

for label, user in (("default", None), ("user", "3")):
    if user is not None:
        os.environ["RAY_worker_niceness"] = user
    start_local_ray(ray, 1)
    seen[label] = ray.get(ray.remote(worker_nice).remote())
    seen[label + "_env_after"] = os.environ.get("RAY_worker_niceness")
    ray.shutdown()
print(json.dumps(seen))
"""


def test_local_ray_workers_run_at_the_drivers_niceness() -> None:
    pytest.importorskip("ray")
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "RAY_worker_niceness")}
    proc = subprocess.run([sys.executable, "-c", _SCRIPT], env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    driver = seen["driver"]
    assert driver == os.nice(0) + 2
    assert seen["default"] == driver  # Ray's default (worker_niceness 15) would give driver + 15
    assert seen["default_env_after"] is None  # the driver's environment is unchanged
    assert seen["user"] == min(19, driver + 3)  # the user's own setting is honoured, an increment like Ray's
    assert seen["user_env_after"] == "3"
