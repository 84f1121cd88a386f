"""Spilled resolve state: keep order by sorted runs and a k-way merge, files cleaned up, bounded memory."""

from __future__ import annotations

import random
import tracemalloc
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from codequarry.cleaners.keep_rule import keep_order_key
from codequarry.cleaners.near_dedup import NearDedup
from codequarry.cleaners.spill import Spill
from codequarry.errors import CodequarryError
from codequarry.schema import rows_to_table

SPLITS = ["train", "test", "valid", None, "holdout", "dev", ""]


def _tables(n: int, seed: int = 0, per: int = 97) -> list[pa.Table]:
    rng = random.Random(seed)
    ids = [f"id{rng.randrange(10**9):09d}-{i}" for i in range(n)]
    splits = [rng.choice(SPLITS) for _ in range(n)]
    return [pa.table({"id": pa.array(ids[i:i + per], pa.string()), "split": pa.array(splits[i:i + per], pa.string()),
                      "ntok": pa.array(np.arange(i, min(n, i + per)), pa.int32())}) for i in range(0, n, per)]


def test_keep_order_equals_sorting_by_the_keep_rule(tmp_path: Path):
    tables = _tables(1000)
    rows = [(i, s) for t in tables for i, s in zip(t["id"].to_pylist(), t["split"].to_pylist())]
    expected = sorted(range(len(rows)), key=lambda a: keep_order_key(rows[a][1], rows[a][0]))
    with Spill(iter(tables + [tables[0].slice(0, 0)]), tmp_path) as spill:
        assert spill.n == 1000 and len(spill.paths) == len(tables)  # empty tables are not spilled
        assert all(p.parent == tmp_path / "spill" for p in spill.paths)
        pos = spill.keep_order("near_dedup")
        assert (np.argsort(pos) == np.array(expected)).all()
        assert spill.numbers("ntok").tolist() == list(range(1000))
        assert spill.strings("id", np.array([5, 999, 5])) == {5: rows[5][0], 999: rows[999][0]}
        assert not list((tmp_path / "spill").glob("*.run.arrow"))  # runs are removed once merged
    assert not (tmp_path / "spill").exists()


def test_without_a_workdir_the_spill_uses_a_temporary_folder():
    with Spill(iter(_tables(10)), None) as spill:
        folder = spill.dir
        assert folder.is_dir() and spill.n == 10
    assert not folder.exists()


def test_duplicate_ids_are_refused_by_name(tmp_path: Path):
    tables = _tables(300)
    dup = tables[2]["id"][5].as_py()
    bad = tables + [pa.table({"id": pa.array([dup]), "split": pa.array(["train"]), "ntok": pa.array([1], pa.int32())})]
    with Spill(iter(bad), tmp_path) as spill, pytest.raises(CodequarryError, match=f"row id '{dup}' occurs more than once"):
        spill.keep_order("near_dedup")


def _code_batch(n: int, start: int) -> pa.Table:
    body = "    total = 0\n    for v in values:\n        total += v * {k}\n    return total + offset + {k}\n"
    rows = [{"id": f"r{i:07d}", "code": f"def f{i}(values, offset):\n" + body.format(k=i - (i % 50 == 1)),
             "language": "python", "query": "q"} for i in range(start, start + n)]
    table = rows_to_table(rows)
    return table.append_column("split", pa.array([("train", "valid", "test")[i % 3] for i in range(n)], pa.string()))


def test_near_dedup_resolve_memory_stays_small_per_row(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from codequarry.cleaners import spill as spill_mod

    # band columns are read a group at a time (a fixed budget of hashes): at 4M rows a group is 4 bands, as here
    monkeypatch.setattr(spill_mod, "_BAND_GROUP_VALUES", 4 * 20000)
    # the rows share one template: with the Type-3 rule's wide canonical bands every row would be a verified
    # candidate (whose sets verify_edges holds a block at a time, see below); this test is about the per-row state
    step = NearDedup.from_config({"type3_threshold": 0.7})
    mapped = [step.map(_code_batch(2000, s)) for s in range(0, 20000, 2000)]
    files = tmp_path / "mapped"
    files.mkdir()
    paths = []
    for k, t in enumerate(mapped):  # as the local engine does: mapped tables on disk, read back one at a time
        paths.append(files / f"{k}.arrow")
        with pa.OSFile(str(paths[-1]), "wb") as sink, pa.ipc.new_file(sink, t.schema) as w:
            w.write_table(t)
    del mapped

    def read():
        for p in paths:
            with pa.memory_map(str(p), "r") as src:
                yield pa.ipc.open_file(src).read_all()

    tracemalloc.start()
    decision = step.resolve(read(), tmp_path / "work")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert decision.stats["rows"] == 20000 and decision.stats["clusters"] > 0
    # one band column, positions and flags per row, and the candidate rows' shingle sets (measured 360 B a row);
    # holding every row's bands and shingle sets, as resolve did before the spill, peaked at 1,150 B a row
    assert peak < 500 * 20000, peak


def _dup_batch(n: int, start: int) -> pa.Table:
    """Rows in groups of 5 near copies (a renamed local), so every row is a verified candidate."""
    rows = []
    for i in range(start, start + n):
        g, k = divmod(i, 5)
        var = ("acc", "total", "s", "run", "agg")[k]
        code = (f"def f{g}(values, offset):\n    {var} = {g}\n    for v in values:\n        {var} += v * {g} - offset\n"
                f"        {var} = {var} % {g + 7}\n    return {var} + offset\n")
        rows.append({"id": f"r{(i * 7919) % 100003:07d}", "code": code, "language": "python", "query": "q"})
    table = rows_to_table(rows)
    return table.append_column("split", pa.array(["train"] * n, pa.string()))


def test_verification_holds_only_one_block_of_shingle_sets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Near-dedup verifies candidate pairs a block at a time with only that block's shingle sets (bounded memory
    at any row count), and decides exactly as when every pair is verified at once."""
    from codequarry.cleaners import clusters
    from codequarry.cleaners import spill as spill_mod

    step = NearDedup.from_config({})
    mapped = [step.map(_dup_batch(500, s)) for s in range(0, 3000, 500)]
    whole = step.resolve(iter(mapped), tmp_path / "a")
    assert whole.stats["verified_pairs"] > 2000 and whole.stats["duplicates"] >= 2000

    seen: list[tuple[int, int]] = []
    verify = clusters.verify_pairs

    def spy(edges, views, thresholds):
        seen.append((len(edges), max(len(v) for v in views)))
        return verify(edges, views, thresholds)

    monkeypatch.setattr(spill_mod, "_VERIFY_EDGES", 300)
    monkeypatch.setattr("codequarry.cleaners.minhash.verify_pairs", spy)
    blocked = step.resolve(iter(mapped), tmp_path / "b")
    assert blocked == whole
    assert len(seen) > 5 and all(e <= 300 and rows <= 600 for e, rows in seen), seen


@pytest.mark.parametrize("group_values", [1, 3 * 1000, 10**9])
def test_band_columns_are_read_a_group_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, group_values: int):
    from codequarry.cleaners import spill as spill_mod

    rng = np.random.default_rng(0)
    width, sizes = 7, [300, 0, 450, 250]
    mats = [rng.integers(0, 2**64 - 1, (m, width), dtype=np.uint64) for m in sizes]
    tables = [pa.table({"bands": pa.FixedSizeListArray.from_arrays(pa.array(m.reshape(-1), pa.uint64()), width)})
              for m in mats]
    monkeypatch.setattr(spill_mod, "_BAND_GROUP_VALUES", group_values)  # 1 band, 3 bands, all bands per read
    with Spill(iter(tables), tmp_path) as spill:
        got = [b.copy() for b in spill.bands("bands", width)]
    whole = np.concatenate(mats)
    assert len(got) == width and all((g == whole[:, b]).all() for b, g in enumerate(got))


@pytest.mark.parametrize("sort_bytes", [0, 1 << 40])
def test_exact_dedup_decides_the_same_with_runs_or_one_sort(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             sort_bytes: int):
    """Keys sorted in memory or as runs merged from disk: the same keep order and exact_dedup decision, which
    match a plain sort by the keep rule (groups of equal code that straddle sorted batches included)."""
    from codequarry.cleaners import spill as spill_mod
    from codequarry.cleaners.exact_dedup import ExactDedup

    monkeypatch.setattr(spill_mod, "_SORT_BYTES", sort_bytes)  # 0: every table is a run, as past the budget
    monkeypatch.setattr(spill_mod, "_RUN_BATCH", 37)  # small batches: groups straddle them
    rng = random.Random(3)
    step = ExactDedup.from_config({"normalize": False})
    rows = [{"id": f"i{rng.randrange(10**6):06d}-{i}", "code": f"x = {rng.randrange(40)}\n", "split": rng.choice(SPLITS)}
            for i in range(900)]
    tables = [pa.table({"id": pa.array([r["id"] for r in rows[s:s + 100]]),
                        "code": pa.array([r["code"] for r in rows[s:s + 100]]),
                        "language": pa.array(["python"] * len(rows[s:s + 100])),
                        "split": pa.array([r["split"] for r in rows[s:s + 100]], pa.string())}) for s in range(0, 900, 100)]
    decision = step.resolve(iter([step.map(t) for t in tables]), tmp_path)
    expected: dict[str, str] = {}
    kept: dict[str, str] = {}
    for r in sorted(rows, key=lambda r: keep_order_key(r["split"], r["id"])):
        if r["code"] in kept:
            expected[r["id"]] = kept[r["code"]]
        else:
            kept[r["code"]] = r["id"]
    assert decision == expected and len(expected) > 800
    with Spill(iter(tables), tmp_path / "order") as spill:
        pos = spill.keep_order("near_dedup")
    order = sorted(range(900), key=lambda a: keep_order_key(rows[a]["split"], rows[a]["id"]))
    assert (np.argsort(pos) == np.array(order)).all()
