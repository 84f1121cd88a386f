"""The final write of a clean is planned from the rows alone (``output_plan``), so the local engine with 1 and 2
workers and the Ray engine on a two-node cluster, also after a kill in the write phase, write byte-identical
output folders: every data and exclusions file, the manifest, card and report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from codequarry.cleaners.output_plan import Layout, Piece, plan_output, schema_text
from codequarry.cleaners.output_shards import groups
from codequarry.cleaners.recipe import load_recipe
from codequarry.errors import CodequarryError
from codequarry.pairs import PairsDir

RECIPE = {
    "name": "output-bytes",
    "steps": [
        {"step": "not_null"},
        {"step": "code_length", "params": {"min_lines": 3, "max_chars": 100_000}},
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
# small enough that streams get several shards and row groups, cut inside chunks of 100 input rows
SMALL = Layout(max_shard_bytes=60_000, row_group_bytes=14_000, exclusion_rows=25)
BATCH = 100


def run_engine(engine: str, pairs: PairsDir, out: Path, *, workers: int = 1, layout: Layout | None = None
               ) -> dict[str, Any]:
    from codequarry.cleaners import local_engine, ray_engine

    module = ray_engine if engine == "ray" else local_engine
    return module.run(pairs, out, load_recipe(RECIPE), workers=workers, batch_rows=BATCH, layout=layout)


# -- the plan, against a reference that expands every row ----------------------------------------


def _schema(*fields: pa.Field) -> str:
    return schema_text(pa.schema([pa.field("id", pa.string()), *fields]))


def _expected(rows: list[tuple[Any, ...]], per: int) -> list[tuple[Piece, ...]]:
    """Rows given one by one as (chunk, index, step), cut every ``per`` rows, each cut's rows grouped into pieces."""
    out = []
    for k in range(0, len(rows), per):
        pieces: list[Piece] = []
        for c, i, step in rows[k:k + per]:
            last = pieces[-1] if pieces else None
            if last is not None and (last.chunk, last.step) == (c, step) and last.offset + last.length == i:
                pieces[-1] = Piece(c, last.offset, last.length + 1, step)
            else:
                pieces.append(Piece(c, i, 1, step))
        out.append(tuple(pieces))
    return out


def test_plan_cuts_each_stream_every_n_rows_across_chunks() -> None:
    s = _schema()
    stats = [
        {"chunk": 0, "streams": [["go", "train", 7, 700], ["python", "train", 5, 1000]], "schema": s,
         "exclusions": [[1, 3, 30, {"a": 3}]]},
        {"chunk": 1, "streams": [["python", "train", 6, 1200], ["python", "test", 4, 800]], "schema": s,
         "exclusions": [[1, 2, 20, {"a": 1, "b": 1}], [4, 5, 50, {"c": 5}]]},
        {"chunk": 2, "streams": [], "schema": None, "exclusions": [[1, 1, 10, {"a": 1}]]},
        {"chunk": 3, "streams": [["python", "train", 9, 1800]], "schema": s, "exclusions": []},
    ]
    plan = plan_output(stats, Layout(max_shard_bytes=900, row_group_bytes=450, exclusion_rows=4))
    # python/train: 20 rows of 200 bytes → 4 rows a shard (900 // 200), 2 a row group (450 // 200)
    train = [(c, i, None) for c, n in ((0, 5), (1, 6), (3, 9)) for i in range(n)]
    want = [("data/go/train-00000-of-00001.parquet", 7, 4, _expected([(0, i, None) for i in range(7)], 9)[0])]
    want += [(f"data/python/train-{k:05d}-of-00005.parquet", 4, 2, p) for k, p in enumerate(_expected(train, 4))]
    want += [("data/python/test-00000-of-00001.parquet", 4, 2, (Piece(1, 0, 4),))]
    excl = [(c, i, step) for step, c, n in ((1, 0, 3), (1, 1, 2), (1, 2, 1), (4, 1, 5)) for i in range(n)]
    want += [(f"exclusions/exclusions-{k:05d}-of-00003.parquet", sum(x.length for x in p), sum(x.length for x in p), p)
             for k, p in enumerate(_expected(excl, 4))]
    assert [(x.path, x.rows, x.group_rows, x.pieces) for x in plan.shards] == want
    assert [x.index for x in plan.shards] == list(range(len(want)))
    assert any(len({p.chunk for p in x.pieces}) > 1 for x in plan.shards if x.config == "python")
    assert plan.splits == {"go": {"train": 7}, "python": {"train": 20, "test": 4}}
    assert plan.split_bytes == {"go": {"train": 700}, "python": {"train": 4000, "test": 800}}
    assert plan.excluded == {1: Counter(a=5, b=1), 4: Counter(c=5)} and plan.schema == s


def test_plan_takes_a_later_chunks_columns_as_the_writer_does() -> None:
    first = {"chunk": 0, "streams": [["python", "train", 1, 10]], "schema": _schema(), "exclusions": []}
    castable = {**first, "chunk": 1, "schema": schema_text(pa.schema([pa.field("id", pa.large_string())]))}
    assert plan_output([first, castable]).schema == first["schema"]
    extra = {**first, "chunk": 1, "schema": _schema(pa.field("stars", pa.int64()))}
    with pytest.raises(CodequarryError, match=r"columns \['stars'\] appeared after the first batch"):
        plan_output([first, extra])


def test_groups_are_contiguous_tables_of_exactly_n_rows() -> None:
    parts = [pa.table({"x": list(range(a, b))}) for a, b in ((0, 3), (3, 8), (8, 9), (9, 9), (9, 13))]
    out = list(groups(parts, 4))
    assert [t.num_rows for t in out] == [4, 4, 4, 1]
    assert all(t["x"].num_chunks == 1 for t in out)
    assert [v for t in out for v in t["x"].to_pylist()] == list(range(13))


# -- the local engine, against itself and the format --------------------------------------------


@pytest.fixture(scope="module")
def local_small(mixed_pairs: PairsDir, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("local-small") / "out"
    run_engine("local", mixed_pairs, out, layout=SMALL)
    return out


def test_local_engine_writes_the_same_bytes_with_1_and_2_workers(mixed_pairs: PairsDir, local_small: Path,
                                                                 tmp_path: Path, h: Any) -> None:
    run_engine("local", mixed_pairs, tmp_path / "w2", workers=2, layout=SMALL)
    assert h.tree_digest(tmp_path / "w2") == h.tree_digest(local_small)
    for workers in (1, 2):
        run_engine("local", mixed_pairs, tmp_path / f"default-w{workers}", workers=workers)
    assert h.tree_digest(tmp_path / "default-w1") == h.tree_digest(tmp_path / "default-w2")


def _input_positions(pairs: PairsDir) -> dict[str, int]:
    """Row id → position in the input's canonical order (the order chunks are planned in)."""
    out: dict[str, int] = {}
    for config, split in pairs.parts():
        for path in pairs.files(split=split, config=config):
            for rid in pq.read_table(path, columns=["id"])["id"].to_pylist():
                out[rid] = len(out)
    return out


def test_local_output_is_cut_every_n_rows_in_groups_of_g(mixed_pairs: PairsDir, local_small: Path) -> None:
    """Each stream's shards hold N rows and its row groups G rows (the last of each may be shorter), with N and G
    from the stream's rows and bytes in the manifest; rows are in input order; exclusions in (step, row) order."""
    m = PairsDir(local_small, verify="full").manifest
    assert len(m["splits"]) >= 2 and len(m["splits"]["python"]) == 3
    positions = _input_positions(mixed_pairs)
    several = 0
    for config, parts in m["splits"].items():
        for split, rows in parts.items():
            nbytes = m["split_bytes"][config][split]
            n = max(1, SMALL.max_shard_bytes * rows // nbytes)
            g = max(1, SMALL.row_group_bytes * rows // nbytes)
            files = [f for f in m["files"] if (f["config"], f["split"]) == (config, split)]
            assert [f["rows"] for f in files] == [min(n, rows - k * n) for k in range(len(files))]
            assert sum(f["rows"] for f in files) == rows and files[-1]["path"].endswith(f"-of-{len(files):05d}.parquet")
            order = []
            for f in files:
                meta = pq.read_metadata(local_small / f["path"])
                sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
                assert sizes[:-1] == [g] * (len(sizes) - 1) and 0 < sizes[-1] <= g, (f["path"], sizes, g)
                several += len(sizes) > 1
                order += [positions[i] for i in pq.read_table(local_small / f["path"], columns=["id"])["id"].to_pylist()]
            assert order == sorted(order)
    assert several >= 3 and len(m["files"]) >= 8
    steps = [s["name"] for s in m["steps"]]
    keys = []
    for f in m["exclusion_files"]:
        t = pq.read_table(local_small / f["path"])
        assert t.num_rows == f["rows"] <= SMALL.exclusion_rows
        keys += [(steps.index(s), int(loc.removeprefix("input row "))) for s, loc in
                 zip(t["step"].to_pylist(), t["locator"].to_pylist())]
    assert keys == sorted(keys) and len(set(keys)) == len(keys) == m["counts"]["excluded"]
    assert len(m["exclusion_files"]) >= 2 and len({k[0] for k in keys}) >= 4


def test_an_empty_output_has_no_shards_and_the_core_schema(make_pairs: Any, h: Any, tmp_path: Path) -> None:
    pairs = make_pairs({"train": [h.row(i, code="x = 1") for i in range(5)]})
    m = run_engine("local", pairs, tmp_path / "out")
    assert m["files"] == [] and m["counts"]["written"] == 0 and len(m["exclusion_files"]) == 1
    assert [f["name"] for f in m["schema"]][:3] == ["id", "query", "code"]
    PairsDir(tmp_path / "out", verify="full")


def test_a_second_clean_in_one_process_writes_its_own_rows(make_pairs: Any, stdlib_dir: Path, tmp_path: Path,
                                                           h: Any) -> None:
    """Shards are cut from the chunk files of this run, even where an earlier clean into the same folder (same
    chunk names, other rows) ran in the same process (one chunk: the second run's first read is that chunk)."""
    from codequarry.cleaners import local_engine

    pairs = make_pairs({"train": h.stdlib_rows(stdlib_dir, 60)})
    recipe = {"name": "lines", "steps": [{"step": "code_length", "params": {"min_lines": 3}}]}
    stricter = {"name": "lines", "steps": [{"step": "code_length", "params": {"min_lines": 12}}]}
    for r, out in ((stricter, "out"), (recipe, "out"), (recipe, "fresh")):
        local_engine.run(pairs, tmp_path / out, load_recipe(r), batch_rows=BATCH, overwrite=True)
    assert PairsDir(tmp_path / "out").num_rows() > 40
    assert h.tree_digest(tmp_path / "out") == h.tree_digest(tmp_path / "fresh")


# -- the Ray engine on a two-node cluster --------------------------------------------------------


def test_ray_on_two_nodes_writes_the_local_bytes(cluster: Any, mixed_pairs: PairsDir, local_small: Path,
                                                 tmp_path: Path, h: Any) -> None:
    import ray

    assert ray.cluster_resources()["CPU"] == 2
    run_engine("ray", mixed_pairs, tmp_path / "ray", workers=2, layout=SMALL)
    assert h.tree_digest(tmp_path / "ray") == h.tree_digest(local_small)


_SCRIPT = """
import sys
from pathlib import Path
from codequarry.cleaners import ray_engine
from codequarry.cleaners.output_plan import Layout
from codequarry.cleaners.recipe import load_recipe
from codequarry.pairs import PairsDir
import json
recipe, layout = json.loads(sys.argv[3]), Layout(**json.loads(sys.argv[4]))
ray_engine.run(PairsDir(sys.argv[1]), Path(sys.argv[2]), load_recipe(recipe), batch_rows=int(sys.argv[5]), layout=layout)
"""


def test_ray_killed_in_the_write_phase_then_rerun_writes_the_same_bytes(
        cluster: Any, mixed_pairs: PairsDir, local_small: Path, tmp_path: Path, kill_when: Any, h: Any) -> None:
    """SIGKILL a Ray driver (and its process group) once some output shards are written, rerun the same command:
    the rest is written and the folder equals the local engine's byte for byte."""
    import dataclasses

    out = tmp_path / "ray"
    script = tmp_path / "run.py"
    script.write_text(_SCRIPT)
    cmd = [sys.executable, str(script), str(mixed_pairs.path), str(out), json.dumps(RECIPE),
           json.dumps(dataclasses.asdict(SMALL)), str(BATCH)]
    env = {**os.environ, "CODEQUARRY_PROGRESS": "0", "RAY_ADDRESS": cluster.address}
    write = out / ".codequarry-work" / "write"
    kill_when(cmd, env, lambda: write.is_dir() and len(list(write.glob("shard-*.json"))) >= 3, 240.0, poll=0.005)
    assert not (out / "codequarry.json").exists()
    assert 3 <= len(list(write.glob("shard-*.json"))) < 20  # killed part-way through the shards
    rc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert rc.returncode == 0, rc.stderr[-3000:]
    assert h.tree_digest(out) == h.tree_digest(local_small)


class _Stop(Exception):
    pass


@pytest.mark.parametrize("forged", [
    '{"chunk": 1, "streams": [], "schema": null, "exclusions": []}',
    '{"chunk": 0, "streams": [["../../etc", "train", 1, 10]], "schema": null, "exclusions": []}',
    '{"chunk": 0, "streams": [["python", "train", -4, 10]], "schema": null, "exclusions": []}',
    '{"chunk": 0, "streams": [], "schema": null, "exclusions": [[99, 1, 10, {"x": 1}]]}',
    '{"chunk": 0, "streams": [], "schema": "not base64 IPC", "exclusions": []}',
    '[]',
])
def test_forged_write_state_is_a_clear_error_and_an_honest_one_resumes(
        mixed_pairs: PairsDir, local_small: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, h: Any,
        forged: str) -> None:
    """The write phase's markers are data in the work dir: a forged chunk statistic or shard account is a one-line
    error that says to start over; put back, the interrupted clean resumes to the uninterrupted bytes."""
    from codequarry.cleaners import output_shards

    real, written = output_shards.write_shard, []

    def stop_after_two(*args: Any, **kw: Any) -> Any:
        if len(written) == 2:
            raise _Stop
        written.append(1)
        return real(*args, **kw)

    out = tmp_path / "out"
    with monkeypatch.context() as m:
        m.setattr(output_shards, "write_shard", stop_after_two)
        with pytest.raises(_Stop):
            run_engine("local", mixed_pairs, out, layout=SMALL)
    write = out / ".codequarry-work" / "write"
    stats, shard = write / "stats-c000000.json", write / "shard-000001.json"
    honest = stats.read_text(), shard.read_text()
    stats.write_text(forged)
    with pytest.raises(CodequarryError, match="not the chunk statistics of this clean.*--overwrite") as info:
        run_engine("local", mixed_pairs, out, layout=SMALL)
    assert "\n" not in str(info.value)
    stats.write_text(honest[0])
    shard.write_text(json.dumps({**json.loads(honest[1]), "sha256": "../x"}))
    with pytest.raises(CodequarryError, match="not a shard account of this clean.*--overwrite"):
        run_engine("local", mixed_pairs, out, layout=SMALL)
    shard.write_text(honest[1])
    run_engine("local", mixed_pairs, out, layout=SMALL)
    assert h.tree_digest(out) == h.tree_digest(local_small)
