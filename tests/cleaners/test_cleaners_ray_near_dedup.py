"""Near-dedup (and, on the cluster, leakage) resolved in stages over chunks and parts decides exactly what the step's own
resolve decides over every row at once: the same clusters, kept rows, short rows and stats, whatever the part
count, with and without verification, on real functions with planted renamed clones spread across chunks."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from codequarry.cleaners import decision_store, ray_near_dedup
from codequarry.cleaners.local_engine import read_arrow
from codequarry.cleaners.ray_batch_files import write_batches
from codequarry.errors import CodequarryError
from codequarry.pairs import PairsDir


def rename_locals(code: str, tag: str) -> str:
    """A renamed clone: every parameter and assigned local name of the function gets a new name (a Type-2 clone)."""
    tree = ast.parse(code)
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.arg) and node.arg not in ("self", "cls"):
            names.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    for i, name in enumerate(sorted(names)):
        code = re.sub(rf"(?<![\w.]){re.escape(name)}\b", f"{tag}_v{i}", code)
    return code


def clone_rows(h: Any, stdlib_dir: Path, base_rows: int = 240) -> dict[str, list[dict[str, Any]]]:
    """Real stdlib functions; the first 30 get two renamed clones each, placed far from their original (other
    chunks, other splits), and 10 get an exact copy, so clusters of 2 and 3 cross chunk and split borders."""
    base = [r for r in h.stdlib_rows(stdlib_dir, base_rows) if len(r["code"].splitlines()) >= 4]
    rows = list(base)
    for k in (1, 2):
        for r in base[:30]:
            try:
                code = rename_locals(r["code"], f"r{k}")
            except SyntaxError:  # a method body extracted without its class is still valid; skip any other
                continue
            rows.append({**r, "id": f"{r['id']}-clone{k}", "code": code})
    rows += [{**r, "id": f"{r['id']}-copy"} for r in base[40:50]]
    parts: dict[str, list[dict[str, Any]]] = {"train": [], "valid": [], "test": []}
    for i, r in enumerate(rows):
        parts[h.split_of(i)].append(r)
    return parts



@pytest.fixture(scope="module")
def clones(h: Any, stdlib_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> PairsDir:
    return h.write_pairs(tmp_path_factory.mktemp("clones") / "in", clone_rows(h, stdlib_dir), max_shard_rows=90)


@pytest.mark.parametrize(("params", "parts"), [
    ({}, 1), ({}, 3), ({}, 8),
    ({"verify": False}, 3),
    ({"drop_short": True, "min_tokens": 40}, 2),
])
def test_staged_resolve_is_the_steps_resolve(clones: PairsDir, tmp_path: Path, params: dict[str, Any],
                                             parts: int, work_at_step: Any) -> None:
    work, k = work_at_step(clones, tmp_path / "w",
                           [{"step": "exact_dedup"}, {"step": "near_dedup", "params": params}],
                           "near_dedup", 70)
    step_i = work.passes[k].map
    step = work.steps[step_i]
    whole = step.resolve((read_arrow(work.map_path(k, c.index)) for c in work.chunks), tmp_path / "whole")
    ray_near_dedup.resolve_in_process(work, k, parts)
    staged = decision_store.load(work.decision_path(step_i), step)
    assert staged == whole
    assert list(staged.members) == list(whole.members)  # same order too (keep order)
    assert not (work.work / f"resolve-{step_i:03d}").exists()  # the stage files are gone
    # the planted clusters are there, several of them crossing chunk borders
    assert whole.stats["clusters"] >= 10 and whole.stats["duplicates"] >= 20
    chunk_of = {r: c.index for c in work.chunks
                for r in read_arrow(work.map_path(k, c.index)).column("id").to_pylist()}
    crossing = {kept for rid, (kept, _) in whole.members.items() if chunk_of[rid] != chunk_of[kept]}
    assert len(crossing) >= 10
    if params.get("drop_short"):
        assert whole.short and staged.short == whole.short


def test_verification_in_small_blocks_decides_the_same(clones: PairsDir, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       work_at_step: Any) -> None:
    """Candidate pairs are verified a block at a time (bounded memory); blocks of 7 pairs give the same decision."""
    work, k = work_at_step(clones, tmp_path / "w",
                           [{"step": "exact_dedup"}, {"step": "near_dedup", "params": {}}],
                           "near_dedup", 70)
    step_i = work.passes[k].map
    step = work.steps[step_i]
    whole = step.resolve((read_arrow(work.map_path(k, c.index)) for c in work.chunks), tmp_path / "whole")
    monkeypatch.setattr(ray_near_dedup, "VERIFY_BLOCK", 7)
    ray_near_dedup.resolve_in_process(work, k, 2)
    assert decision_store.load(work.decision_path(step_i), step) == whole
    assert whole.stats["candidate_pairs"] > 7 * 3


def test_a_large_decision_is_saved_compact_as_the_local_engine_saves_it(clones: PairsDir, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch,
                                                                         work_at_step: Any) -> None:
    """Past decision_map.MIN_ROWS entries the members go into a memory-mapped Arrow file beside the JSON (what
    the local engine's resolve writes), and load back equal to the step's decision."""
    from codequarry.cleaners import decision_map

    monkeypatch.setattr(decision_map, "MIN_ROWS", 1)
    work, k = work_at_step(clones, tmp_path / "w",
                           [{"step": "exact_dedup"}, {"step": "near_dedup", "params": {}}],
                           "near_dedup", 70)
    step_i = work.passes[k].map
    step = work.steps[step_i]
    whole = step.resolve((read_arrow(work.map_path(k, c.index)) for c in work.chunks), tmp_path / "whole")
    ray_near_dedup.resolve_in_process(work, k, 2)
    assert decision_store.map_path(work.decision_path(step_i), 0).exists()
    staged = decision_store.load(work.decision_path(step_i), step)
    assert isinstance(staged.members, decision_map.ArrowMap) and staged == whole


def test_a_rerun_after_an_interruption_redoes_only_what_is_missing(clones: PairsDir, tmp_path: Path,
                                                                      work_at_step: Any) -> None:
    work, k = work_at_step(clones, tmp_path / "w",
                           [{"step": "exact_dedup"}, {"step": "near_dedup", "params": {}}],
                           "near_dedup", 70)
    step_i = work.passes[k].map
    step = work.steps[step_i]
    whole = step.resolve((read_arrow(work.map_path(k, c.index)) for c in work.chunks), tmp_path / "whole")
    for c in work.chunks:  # a run stopped after cutting every chunk and pairing one part
        ray_near_dedup.cut_chunk(work, k, c.index, 3)
    ray_near_dedup.pair_part(work, k, 0, 3)
    done = sorted((work.work / f"resolve-{step_i:03d}").rglob("*.arrow"))
    stamps = [p.stat().st_mtime_ns for p in done]
    ray_near_dedup.cut_chunk(work, k, 0, 3)
    ray_near_dedup.pair_part(work, k, 0, 3)
    assert [p.stat().st_mtime_ns for p in done] == stamps  # finished pieces are not redone
    ray_near_dedup.resolve_in_process(work, k, 3)
    assert decision_store.load(work.decision_path(step_i), step) == whole


def test_only_the_minhash_method_is_staged() -> None:
    from codequarry.cleaners.near_dedup import NearDedup, Params

    assert ray_near_dedup.distributed(NearDedup(Params()))
    assert not ray_near_dedup.distributed(NearDedup(Params(method="identifiers")))


# -- on a real two-node Ray cluster -------------------------------------------------------------------------

RECIPE = {"name": "ray-near-dedup", "steps": [{"step": "not_null"}, {"step": "exact_dedup"}, {"step": "near_dedup"}]}
BATCH = 25  # many chunks, so clusters cross chunk borders and every stage has several tasks



@pytest.fixture(scope="module")
def local_clean(clones: PairsDir, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from codequarry.cleaners import clean

    m = clean(clones.path, tmp_path_factory.mktemp("local") / "out", recipe=RECIPE, batch_rows=BATCH)
    near = next(s for s in m["steps"] if s["name"] == "near_dedup")
    assert near["summary"]["clusters"] >= 10 and near["summary"]["duplicates"] >= 20
    return m


def _same(m: dict[str, Any], local: dict[str, Any]) -> None:
    assert m["fingerprint"] == local["fingerprint"]
    for key in ("counts", "splits", "steps"):
        assert m[key] == local[key], key


@pytest.mark.parametrize("workers", [1, 2])
def test_ray_near_dedup_matches_local_on_two_nodes(cluster: Any, clones: PairsDir, local_clean: dict[str, Any],
                                                   tmp_path: Path, workers: int) -> None:
    import ray

    from codequarry.cleaners import clean

    assert ray.cluster_resources()["CPU"] == 2
    m = clean(clones.path, tmp_path / "ray", recipe=RECIPE, engine="ray", workers=workers, batch_rows=BATCH)
    _same(m, local_clean)


LEAK_RECIPE = {"name": "ray-leakage", "steps": [{"step": "not_null"}, {"step": "leakage"}]}


@pytest.mark.parametrize("workers", [1, 2])
def test_ray_leakage_matches_local_on_two_nodes(cluster: Any, clones: PairsDir, tmp_path: Path, workers: int) -> None:
    """The planted clones and copies straddle splits: train rows leak, exactly and near; Ray's band shuffle
    finds the same leaks (same held-out rows named) as the local engine."""
    from codequarry.cleaners import clean

    local = clean(clones.path, tmp_path / "local", recipe=LEAK_RECIPE, batch_rows=BATCH)
    leak = next(s for s in local["steps"] if s["name"] == "leakage")["summary"]
    assert leak["leaked"] >= 5 and set(leak["by_match"]) == {"exact", "near"}
    m = clean(clones.path, tmp_path / "ray", recipe=LEAK_RECIPE, engine="ray", workers=workers, batch_rows=BATCH)
    _same(m, local)
    assert _exclusions(tmp_path / "ray") == _exclusions(tmp_path / "local")


def _exclusions(out: Path) -> list[tuple[Any, ...]]:
    import pyarrow.parquet as pq

    rows = [r for p in sorted((out / "exclusions").rglob("*.parquet")) for r in pq.read_table(p).to_pylist()]
    return sorted((r["id"], r["reason"], r["detail"]) for r in rows)



def test_ray_near_dedup_killed_in_its_stages_then_rerun(cluster: Any, clones: PairsDir, local_clean: dict[str, Any],
                                                        tmp_path: Path, kill_when: Any) -> None:
    """SIGKILL the driver while the band records are being cut, rerun, kill it again once chunks are being
    verified, rerun to the end: the same decision and fingerprint as the local engine."""
    import os
    import subprocess
    import sys

    from codequarry.pairs import dump_yaml

    out = tmp_path / "ray"
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(dump_yaml(RECIPE))
    cmd = [str(Path(sys.executable).with_name("codequarry")), "clean", str(clones.path), "--out", str(out),
           "--recipe", str(recipe), "--engine", "ray", "--batch-rows", str(BATCH)]
    env = {**os.environ, "CODEQUARRY_PROGRESS": "0", "RAY_ADDRESS": cluster.address}
    work = out / ".codequarry-work"
    kill_when(cmd, env, lambda: work.is_dir() and any(work.glob("resolve-*/bands-*/cut/*.json")), 600.0)
    cut = sorted(work.glob("resolve-*/bands-*/cut/*.json"))
    stamps = {p: p.stat().st_mtime_ns for p in cut}
    kill_when(cmd, env, lambda: work.is_dir() and any(work.glob("resolve-*/bands-*/verified/*.json")), 600.0)
    assert not (out / "codequarry.json").exists()
    assert all(p.stat().st_mtime_ns == t for p, t in stamps.items())  # cut chunks were not cut again
    rc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert rc.returncode == 0, rc.stderr[-3000:]
    from codequarry.pairs import PairsDir as Pairs

    _same(Pairs(out, verify="full").manifest, local_clean)


def _files_by_stage(folder: Path) -> dict[str, int]:
    return {stage.name: sum(1 for f in stage.iterdir() if f.is_file()) for stage in folder.iterdir()}


def test_the_work_dir_holds_chunks_plus_parts_files_not_chunks_times_parts(clones: PairsDir, tmp_path: Path,
                                                                           work_at_step: Any) -> None:
    """Each cut task writes one file (a batch per part) and each pair task one file (a batch per chunk): the
    files of a resolve grow with chunks + parts, not chunks × parts (issue 15); the decision stays the step's."""
    work, k = work_at_step(clones, tmp_path / "w",
                           [{"step": "exact_dedup"}, {"step": "near_dedup", "params": {}}],
                           "near_dedup", 70)
    step_i = work.passes[k].map
    step = work.steps[step_i]
    chunks, parts = len(work.chunks), 8
    assert chunks >= 3
    ray_near_dedup.run_stages(ray_near_dedup, work, k, parts, decide=False)
    folder = work.work / f"resolve-{step_i:03d}" / f"bands-{parts:04d}"
    # cut: an Arrow file and its JSON account per chunk; pairs: one file per part; verified: as cut
    assert _files_by_stage(folder) == {"cut": 2 * chunks, "pairs": parts, "verified": 2 * chunks}
    ray_near_dedup.decide(work, k, parts)
    whole = step.resolve((read_arrow(work.map_path(k, c.index)) for c in work.chunks), tmp_path / "whole")
    assert decision_store.load(work.decision_path(step_i), step) == whole


@pytest.mark.parametrize("damage", ["missing", "truncated", "other_batch_count"])
def test_a_missing_or_damaged_shuffle_file_is_a_one_line_error(clones: PairsDir, tmp_path: Path, damage: str,
                                                               work_at_step: Any) -> None:
    """A cut file or a pair file that is gone, cut short or written for another part count stops the next stage
    with one line that names the file and says to start over, never a traceback from Arrow."""
    work, k = work_at_step(clones, tmp_path / "w",
                           [{"step": "exact_dedup"}, {"step": "near_dedup", "params": {}}],
                           "near_dedup", 70)
    step_i = work.passes[k].map
    folder = work.work / f"resolve-{step_i:03d}" / "bands-0003"

    def spoil(path: Path) -> None:
        if damage == "missing":
            path.unlink()
        elif damage == "truncated":
            path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
        else:  # a file of the same name from a resolve with another batch count
            with pa.memory_map(str(path), "r") as source:
                table = pa.Table.from_batches([pa.ipc.open_file(source).get_batch(0)])
            write_batches(path, table.schema, [table])  # one batch, not one per part (cut) or chunk (pairs)

    for c in work.chunks:
        ray_near_dedup.cut_chunk(work, k, c.index, 3)
    spoil(folder / "cut" / "c000001.arrow")
    with pytest.raises(CodequarryError, match=r"c000001\.arrow.*pass --overwrite") as err:
        ray_near_dedup.pair_part(work, k, 0, 3)
    assert "\n" not in str(err.value)
    (folder / "cut" / "c000001.json").unlink()  # its account gone too: the chunk is cut again
    ray_near_dedup.cut_chunk(work, k, 1, 3)
    for p in range(3):
        ray_near_dedup.pair_part(work, k, p, 3)
    spoil(folder / "pairs" / "p0002.arrow")
    if damage == "missing":
        match = r"part 2 of this resolve is missing; pass --overwrite"
    else:
        match = r"p0002\.arrow.*pass --overwrite"
    with pytest.raises(CodequarryError, match=match) as err:
        ray_near_dedup.verify_chunk(work, k, 0, 3)
    assert "\n" not in str(err.value)

