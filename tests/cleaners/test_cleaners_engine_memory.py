"""The local engine's memory does not add up per-row state across passes (issue 13 item 4)."""

from __future__ import annotations

import gc
import tracemalloc
from pathlib import Path

from codequarry.cleaners import decision_store
from codequarry.cleaners.base import GlobalStep
from codequarry.cleaners.local_engine import _Work
from codequarry.cleaners.recipe import load_recipe


def test_a_worker_keeps_only_the_decision_of_the_pass_it_runs(tmp_path: Path) -> None:
    work = _Work(tmp_path, load_recipe(preset="default"), [])
    global_steps = [i for i, s in enumerate(work.steps) if isinstance(s, GlobalStep)]
    first, second = global_steps[:2]
    n = 200_000  # a decision with an entry per row, as a dedup step's can be
    decision_store.save(work.decision_path(first), work.steps[first], {f"id-{i:07d}": i for i in range(n)})
    decision_store.save(work.decision_path(second), work.steps[second], {"only": 1})

    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        big = work.decision(first)
        held_big = tracemalloc.get_traced_memory()[0] - base
        assert len(big) == n and work.decision(first) is big  # loaded once per pass
        del big
        assert work.decision(second) == {"only": 1}
        gc.collect()
        held_after = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    assert held_big > 50 * n  # the measurement sees a per-row decision...
    assert held_after < held_big / 20, (held_big, held_after)  # ...and it is gone once the next pass's is loaded


def _loaded_bytes(path: Path, step: object) -> tuple[object, int]:
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        value = decision_store.load(path, step)
        gc.collect()
        return value, tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()


def test_a_loaded_decision_shares_its_repeated_values(tmp_path: Path) -> None:
    step = load_recipe(preset="default").build()[0]
    n, groups = 100_000, 10_000
    # as exact_dedup's (dropped id → kept id) and near_dedup's (id → (kept id, cluster size)) decisions
    copies = {f"id-{i:07d}": f"kept-{i % groups:07d}-{'x' * 24}" for i in range(n)}
    members = {f"id-{i:07d}": (f"kept-{i % groups:07d}-{'x' * 24}", 5) for i in range(n)}
    flags = {"a": (1,), "b": (True,), "c": (1,), "d": (None, "s"), "e": [1, (2, 3)], "f": ([1],)}
    for name, decision in (("copies", copies), ("members", members), ("flags", flags)):
        path = tmp_path / f"{name}.json"
        decision_store.save(path, step, decision)
        loaded, held = _loaded_bytes(path, step)
        assert loaded == decision  # the same values, of the same types
        assert [type(x) for v in loaded.values() for x in (v if isinstance(v, tuple) else (v,))] == \
            [type(x) for v in decision.values() for x in (v if isinstance(v, tuple) else (v,))]
        if name != "flags":
            # keys (~60 B each) + dict slots + the distinct values only: ≲ 110 B a row; one string
            # (and tuple) per row would be ≳ 180 B a row
            assert held < 130 * n, (name, held / n)
    loaded, _ = _loaded_bytes(tmp_path / "flags.json", step)
    assert type(loaded["b"][0]) is bool and type(loaded["a"][0]) is int and loaded["a"] is loaded["c"]
