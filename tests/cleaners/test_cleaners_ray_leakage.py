"""Leakage resolved in stages over chunks and parts (ray_leakage) decides exactly what the step's own resolve
decides: the same leaked train rows, the same held-out row named for each (exact before near, then the keep
rule), the same stats, whatever the part count and method, on real functions with planted clones and copies
across splits and chunks."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest

from codequarry.cleaners import decision_store, ray_leakage
from codequarry.cleaners.local_engine import read_arrow
from codequarry.cleaners.ray_near_dedup import run_stages
from codequarry.pairs import PairsDir


def _renamed(code: str, tag: str) -> str:
    """Every parameter and assigned local renamed (a Type-2 clone)."""
    names = {n.arg for n in ast.walk(ast.parse(code)) if isinstance(n, ast.arg) and n.arg not in ("self", "cls")}
    names |= {n.id for n in ast.walk(ast.parse(code)) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    for i, name in enumerate(sorted(names)):
        code = re.sub(rf"(?<![\w.]){re.escape(name)}\b", f"{tag}_v{i}", code)
    return code


@pytest.fixture(scope="module")
def leaky(h: Any, stdlib_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> PairsDir:
    """Real functions in train/valid/test; 40 get renamed clones and 12 exact copies, each copy in a split of
    its own (round robin), far from the original, so train rows leak into valid and test, near and exact."""
    base = [r for r in h.stdlib_rows(stdlib_dir, 240) if len(r["code"].splitlines()) >= 4]
    parts: dict[str, list[dict[str, Any]]] = {"train": [], "valid": [], "test": []}
    for i, r in enumerate(base):
        parts[h.split_of(i)].append(r)
    names = ("train", "valid", "test")
    for i, r in enumerate(base[:40]):
        parts[names[i % 3]].append({**r, "id": f"{r['id']}-clone", "code": _renamed(r["code"], "z")})
        if i % 4 == 0:
            parts[names[(i + 1) % 3]].append({**r, "id": f"{r['id']}-clone2", "code": _renamed(r["code"], "q")})
    for i, r in enumerate(base[60:72]):
        parts[names[(i + 2) % 3]].append({**r, "id": f"{r['id']}-copy"})
    return h.write_pairs(tmp_path_factory.mktemp("leaky") / "in", parts, max_shard_rows=80)



@pytest.mark.parametrize(("params", "parts"), [
    ({}, 1), ({}, 3), ({}, 8),
    ({"verify": False}, 3),
    ({"method": "exact"}, 2),
    ({"method": "minhash"}, 4),
])
def test_staged_leakage_is_the_steps_resolve(leaky: PairsDir, tmp_path: Path, params: dict[str, Any],
                                            parts: int, work_at_step: Any) -> None:
    work, k = work_at_step(leaky, tmp_path / "w",
                           [{"step": "leakage", "params": params}],
                           "leakage", 60)
    step_i = work.passes[k].map
    step = work.steps[step_i]
    whole = step.resolve((read_arrow(work.map_path(k, c.index)) for c in work.chunks), tmp_path / "whole")
    ray_leakage.resolve_in_process(work, k, parts)
    staged = decision_store.load(work.decision_path(step_i), step)
    assert staged == whole
    assert list(staged.leaks) == list(whole.leaks)
    assert not (work.work / f"resolve-{step_i:03d}").exists()
    assert whole.stats["leaked"] >= 8, whole.stats
    if params.get("method", "both") == "both":
        assert set(whole.stats["by_match"]) == {"exact", "near"}


def test_small_verify_blocks_and_a_tight_cap_decide_the_same(leaky: PairsDir, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch,
                                                            work_at_step: Any) -> None:
    """Pairs verified 5 at a time, and at most 1 held-out candidate checked per train row (the step's cap,
    lowered for both): still the step's decision."""
    from codequarry.cleaners import leakage, ray_near_dedup

    monkeypatch.setattr(leakage, "_MAX_VERIFY", 1)
    monkeypatch.setattr(ray_near_dedup, "VERIFY_BLOCK", 5)
    work, k = work_at_step(leaky, tmp_path / "w",
                           [{"step": "leakage", "params": {"method": "minhash"}}],
                           "leakage", 60)
    step_i = work.passes[k].map
    step = work.steps[step_i]
    whole = step.resolve((read_arrow(work.map_path(k, c.index)) for c in work.chunks), tmp_path / "whole")
    ray_leakage.resolve_in_process(work, k, 3)
    assert decision_store.load(work.decision_path(step_i), step) == whole


def test_the_work_dir_holds_chunks_plus_parts_files_not_chunks_times_parts(leaky: PairsDir, tmp_path: Path,
                                                                           work_at_step: Any) -> None:
    """Each cut task writes one file per kind (near, exact), a batch per part in each, and each pair task one
    file, a batch per chunk: the files grow with chunks + parts, not chunks × parts (issue 15)."""
    work, k = work_at_step(leaky, tmp_path / "w", [{"step": "leakage", "params": {}}], "leakage", 60)
    step_i = work.passes[k].map
    step = work.steps[step_i]
    chunks, parts = len(work.chunks), 8
    assert chunks >= 3
    run_stages(ray_leakage, work, k, parts, decide=False)
    folder = work.work / f"resolve-{step_i:03d}" / f"leak-{parts:04d}"
    files = {stage.name: sum(1 for f in stage.iterdir() if f.is_file()) for stage in folder.iterdir()}
    # cut: the near and the exact file and the JSON account per chunk; pairs: one per part; leaks: one per chunk
    assert files == {"cut": 3 * chunks, "pairs": parts, "leaks": chunks}
    ray_leakage.decide(work, k, parts)
    whole = step.resolve((read_arrow(work.map_path(k, c.index)) for c in work.chunks), tmp_path / "whole")
    assert decision_store.load(work.decision_path(step_i), step) == whole
    assert set(whole.stats["by_match"]) == {"exact", "near"}
