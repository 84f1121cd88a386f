"""Annotators, strip_comments, exact dedup with the keep rule, and the split step (CodeSearchNet's bounds exactly)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pyarrow as pa

from codequarry.cleaners.keep_rule import keep_order_key
from codequarry.cleaners.registry import step_class


def _global(name: str, parts: list[pa.Table], tmp: Path, **params: Any) -> tuple[list[Any], Any]:
    step = step_class(name).from_config(params)
    decision = step.resolve(iter([step.map(p) for p in parts]), tmp)
    return [step.apply(p, decision) for p in parts], decision


def test_keep_rule_prefers_held_out_then_smallest_id() -> None:
    members = [("train", "a"), ("valid", "z"), ("test", "y"), ("test", "b"), ("holdout", "c"), (None, "0")]
    ordered = sorted(members, key=lambda m: keep_order_key(*m))
    assert ordered == [("test", "b"), ("test", "y"), ("valid", "z"), ("holdout", "c"), ("train", "a"), (None, "0")]


def test_csn_tokens_fill_only_missing(h: Any) -> None:
    rows = [h.row(1, query="Adds two numbers.\n\nMore text here."), h.row(2, query_tokens=["given"], code_tokens=["x"]),
            h.row(3, language="cobol")]
    out = step_class("csn_tokens").from_config({}).process(h.batch(rows)).kept
    qt, ct = out["query_tokens"].to_pylist(), out["code_tokens"].to_pylist()
    assert qt[0] == ["Adds", "two", "numbers", "."]  # CSN tokenizer over the summary only
    assert ct[0][:6] == ["def", "add_numbers", "(", "a", ",", "b"]
    assert qt[1] == ["given"] and ct[1] == ["x"]
    assert ct[2] is None  # no grammar
    over = step_class("csn_tokens").from_config({"overwrite": True}).process(h.batch(rows)).kept
    assert over["code_tokens"].to_pylist()[1][0] == "def"


def test_identifiers_lengths_ast_nodes(h: Any) -> None:
    rows = [h.row(1), h.row(2, language="cobol", code="MOVE A TO B.\n\nSTOP RUN.")]
    b = h.batch(rows)
    ids = step_class("identifiers").from_config({}).process(b).kept["identifiers"].to_pylist()
    assert ids[0] == ["add_numbers", "a", "b", "a", "b"] and ids[1] is None  # keywords (def, return) removed
    lens = step_class("lengths").from_config({}).process(b).kept
    assert lens["code_num_lines"].to_pylist() == [4, 2]
    assert lens["code_num_chars"].to_pylist() == [len(rows[0]["code"]), len(rows[1]["code"])]
    assert lens["query_num_tokens"].to_pylist() == [8, 8]  # "Add two numbers and return their sum ."
    assert lens["code_num_tokens"].to_pylist()[1] == 8  # MOVE A TO B . STOP RUN .
    nodes = step_class("ast_nodes").from_config({}).process(b).kept["code_ast_nodes"].to_pylist()
    assert nodes[0] > 5 and nodes[1] is None


def test_strip_comments(h: Any) -> None:
    rows = [h.row(1), h.row(2, language="java", code=h.SAMPLE_CODE["java"])]
    out = step_class("strip_comments").from_config({}).process(h.batch(rows)).kept
    code = out["code"].to_pylist()
    assert "# plain sum" not in code[0] and '"""Add two numbers' in code[0] and "return a + b" in code[0]
    assert "// plain sum" not in code[1] and "int s = a + b;" in code[1]
    assert "# plain sum" not in out["code_tokens"].to_pylist()[0]
    nodoc = step_class("strip_comments").from_config({"keep_docstring": False}).process(h.batch(rows[:1])).kept
    assert '"""' not in nodoc["code"][0].as_py() and "return a + b" in nodoc["code"][0].as_py()


def test_exact_dedup_normalized_code_and_keep_rule(h: Any, tmp_path: Path) -> None:
    code = h.SAMPLE_CODE["python"]
    reformatted = code.replace("    return a + b", "    return   a+b  # different comment")
    rows = [h.row("b", code=code), h.row("a", code=reformatted), h.row("c", code=code), h.row("other", code="def g():\n  pass\n")]
    parts = [h.batch(rows[:2], split=["train", "train"]), h.batch(rows[2:], split=["test", "train"])]
    outs, decision = _global("exact_dedup", parts, tmp_path)
    kept = [i for o in outs for i in o.kept["id"].to_pylist()]
    assert kept == ["row-c", "row-other"]  # the test copy survives, then nothing else of that cluster
    assert decision == {"row-a": "row-c", "row-b": "row-c"}
    reasons = [r for o in outs for r in o.reasons]
    assert reasons == ["duplicate_code", "duplicate_code"]
    # all in one split: the smallest id wins
    outs, _ = _global("exact_dedup", [h.batch(rows)], tmp_path)
    assert outs[0].kept["id"].to_pylist() == ["row-a", "row-other"]
    # without tree-sitter normalization the comment makes a difference
    outs, _ = _global("exact_dedup", [h.batch(rows)], tmp_path, normalize=False)
    assert outs[0].kept["id"].to_pylist() == ["row-b", "row-a", "row-other"]


def test_exact_dedup_on_query_and_code(h: Any, tmp_path: Path) -> None:
    rows = [h.row(1), h.row(2, query="  ADD two numbers and return their sum. "), h.row(3, query="Something else.")]
    outs, _ = _global("exact_dedup", [h.batch(rows)], tmp_path, key="query_code")
    assert outs[0].kept["id"].to_pylist() == ["row-1", "row-3"] and outs[0].reasons == ("duplicate_query_code",)


def _csn_label(repo: str, path: str) -> str:
    """CodeSearchNet's dedup_split.label_folds, written out independently (defaults 0.6/0.15/0.15/0.1)."""
    hash_val = int(hashlib.md5(f"{repo}:{path}".encode()).hexdigest(), 16) % (2 ** 16)
    train_bound = int(2 ** 16 * 0.6)
    valid_bound = train_bound + int(2 ** 16 * 0.15)
    test_bound = valid_bound + int(2 ** 16 * 0.15)
    if hash_val <= train_bound:
        return "train"
    if hash_val <= valid_bound:
        return "valid"
    if hash_val <= test_bound:
        return "test"
    return "holdout"


def test_split_csn_hash_is_exact(h: Any, tmp_path: Path) -> None:
    rows = [h.row(i, repo=f"owner{i % 13}/proj{i % 7}", path=f"src/m{i}.py") for i in range(400)]
    outs, _ = _global("split", [h.batch(rows)], tmp_path, mode="file", assign="hash", seed=None,
                      ratios={"train": 0.6, "valid": 0.15, "test": 0.15, "holdout": 0.1})
    got = outs[0].kept["split"].to_pylist()
    assert got == [_csn_label(r["repo"], r["path"]) for r in rows]
    assert {"train", "valid", "test", "holdout"} == set(got)


def test_split_balanced_by_repo(h: Any, tmp_path: Path) -> None:
    rows = []
    for r in range(60):
        rows += [h.row(f"{r}-{k}", repo=f"org/r{r}", path=f"f{k % 3}.py") for k in range(1 + (r * 7) % 23)]
    table = h.batch(rows)
    outs, decision = _global("split", [table], tmp_path)
    splits = outs[0].kept["split"].to_pylist()
    by_repo: dict[str, set[str]] = {}
    for r, s in zip(table["repo"].to_pylist(), splits):
        by_repo.setdefault(r, set()).add(s)
    assert all(len(v) == 1 for v in by_repo.values())  # no repo straddles splits
    share = {s: splits.count(s) / len(splits) for s in ("train", "valid", "test")}
    assert abs(share["train"] - 0.8) < 0.08 and abs(share["valid"] - 0.1) < 0.06 and abs(share["test"] - 0.1) < 0.06
    # batching does not matter; the seed does
    outs2, decision2 = _global("split", [table.slice(0, 100), table.slice(100, 200), table.slice(300)], tmp_path)
    assert decision2 == decision
    _, decision3 = _global("split", [table], tmp_path, seed=1)
    assert decision3 != decision
    kept_keep, _ = _global("split", [table], tmp_path, mode="keep")
    assert kept_keep[0].kept["split"].to_pylist() == ["train"] * table.num_rows


def test_split_rows_without_repo_fall_back(h: Any, tmp_path: Path) -> None:
    rows = [h.row(1, repo=None, path="a.py"), h.row(2, repo=None, path="a.py"), h.row(3, repo=None, path=None)]
    outs, decision = _global("split", [h.batch(rows)], tmp_path, fallback=False)
    s = outs[0].kept["split"].to_pylist()
    assert s[0] == s[1] and set(decision.assignment) == {"path:a.py", "id:row-3"}
    assert decision.unit == "repo" and "stay empty (fallback is off)" in decision.note


def test_split_falls_back_to_files_then_functions_and_says_so(h: Any, tmp_path: Path) -> None:
    # one repository (what `build repos --path mylib` gives): by repo everything would be train
    rows = [h.row(f"{f}-{k}", repo="me/mylib", path=f"pkg/m{f}.py") for f in range(30) for k in range(3)]
    table = h.batch(rows)
    outs, decision = _global("split", [table], tmp_path)
    splits = outs[0].kept["split"].to_pylist()
    assert decision.unit == "file" and set(splits) == {"train", "valid", "test"}
    by_file: dict[str, set[str]] = {}
    for path, sp in zip(table["path"].to_pylist(), splits):
        by_file.setdefault(path, set()).add(sp)
    assert all(len(v) == 1 for v in by_file.values())  # a file never straddles splits
    step = step_class("split").from_config({})
    summary = step.summary(decision)
    assert summary["unit"] == "file" and summary["requested_unit"] == "repo" and summary["groups"] == 30
    assert summary["fallback"].startswith("split by repo fell back to file: 1 repositories for 3 splits")
    # one file: down to functions
    one_file = h.batch([h.row(k, repo="me/mylib", path="pkg/only.py") for k in range(20)])
    outs, decision = _global("split", [one_file], tmp_path)
    assert decision.unit == "function" and set(outs[0].kept["split"].to_pylist()) == {"train", "valid", "test"}
    assert "1 repositories" in decision.note and "1 files" in decision.note
    # two rows for three splits: the note says which split stays empty
    _, decision = _global("split", [h.batch([h.row(1, repo="a/b"), h.row(2, repo="a/b")])], tmp_path)
    assert decision.unit == "function" and decision.note.endswith("test still stay empty (too few rows)")
    # the same for CodeSearchNet's hash assignment; enough repositories: no fallback, no note
    _, decision = _global("split", [table], tmp_path, assign="hash", mode="repo")
    assert decision.unit in ("file", "function") and decision.assignment is None and decision.note
    many = h.batch([h.row(r, repo=f"org/r{r}") for r in range(50)])
    _, decision = _global("split", [many], tmp_path)
    assert decision.unit == "repo" and decision.note is None


def test_split_fallback_reaches_report_and_manifest(h: Any, tmp_path: Path) -> None:
    from codequarry.cleaners import clean
    from codequarry.pairs import PairsDir

    src = h.write_pairs(tmp_path / "in", {"train": [h.row(f"{f}-{k}", repo="me/mylib", path=f"pkg/m{f}.py")
                                                    for f in range(20) for k in range(2)]})
    recipe = {"name": "t", "steps": [{"step": "split", "params": {"mode": "repo"}}]}
    manifest = clean(src.path, tmp_path / "out", recipe=recipe)
    (entry,) = [s for s in manifest["steps"] if s["name"] == "split"]
    assert entry["summary"]["unit"] == "file" and "fell back to file" in entry["summary"]["fallback"]
    assert "fell back to file" in (tmp_path / "out" / "report.md").read_text()
    assert set(PairsDir(tmp_path / "out").splits()) == {"train", "valid", "test"}
