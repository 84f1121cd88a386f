"""perf/ray_scale.py's per-phase table: both engines' ``timings`` side by side, a Ray resolve's stages under it."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def _ray_scale() -> Any:
    spec = importlib.util.spec_from_file_location("ray_scale", ROOT / "perf" / "ray_scale.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_phase_table_puts_each_engines_phases_in_run_order() -> None:
    rs = _ray_scale()
    ray = {"passes": [{"pass": 0, "steps": "unique_id:map", "seconds": 1.0},
                      {"pass": 1, "steps": "unique_id, not_null, lengths, near_dedup:map", "seconds": 5.0},
                      {"pass": 2, "steps": "near_dedup", "seconds": 1.5}],
           "resolve": {"unique_id": 0.5, "near_dedup": 3.0},
           "stages": {"near_dedup": {"cut": 0.5, "pair": 1.0, "verify": 1.0, "decide": 0.25}}, "write": 2.0}
    local = {k: v for k, v in ray.items() if k != "stages"}
    rows = rs.phase_table([("local", {"wall": 13.0, "phases": rs.phases(local), "load": 2.0}),
                           ("ray", {"wall": 14.0, "phases": rs.phases(ray), "load": 2.5})])
    names = [re.sub(r"(\s+\S+){2}$", "", r) for r in rows[1:]]  # the phase, less its two cells
    assert names == ["pass 1 [unique_id:map]", "  resolve unique_id",
                     "pass 2 [unique_id … near_dedup:map: 4 steps]", "  resolve near_dedup",
                     "    near_dedup: cut", "    near_dedup: pair", "    near_dedup: verify", "    near_dedup: decide",
                     "pass 3 [near_dedup]", "write", "other (start, plan, publish, stop)", "total (wall)",
                     "load (1 min, end)"]
    cells = {n: r.split()[-2:] for n, r in zip(names, rows[1:])}
    assert cells["    near_dedup: pair"] == ["-", "1.0"]
    assert cells["other (start, plan, publish, stop)"] == ["0.0", "1.0"]  # wall minus passes, resolves and write
    assert cells["load (1 min, end)"] == ["2.0", "2.5"]
