"""The Ray engine on a real local Ray cluster writes the same bytes as the local engine."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

from codequarry.cleaners import clean
from codequarry.errors import MissingDependency
from codequarry.pairs import PairsDir

RECIPE = {
    "name": "ray-test",
    "steps": [
        {"step": "not_null"},
        {"step": "code_length", "params": {"min_lines": 3, "max_chars": 100_000}},
        {"step": "parse_check"},
        {"step": "query_length"},
        {"step": "docstring_markup"},
        {"step": "csn_tokens"},
        {"step": "lengths"},
        {"step": "exact_dedup"},
        {"step": "near_dedup"},
        {"step": "split"},
        {"step": "leakage"},
    ],
}


def _digest(path: Path) -> dict[str, str]:
    return {p.relative_to(path).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file()}


def test_ray_engine_matches_local(stdlib_pairs: PairsDir, tmp_path: Path) -> None:
    ray = pytest.importorskip("ray")
    local = tmp_path / "local"
    clean(stdlib_pairs.path, local, recipe=RECIPE, workers=1, batch_rows=100)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        m = clean(stdlib_pairs.path, tmp_path / "ray", recipe=RECIPE, engine="ray", workers=2, batch_rows=100)
    finally:
        ray.shutdown()
    assert m["fingerprint"] == PairsDir(local).fingerprint
    assert _digest(tmp_path / "ray") == _digest(local)  # rows, exclusions, manifest, card stub, report: same bytes
    assert m["counts"]["excluded"] > 0 and m["steps"][9]["summary"]["clusters"] > 0


def test_missing_ray_names_the_extra(stdlib_pairs: PairsDir, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray → ImportError
    with pytest.raises(MissingDependency, match=r"pip install 'codequarry\[ray\]'"):
        clean(stdlib_pairs.path, tmp_path / "out", recipe=RECIPE, engine="ray")
    assert not (tmp_path / "out").exists()
