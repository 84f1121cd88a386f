"""Large per-row decisions stored as Arrow files and read through a hash index (issue 13 item 4): exact lookups,
the same values as the dict, far less memory per worker, and the same clean output."""

from __future__ import annotations

import gc
import hashlib
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from codequarry.cleaners import clean, decision_map, decision_store
from codequarry.cleaners.near_dedup import Decision as NearDecision
from codequarry.cleaners.near_dedup import NearDedup
from codequarry.cleaners.recipe import load_recipe
from codequarry.errors import CodequarryError
from codequarry.pairs import PairsDir


def _members(n: int) -> dict[str, tuple[str, int]]:
    return {f"id-{(i * 7919) % 1_000_003:07d}": (f"kept-{i // 5:07d}", 5 + i % 3) for i in range(n)}


def test_lookups_are_exact_and_values_keep_their_types(tmp_path: Path) -> None:
    cases = {
        "copies": {f"r{i}": f"k{i // 3}" for i in range(5000)},
        "members": _members(5000),
        "leaks": {f"t{i}": (f"h{i}", "test" if i % 2 else "valid", "near" if i % 3 else "exact") for i in range(5000)},
        "rows": {f"dup-{i}": i * 2 for i in range(5000)},
        "mixed": {f"x{i}": (None if i % 4 else "a", i % 2 == 0, float(i)) for i in range(5000)},
    }
    for name, value in cases.items():
        assert decision_map.encodable(value), name
        decision_map.write(tmp_path / name, value)
        loaded = decision_map.read(tmp_path / name)
        assert loaded == value and value == loaded and list(loaded) == list(value)  # insertion order kept
        probe = [*list(value)[::97], "absent", "", "r1 "]
        assert loaded.get_many(probe) == [value.get(k) for k in probe]
        assert [type(x) for v in loaded.get_many(list(value)) for x in (v if isinstance(v, tuple) else (v,))] == \
            [type(x) for v in value.values() for x in (v if isinstance(v, tuple) else (v,))]
        k = next(iter(value))
        assert loaded[k] == value[k] and k in loaded and "absent" not in loaded and 3 not in loaded
        with pytest.raises(KeyError):
            loaded["absent"]
    assert not decision_map.encodable({"a": 1})  # small: stays JSON
    assert not decision_map.encodable({f"k{i}": (i if i else "s") for i in range(5000)})  # mixed value types
    assert not decision_map.encodable({i: 1 for i in range(5000)})  # keys not strings


def test_keys_that_share_a_hash_are_told_apart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = decision_map.key_hashes
    monkeypatch.setattr(decision_map, "key_hashes", lambda keys: real(keys) % np.uint64(7))  # 7 buckets: collisions
    value = {f"id{i}": f"v{i}" for i in range(5000)}
    decision_map.write(tmp_path / "m", value)
    loaded = decision_map.read(tmp_path / "m")
    assert loaded.get_many([*value, "id5000", "nope"]) == [*value.values(), None, None]


def test_compact_save_writes_arrow_beside_the_json_and_loads_equal(tmp_path: Path) -> None:
    step = NearDedup.from_config({})
    decision = NearDecision(members=_members(20_000), short=frozenset({"s1", "s2"}), stats={"rows": 3})
    path = tmp_path / "decision-014.json"
    decision_store.save(path, step, decision, compact=True)
    assert decision_store.map_path(path, 0).is_file() and path.stat().st_size < 1000  # the rows are in the Arrow file
    loaded = decision_store.load(path, step)
    assert isinstance(loaded.members, decision_map.ArrowMap) and loaded == decision
    decision_store.save(tmp_path / "plain.json", step, decision)  # without compact: JSON only, as before
    assert type(decision_store.load(tmp_path / "plain.json", step).members) is dict


@pytest.mark.parametrize("damage", ["missing", "truncated", "foreign"])
def test_a_damaged_decision_file_is_a_clear_error(tmp_path: Path, damage: str) -> None:
    step = NearDedup.from_config({})
    path = tmp_path / "decision-014.json"
    decision_store.save(path, step, NearDecision(members=_members(5000), short=frozenset(), stats={}), compact=True)
    side = decision_store.map_path(path, 0)
    if damage == "missing":
        side.unlink()
    elif damage == "truncated":
        side.write_bytes(side.read_bytes()[:300])
    else:
        import pyarrow as pa

        table = pa.table({"key": ["a"], "v0": [1], "_hash": pa.array([5], pa.uint64()), "_row": pa.array([7])})
        with pa.OSFile(str(side), "wb") as sink, pa.ipc.new_file(sink, table.schema) as w:
            w.write_table(table)  # no metadata, row index out of range
    with pytest.raises(CodequarryError, match="overwrite"):
        decision_store.load(path, step)


def test_a_compact_decision_costs_a_worker_little_memory(tmp_path: Path) -> None:
    step = NearDedup.from_config({})
    n = 200_000
    decision = NearDecision(members=_members(n), short=frozenset(), stats={})
    for compact in (False, True):
        path = tmp_path / f"d{compact}.json"
        decision_store.save(path, step, decision, compact=compact)
        gc.collect()
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            loaded = decision_store.load(path, step)
            gc.collect()
            held = tracemalloc.get_traced_memory()[0] - base
        finally:
            tracemalloc.stop()
        assert len(loaded.members) == n
        if compact:  # Arrow buffers, memory-mapped: a few bytes of Python objects a row at most
            assert held < 5 * n, held / n
        else:  # the JSON dict: keys, slots, shared values (≳ 80 B a row)
            assert held > 50 * n, held / n
        del loaded


def _digest(path: Path) -> dict[str, str]:
    return {p.relative_to(path).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file() and p.relative_to(path).parts[0] in ("data", "exclusions")}


def test_a_clean_with_every_decision_as_arrow_gives_the_same_output(stdlib_pairs: PairsDir, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    recipe = load_recipe(preset="default")
    plain = clean(stdlib_pairs.path, tmp_path / "plain", recipe=recipe, workers=1, batch_rows=500)
    monkeypatch.setattr(decision_map, "MIN_ROWS", 1)  # every non-empty regular dict becomes an ArrowMap
    saved: list[str] = []
    real_write = decision_map.write
    monkeypatch.setattr(decision_map, "write", lambda path, value: (saved.append(path.name), real_write(path, value)))
    arrow = clean(stdlib_pairs.path, tmp_path / "arrow", recipe=recipe, workers=1, batch_rows=500)
    assert len(saved) >= 2, saved  # exact_dedup's and near_dedup's decisions at least
    assert arrow["fingerprint"] == plain["fingerprint"] and arrow["counts"] == plain["counts"]
    assert _digest(tmp_path / "arrow") == _digest(tmp_path / "plain")


def test_a_union_of_parts_is_saved_column_by_column_as_the_dict_union_would_be(tmp_path: Path) -> None:
    """The Ray engine's partitioned resolve merges its parts' decisions (memory-mapped maps and small dicts) straight
    into one map file: the same files ``save(union, compact=True)`` writes, byte for byte."""
    from codequarry.cleaners.exact_dedup import ExactDedup, Params

    step = ExactDedup(Params())
    items = [(f"row-{(i * 7919) % 100_003:06d}", f"kept-{i // 4:06d}") for i in range(12_000)]
    chunks = [dict(items[:5000]), dict(items[5000:5100]), {}, dict(items[5100:])]  # large, small, empty, large
    parts = []
    for i, d in enumerate(chunks):
        decision_store.save(tmp_path / f"part-{i}.json", step, d, compact=True)
        parts.append(decision_store.load(tmp_path / f"part-{i}.json", step))
    assert isinstance(parts[0], decision_map.ArrowMap) and type(parts[1]) is dict
    merged, reference = tmp_path / "decision-013.json", tmp_path / "ref" / "decision-013.json"
    reference.parent.mkdir()
    decision_store.save_union(merged, step, parts)
    decision_store.save(reference, step, dict(items), compact=True)
    for a, b in ((merged, reference), (decision_store.map_path(merged, 0), decision_store.map_path(reference, 0))):
        assert a.read_bytes() == b.read_bytes(), a.name
    assert list(decision_store.load(merged, step).items()) == items


def test_a_union_of_irregular_or_overlapping_parts(tmp_path: Path) -> None:
    from codequarry.cleaners.exact_dedup import ExactDedup, Params

    step = ExactDedup(Params())
    words = {f"a{i}": f"x{i}" for i in range(5000)}
    numbers = {f"b{i}": i for i in range(5000)}  # another value type: merged as dicts, stored as save() would
    decision_store.save_union(tmp_path / "mixed.json", step, [words, numbers])
    assert decision_store.load(tmp_path / "mixed.json", step) == {**words, **numbers}
    with pytest.raises(RuntimeError, match="share a key"):
        decision_store.save_union(tmp_path / "twice.json", step, [words, {"a1": "y", **{f"c{i}": "z" for i in range(5000)}}])
    with pytest.raises(RuntimeError, match="share a key"):
        decision_store.save_union(tmp_path / "twice-small.json", step, [{"a": "1"}, {"a": "2"}])
