"""The Ray engine on a real local two-node Ray cluster gives the local engine's output byte for byte (rows,
exclusions, manifest, card, report), with 1 and 2 workers and after its driver is killed mid-run and the same
command rerun."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from codequarry.cleaners import clean
from codequarry.errors import MissingDependency
from codequarry.pairs import PairsDir, dump_yaml

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



@pytest.fixture(scope="module")
def local_out(stdlib_pairs: PairsDir, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("local") / "out"
    clean(stdlib_pairs.path, out, recipe=RECIPE, workers=1, batch_rows=100)
    return out


def _rows(folder: Path, sub: str) -> Counter[str]:
    """Every row of the Parquet files under ``folder/sub`` as canonical JSON (a multiset)."""
    out: Counter[str] = Counter()
    for p in sorted((folder / sub).rglob("*.parquet")):
        config = p.parent.name if sub == "data" else ""
        for r in pq.read_table(p).to_pylist():
            out[json.dumps([config, r], sort_keys=True, default=str)] += 1
    return out


def _same_as_local(out: Path, local: Path, h: Any, skip: tuple[str, ...] = ()) -> None:
    ray_m, local_m = PairsDir(out, verify="full").manifest, PairsDir(local).manifest
    assert ray_m["fingerprint"] == local_m["fingerprint"]
    for key in {"counts", "splits", "schema", "steps", "recipe", "params", "input", "sources"} - set(skip):
        assert ray_m[key] == local_m[key], key
    assert _rows(out, "data") == _rows(local, "data")
    assert _rows(out, "exclusions") == _rows(local, "exclusions")
    for sub in ("data", "exclusions"):  # the same files, byte for byte
        assert h.tree_digest(out / sub) == h.tree_digest(local / sub)
    assert (out / "README.md").read_text() == (local / "README.md").read_text()
    assert (out / "report.md").read_text() == (local / "report.md").read_text()
    assert not (out / ".codequarry-work").exists()


@pytest.mark.parametrize("workers", [1, 2])
def test_ray_cluster_matches_local(cluster: Any, stdlib_pairs: PairsDir, local_out: Path, tmp_path: Path,
                                   workers: int, h: Any) -> None:
    import ray

    assert ray.cluster_resources()["CPU"] == 2  # so unique_id and exact_dedup resolve as a 2-part shuffle
    out = tmp_path / "ray"
    timings: dict[str, Any] = {}
    m = clean(stdlib_pairs.path, out, recipe=RECIPE, engine="ray", workers=workers, batch_rows=100, timings=timings)
    _same_as_local(out, local_out, h)
    assert m["counts"]["excluded"] > 0 and m["steps"][9]["summary"]["clusters"] > 0
    assert h.tree_digest(out) == h.tree_digest(local_out)  # every file byte for byte, manifest and card included
    _timed_per_phase(timings)


def _timed_per_phase(timings: dict[str, Any]) -> None:
    """The Ray engine's driver-side wall seconds: every pass, every global step's resolve (a shuffled one per
    stage: exact dedup cut/part/merge, near-dedup and leakage cut/pair/verify/decide), the final write."""
    assert [p["pass"] for p in timings["passes"]] == list(range(len(timings["passes"])))
    assert all(p["seconds"] > 0 and p["steps"] for p in timings["passes"])
    assert {"exact_dedup", "near_dedup", "split", "leakage"} <= set(timings["resolve"])
    assert set(timings["stages"]) == {"unique_id", "exact_dedup", "near_dedup", "leakage"} & set(timings["resolve"])
    assert list(timings["stages"]["exact_dedup"]) == ["cut", "part", "merge"]
    for step in ("near_dedup", "leakage"):
        assert list(timings["stages"][step]) == ["cut", "pair", "verify", "decide"]
        assert sum(timings["stages"][step].values()) <= timings["resolve"][step]
    assert timings["write"] > 0 and set(timings["steps"]) >= {"near_dedup", "lengths"}


def test_ray_rerun_of_finished_clean_is_a_no_op(cluster: Any, stdlib_pairs: PairsDir, local_out: Path,
                                               tmp_path: Path) -> None:
    out = tmp_path / "ray"
    first = clean(stdlib_pairs.path, out, recipe=RECIPE, engine="ray", batch_rows=100)
    again = clean(stdlib_pairs.path, out, recipe=RECIPE, engine="ray", batch_rows=100)
    assert again["fingerprint"] == first["fingerprint"] == PairsDir(local_out).fingerprint



def test_ray_killed_driver_then_rerun_gives_same_fingerprint(cluster: Any, stdlib_pairs: PairsDir, tmp_path: Path,
                                                             local_out: Path, kill_when: Any, h: Any) -> None:
    """SIGKILL the driver (a real `codequarry clean --engine ray` process) in the first fused pass, rerun, kill it
    again three passes later, rerun to the end: chunks finished before a kill are not redone, and the output
    equals the local engine's."""
    out = tmp_path / "ray"
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(dump_yaml(RECIPE))
    cmd = [str(Path(sys.executable).with_name("codequarry")), "clean", str(stdlib_pairs.path), "--out", str(out),
           "--recipe", str(recipe), "--engine", "ray", "--batch-rows", "100"]
    env = {**os.environ, "CODEQUARRY_PROGRESS": "0", "RAY_ADDRESS": cluster.address}
    work = out / ".codequarry-work"
    kill_when(cmd, env, lambda: (work / "pass-01").is_dir() and any((work / "pass-01").glob("*.done")), 180.0,
              poll=0.02)
    assert not (out / "codequarry.json").exists()
    first = {p: p.stat().st_mtime_ns for p in [*(work / "pass-00").glob("*.done"), *(work / "pass-01").glob("*.done")]}
    kill_when(cmd, env, lambda: (work / "pass-03").is_dir() and any((work / "pass-03").glob("*.done")), 180.0,
              poll=0.02)
    assert not (out / "codequarry.json").exists()
    assert first and all(p.stat().st_mtime_ns == t for p, t in first.items())  # finished chunks were not redone
    rc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert rc.returncode == 0, rc.stderr[-3000:]
    _same_as_local(out, local_out, h, skip=("params",))  # the recipe came from a file here: another origin


def test_without_ray_address_a_fresh_local_instance_starts(cluster: Any, stdlib_pairs: PairsDir, tmp_path: Path,
                                                            local_out: Path) -> None:
    """Another Ray cluster runs on this machine (the fixture's): a clean without RAY_ADDRESS starts its own
    instance of --workers CPUs rather than joining that one (which refuses num_cpus)."""
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(dump_yaml(RECIPE))
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    out = tmp_path / "ray"
    rc = subprocess.run([str(Path(sys.executable).with_name("codequarry")), "clean", str(stdlib_pairs.path), "--out",
                         str(out), "--recipe", str(recipe), "--engine", "ray", "--batch-rows", "100"],
                        env={**env, "CODEQUARRY_PROGRESS": "0"}, capture_output=True, text=True, timeout=300)
    assert rc.returncode == 0, rc.stderr[-3000:]
    assert PairsDir(out).fingerprint == PairsDir(local_out).fingerprint


def test_a_workers_codequarry_error_reaches_the_user_as_itself(cluster: Any) -> None:
    """A task that meets bad input raises CodequarryError on a worker; the driver re-raises that error (its
    one-line message), not Ray's wrapper with the remote traceback."""
    import ray

    from codequarry.cleaners.ray_engine import get
    from codequarry.errors import CodequarryError

    def damaged() -> None:
        raise CodequarryError("c000001.kept.arrow: this file of the unfinished clean is damaged; pass --overwrite")

    with pytest.raises(CodequarryError) as info:
        get(ray, ray.remote(damaged).remote())
    assert type(info.value) is CodequarryError and str(info.value).startswith("c000001.kept.arrow: this file")
    assert "\n" not in str(info.value)


def test_missing_ray_names_the_extra(stdlib_pairs: PairsDir, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray → ImportError
    with pytest.raises(MissingDependency, match=r"pip install 'codequarry\[ray\]'"):
        clean(stdlib_pairs.path, tmp_path / "out", recipe=RECIPE, engine="ray")
    assert not (tmp_path / "out").exists()
