"""The local engine on real stdlib functions: determinism across workers and batch sizes, accounting,
exclusions, manifest, report, reruns, and bad input."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from codequarry.cleaners import clean
from codequarry.cleaners.base import NoParams, Step, StepOutput, keep_mask
from codequarry.cleaners.engine import PassPlan, run_pass
from codequarry.cleaners.engine_output import OutputDir, run_signature
from codequarry.cleaners.recipe import load_recipe
from codequarry.errors import CodequarryError
from codequarry.pairs import PairsDir

RECIPE: dict[str, Any] = {
    "name": "engine-test",
    "description": "every kind of step the engine must handle",
    "steps": [
        {"step": "not_null"},
        {"step": "code_length", "params": {"min_lines": 3, "max_chars": 100_000}},
        {"step": "parse_check"},
        {"step": "query_length", "params": {"min_tokens": 3, "max_tokens": 256}},
        {"step": "docstring_markup"},
        {"step": "test_functions"},
        {"step": "csn_tokens"},
        {"step": "lengths"},
        {"step": "exact_dedup"},
        {"step": "near_dedup"},
        {"step": "split", "params": {"mode": "repo", "ratios": {"train": 0.7, "valid": 0.15, "test": 0.15}}},
        {"step": "leakage"},
    ],
}


def tree_digest(path: Path, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """sha256 of every file under ``path`` (relative names)."""
    return {p.relative_to(path).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file() and p.name not in skip}


@pytest.fixture(scope="module")
def cleaned(stdlib_pairs: PairsDir, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("engine")
    outs = {"w1": base / "w1", "w2": base / "w2", "big": base / "big"}
    clean(stdlib_pairs.path, outs["w1"], recipe=RECIPE, workers=1, batch_rows=64)
    clean(stdlib_pairs.path, outs["w2"], recipe=RECIPE, workers=2, batch_rows=64)
    clean(stdlib_pairs.path, outs["big"], recipe=RECIPE, workers=1, batch_rows=5000)
    return outs


def test_same_bytes_whatever_the_worker_count_or_batch_size(cleaned: dict[str, Path]) -> None:
    w1, w2, big = (tree_digest(cleaned[k]) for k in ("w1", "w2", "big"))
    assert w1 == w2  # byte-identical: data, exclusions, manifest, card stub, report
    data = {k: v for k, v in w1.items() if k.startswith(("data/", "exclusions/"))}
    assert data == {k: v for k, v in big.items() if k.startswith(("data/", "exclusions/"))}
    assert PairsDir(cleaned["w1"]).fingerprint == PairsDir(cleaned["big"]).fingerprint
    assert not (cleaned["w1"] / ".codequarry-work").exists()


def test_output_is_a_verified_pairs_dir(cleaned: dict[str, Path]) -> None:
    out = PairsDir(cleaned["w1"])
    out.verify()
    table = out.read(with_split=True)
    assert "split" not in out.schema.names and not any(n.startswith("_") for n in out.schema.names)
    assert {"query_num_tokens", "code_num_lines", "query_tokens", "code_tokens"} <= set(out.schema.names)
    assert len(set(table["id"].to_pylist())) == table.num_rows
    assert set(out.splits()) == {"train", "valid", "test"}
    by_repo: dict[str, set[str]] = {}
    for repo, split in zip(table["repo"].to_pylist(), table["split"].to_pylist()):
        by_repo.setdefault(repo, set()).add(split)
    assert all(len(s) == 1 for s in by_repo.values())


def test_accounting_reconciles(cleaned: dict[str, Path], stdlib_pairs: PairsDir) -> None:
    m = json.loads((cleaned["w1"] / "codequarry.json").read_text())
    steps = m["steps"]
    assert [s["name"] for s in steps] == ["unique_id"] + [s["step"] for s in RECIPE["steps"]]
    assert steps[0]["in"] == stdlib_pairs.num_rows() == m["input"]["rows"]
    for prev, cur in zip(steps, steps[1:]):
        assert cur["in"] == prev["kept"]
    for s in steps:
        assert s["in"] == s["kept"] + s["excluded"] and s["excluded"] == sum(s["reasons"].values())
    assert m["counts"]["written"] == steps[-1]["kept"] == PairsDir(cleaned["w1"]).num_rows()
    assert m["counts"]["excluded"] == sum(s["excluded"] for s in steps)
    assert m["counts"]["read"] == m["counts"]["written"] + m["counts"]["excluded"]
    assert m["recipe"]["name"] == "engine-test" and m["recipe"]["steps"][0]["params"]["columns"] == ["query", "code"]
    assert m["input"]["fingerprint"] == stdlib_pairs.fingerprint
    assert steps[10]["summary"]["clusters"] > 0  # near_dedup reports what it found


def test_exclusions_hold_every_dropped_row_with_step_and_reason(cleaned: dict[str, Path]) -> None:
    m = json.loads((cleaned["w1"] / "codequarry.json").read_text())
    excl = pa.concat_tables([pq.read_table(cleaned["w1"] / f["path"]) for f in m["exclusion_files"]])
    assert excl.num_rows == m["counts"]["excluded"]
    got = Counter(f"{s}/{r}" for s, r in zip(excl["step"].to_pylist(), excl["reason"].to_pylist()))
    assert dict(got) == m["counts"]["exclusion_reasons"]
    by_id = {(i, s): r for i, s, r in zip(excl["id"].to_pylist(), excl["step"].to_pylist(), excl["reason"].to_pylist())}
    assert by_id[("row-null-q", "not_null")] == "null_query"
    assert by_id[("row-empty-code", "not_null")] == "empty_code"
    assert by_id[("row-bad-lang", "parse_check")] == "unknown_language"
    assert by_id[("row-broken", "parse_check")] == "parse_error"
    assert by_id[("row-url", "docstring_markup")] == "url_in_query"
    assert got["unique_id/duplicate_id"] == 2
    assert got["exact_dedup/duplicate_code"] >= 30 and got["near_dedup/near_duplicate"] >= 30
    kept_ids = set(PairsDir(cleaned["w1"]).read(columns=["id"])["id"].to_pylist())
    assert not kept_ids & {i for i, s in by_id if s != "unique_id"}
    # exclusions come in (step, input position) order
    order = [int(loc.split()[-1]) for loc in excl["locator"].to_pylist()]
    steps = [s["name"] for s in m["steps"]]
    keys = [(steps.index(s), p) for s, p in zip(excl["step"].to_pylist(), order)]
    assert keys == sorted(keys)


def test_report_files(cleaned: dict[str, Path]) -> None:
    out = cleaned["w1"]
    md = (out / "report.md").read_text()
    assert "| 10 | near_dedup | global |" in md and "## Recipe (every parameter)" in md and "duplicate_id 2" in md
    assert (out / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = (out / "report.svg").read_text()
    assert "<svg" in svg and "near_dedup" in svg and "<dc:date>" not in svg
    m = json.loads((out / "codequarry.json").read_text())
    assert m["report"]["markdown"] == "report.md"


def test_rerun_is_a_no_op_and_other_recipes_refuse(cleaned: dict[str, Path], stdlib_pairs: PairsDir) -> None:
    before = tree_digest(cleaned["w1"])
    m = clean(stdlib_pairs.path, cleaned["w1"], recipe=RECIPE, workers=1, batch_rows=64)
    assert m["fingerprint"] == PairsDir(cleaned["w1"]).fingerprint and tree_digest(cleaned["w1"]) == before
    other = {**RECIPE, "steps": RECIPE["steps"][:3]}
    with pytest.raises(CodequarryError, match="different recipe"):
        clean(stdlib_pairs.path, cleaned["w1"], recipe=other, batch_rows=64)


def test_unfinished_run_with_other_recipe_refuses_then_overwrite(stdlib_pairs: PairsDir, tmp_path: Path) -> None:
    out = OutputDir(tmp_path / "out")
    other = load_recipe({"name": "other", "steps": ["not_null", "parse_check"]})
    out.prepare(run_signature(other, stdlib_pairs, 64), overwrite=False, resumable=True)
    out.release()
    small = {"name": "small", "steps": ["not_null"]}
    with pytest.raises(CodequarryError, match="unfinished clean with a different recipe.*--overwrite"):
        clean(stdlib_pairs.path, tmp_path / "out", recipe=small, batch_rows=64)
    m = clean(stdlib_pairs.path, tmp_path / "out", recipe=small, batch_rows=64, overwrite=True)
    assert m["steps"][1]["name"] == "not_null" and m["counts"]["written"] > 0


def test_unfinished_run_of_an_older_work_format_refuses_then_overwrite(stdlib_pairs: PairsDir, tmp_path: Path) -> None:
    """A work dir left by code whose final write kept other state (e.g. per-chunk shards) is never resumed into a
    mix of both layouts."""
    recipe = load_recipe({"name": "small", "steps": ["not_null"]})
    old = {k: v for k, v in run_signature(recipe, stdlib_pairs, 64).items() if k != "work_format"}
    out = OutputDir(tmp_path / "out")
    out.prepare(old, overwrite=False, resumable=True)
    out.release()
    with pytest.raises(CodequarryError, match="left by an older codequarry.*--overwrite"):
        clean(stdlib_pairs.path, tmp_path / "out", recipe={"name": "small", "steps": ["not_null"]}, batch_rows=64)
    m = clean(stdlib_pairs.path, tmp_path / "out", recipe={"name": "small", "steps": ["not_null"]}, batch_rows=64,
              overwrite=True)
    assert m["counts"]["written"] > 0


def test_refuses_foreign_folders_and_bad_arguments(stdlib_pairs: PairsDir, tmp_path: Path) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(CodequarryError, match="not empty"):
        clean(stdlib_pairs.path, tmp_path / "busy", recipe={"steps": ["not_null"]})
    with pytest.raises(CodequarryError, match="holds no codequarry output"):
        clean(stdlib_pairs.path, tmp_path / "busy", recipe={"steps": ["not_null"]}, overwrite=True)
    with pytest.raises(CodequarryError, match="outside the input"):
        clean(stdlib_pairs.path, stdlib_pairs.path / "sub", recipe={"steps": ["not_null"]})
    with pytest.raises(CodequarryError, match="unknown engine"):
        clean(stdlib_pairs.path, tmp_path / "x", engine="spark")
    with pytest.raises(CodequarryError, match="not a folder|no codequarry.json"):
        clean(tmp_path / "missing", tmp_path / "y")


def test_bad_input_rows_are_excluded_never_crash(make_pairs: Any, h: Any, tmp_path: Path) -> None:
    line = "    x = 'a long line of code to make this function enormous'\n"
    big = "def big():\n" + line * 33_000  # ~2 MB: parsed, tokenized and deduplicated like any row
    rows = [h.row(1), h.row(2, code=big, func_name="big"), h.row(3, query=None, code=None, language=None),
            h.row(4, language="klingon"), h.row(5, code="\x00\x01 not code at all ((("), h.row(1, query="same id again"),
            h.row(6, query="Ünïcödé query text with an emoji \U0001F600", code="def f(x):\n    return '\U0001F600'\n")]
    pairs = make_pairs({"train": rows})
    recipe = {"name": "bad-input", "steps": ["not_null", "parse_check", "csn_tokens", "exact_dedup",
                                              {"step": "near_dedup", "params": {"method": "identifiers"}}]}
    m = clean(pairs.path, tmp_path / "out", recipe=recipe, batch_rows=2)
    assert m["counts"]["exclusion_reasons"] == {"unique_id/duplicate_id": 1, "not_null/null_query": 1,
                                                 "parse_check/unknown_language": 1, "parse_check/parse_error": 1}
    assert sorted(PairsDir(tmp_path / "out").read(columns=["id"])["id"].to_pylist()) == ["row-1", "row-2", "row-6"]
    huge = make_pairs({"train": [h.row(1), h.row(2, code="def huge():\n" + line * 330_000)]}, name="huge")  # ~20 MB
    m2 = clean(huge.path, tmp_path / "out2", recipe={"steps": [{"step": "code_length", "params": {"max_chars": 100_000}},
                                                               "parse_check", "csn_tokens"]})
    assert m2["counts"]["exclusion_reasons"] == {"code_length/code_too_long": 1} and m2["counts"]["written"] == 1
    excl = pq.read_table(tmp_path / "out2" / m2["exclusion_files"][0]["path"])
    assert len(excl["code"][0].as_py()) > 20_000_000 and "chars > 100,000" in excl["detail"][0].as_py()


def test_empty_input(make_pairs: Any, tmp_path: Path) -> None:
    pairs = make_pairs({})
    m = clean(pairs.path, tmp_path / "out", recipe=RECIPE)
    assert m["counts"]["written"] == 0 and all(s["in"] == 0 for s in m["steps"])
    assert (tmp_path / "out" / "report.md").exists()


def test_input_with_reserved_columns_is_refused(make_pairs: Any, h: Any, tmp_path: Path) -> None:
    pairs = make_pairs({"train": [h.row(1, _pos=3)]})
    with pytest.raises(CodequarryError, match="clash with the cleaner's own columns"):
        clean(pairs.path, tmp_path / "out", recipe={"steps": ["not_null"]})


class _Boom(Step):
    name = "boom"
    description = "raises on rows whose query mentions boom"
    Params = NoParams

    def process(self, batch: pa.Table) -> StepOutput:
        queries = batch["query"].to_pylist()
        if any("boom" in (q or "") for q in queries):
            raise ValueError("cannot handle boom")
        return keep_mask(batch, [True] * batch.num_rows, [None] * batch.num_rows)


def test_a_step_that_raises_on_a_row_excludes_that_row(h: Any) -> None:
    table = h.batch([h.row(1), h.row(2, query="boom goes the row"), h.row(3)])
    table = table.append_column("_pos", pa.array([0, 1, 2], pa.int64()))
    result = run_pass([_Boom()], PassPlan(0, None, (0,), None), table)
    assert result.kept["id"].to_pylist() == ["row-1", "row-3"]
    x = result.excluded[0]
    assert x["_reason"].to_pylist() == ["step_error"] and "cannot handle boom" in x["_detail"][0].as_py()
    all_bad = h.batch([h.row(1, query="boom"), h.row(2, query="boom")]).append_column("_pos", pa.array([0, 1]))
    with pytest.raises(RuntimeError, match="fails on every row"):
        run_pass([_Boom()], PassPlan(0, None, (0,), None), all_bad)


@pytest.mark.parametrize("preset", ["default", "csn", "codexglue"])
def test_presets_run_end_to_end(preset: str, stdlib_pairs: PairsDir, tmp_path: Path) -> None:
    m = clean(stdlib_pairs.path, tmp_path / preset, preset=preset, batch_rows=200)
    steps = [s["name"] for s in m["steps"]]
    assert steps[0] == "unique_id" and steps[1:] == [s["step"] for s in m["recipe"]["steps"]]
    assert m["counts"]["read"] == m["counts"]["written"] + m["counts"]["excluded"] and m["counts"]["written"] > 100
    out = PairsDir(tmp_path / preset)
    if preset == "csn":
        assert set(out.splits()) <= {"train", "valid", "test", "holdout"} and "train" in out.splits()
        reasons = m["counts"]["exclusion_reasons"]
        assert reasons.get("near_dedup/near_duplicate", 0) > 0
    if preset == "codexglue":
        assert out.splits() == stdlib_pairs.splits()  # splits kept
        codes = out.read(columns=["code"])["code"].to_pylist()
        assert not any('"""' in c for c in codes)  # docstrings and comments removed
    if preset == "default":
        table = out.read(with_split=True)
        assert set(out.splits()) == {"train", "valid", "test"}
        by_repo: dict[str, set[str]] = {}
        for repo, split in zip(table["repo"].to_pylist(), table["split"].to_pylist()):
            by_repo.setdefault(repo, set()).add(split)
        assert all(len(s) == 1 for s in by_repo.values())


def test_duplicate_ids_keep_the_held_out_copy(make_pairs: Any, h: Any, tmp_path: Path) -> None:
    pairs = make_pairs({"train": [h.row("a", query="train copy of a"), h.row("b"), h.row("a", query="second train a")],
                        "test": [h.row("a", query="test copy of a"), h.row("c")]})
    m = clean(pairs.path, tmp_path / "out", recipe={"steps": ["not_null"]}, batch_rows=2)
    assert m["steps"][0]["reasons"] == {"duplicate_id": 2}
    kept = PairsDir(tmp_path / "out").read(with_split=True)
    rows = sorted(zip(kept["id"].to_pylist(), kept["query"].to_pylist(), kept["split"].to_pylist()))
    assert rows == [("row-a", "test copy of a", "test"), ("row-b", "Add two numbers and return their sum.", "train"),
                    ("row-c", "Add two numbers and return their sum.", "test")]


def test_a_second_clean_into_a_busy_output_refuses(stdlib_pairs: PairsDir, tmp_path: Path) -> None:
    recipe = load_recipe({"name": "small", "steps": ["not_null"]})
    holder = OutputDir(tmp_path / "out")
    assert holder.prepare(run_signature(recipe, stdlib_pairs, 64), overwrite=False, resumable=True) == "fresh"
    try:
        with pytest.raises(CodequarryError, match="another `codequarry clean` is writing"):
            clean(stdlib_pairs.path, tmp_path / "out", recipe=recipe, batch_rows=64)
        with pytest.raises(CodequarryError, match="another `codequarry clean` is writing"):
            clean(stdlib_pairs.path, tmp_path / "out", recipe=recipe, batch_rows=64, overwrite=True)
        assert (tmp_path / "out" / ".codequarry-work" / "plan.json").exists()  # nothing was removed
    finally:
        holder.release()
    m = clean(stdlib_pairs.path, tmp_path / "out", recipe=recipe, batch_rows=64)  # resumes the prepared run
    assert m["counts"]["written"] > 0 and not (tmp_path / "out" / ".codequarry-work").exists()
