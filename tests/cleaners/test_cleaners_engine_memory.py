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
