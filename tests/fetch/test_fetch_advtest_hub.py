"""AdvTest from the Hub copy (google/code_x_glue_tc_nl_code_search_adv, Parquet under data/) gives the same rows
and the same numbers as from CodeXGLUE's own test.jsonl."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

TEST_OFFSET = 251_820 + 9_604  # preprocess.py numbers idx across train, valid, test; the Hub counts from 0 per split

ROWS = [  # (docstring tokens, normalised function tokens) as in CodeXGLUE's test.jsonl (Func / arg_i)
    (["Add", "two", "numbers", "."], ["def", "Func", "(", "arg_0", ",", "arg_1", ")", ":", "return", "arg_0", "+", "arg_1"]),
    (["Load", "a", "JSON", "file", "."], ["def", "Func", "(", "arg_0", ")", ":", "return", "json", ".", "load", "(",
                                          "open", "(", "arg_0", ")", ")"]),
    (["Sort", "the", "list"], ["def", "Func", "(", "arg_0", ")", ":", "return", "sorted", "(", "arg_0", ")"]),
    (["Reverse", "a", "string", "s"], ["def", "Func", "(", "arg_0", ")", ":", "return", "arg_0", "[", ":", ":", "-1", "]"]),
    (["Mean", "of", "numbers"], ["def", "Func", "(", "arg_0", ")", ":", "return", "sum", "(", "arg_0", ")", "/", "len",
                                 "(", "arg_0", ")"]),
    (["Sort", "a", "list", "in", "place"], ["def", "Func", "(", "arg_0", ")", ":", "arg_0", ".", "sort", "(", ")"]),
]


def _records() -> list[dict]:
    out = []
    for i, (doc, fn) in enumerate(ROWS):
        out.append({"url": f"https://github.com/o/r/blob/abc/m.py#L{10 * i}-L{10 * i + 3}", "idx": TEST_OFFSET + i,
                    "docstring": " ".join(doc), "docstring_tokens": doc, "function": " ".join(fn),
                    "function_tokens": fn, "repo": "o/r", "path": "m.py", "func_name": f"f{i}",
                    "original_string": " ".join(fn), "language": "python", "sha": "abc"})
    return out


@pytest.fixture
def both(tmp_path: Path, hub_layout) -> tuple[Path, Path]:
    """CodeXGLUE's test.jsonl and the same rows as the Hub's Parquet copy (renamed fields, id from 0)."""
    records = _records()
    jsonl = tmp_path / "dataset" / "test.jsonl"
    jsonl.parent.mkdir()
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in records))
    snap = hub_layout.snapshot_dir(tmp_path / "cache", "google/code_x_glue_tc_nl_code_search_adv", "c" * 40)
    hub_rows = [{"id": r["idx"] - TEST_OFFSET, "repo": r["repo"], "path": r["path"], "func_name": r["func_name"],
                 "original_string": r["original_string"], "language": r["language"], "code": r["function"],
                 "code_tokens": r["function_tokens"], "docstring": r["docstring"],
                 "docstring_tokens": r["docstring_tokens"], "sha": r["sha"], "url": r["url"]} for r in records]
    hub_layout.write_parquet(snap / "data" / "test-00000-of-00001.parquet", hub_rows)
    hub_layout.write_parquet(snap / "data" / "validation-00000-of-00001.parquet", hub_rows[:2])
    return jsonl, snap


def test_same_rows_from_the_hub_copy(both) -> None:
    from codequarry.benchmarks.tasks import load_task

    jsonl, snap = both
    a, b = load_task("advtest", data=jsonl), load_task("advtest", data=snap)
    assert (a.queries, a.corpus, a.qrels) == (b.queries, b.corpus, b.qrels)
    assert a.meta["fingerprint"] == b.meta["fingerprint"]
    assert sorted(b.corpus) == [str(TEST_OFFSET + i) for i in range(len(ROWS))]  # CodeXGLUE's idx
    assert len(load_task("advtest", data=snap, split="valid").queries) == 2  # Hub split "validation"


def test_same_numbers_for_a_model_and_for_codexglue_predictions(both, tmp_path: Path) -> None:
    from codequarry.benchmarks.models import load_model
    from codequarry.benchmarks.tasks import get_task, load_task

    jsonl, snap = both
    task = get_task("advtest")
    a, b = load_task("advtest", data=jsonl), load_task("advtest", data=snap)
    bm25 = load_model("bm25")
    ea, eb = task.evaluate(a, bm25), task.evaluate(b, bm25)
    assert ea.scores == eb.scores and ea.per_query == eb.per_query and 0 < ea.scores["mrr@100"] <= 1
    # a CodeXGLUE predictions file (run.py's output) names CodeXGLUE's idx: it scores the same on both
    preds = tmp_path / "predictions.jsonl"
    order = [3, 0, 2, 1, 5, 4]
    preds.write_text("".join(json.dumps({"url": r["url"], "answers": [TEST_OFFSET + j for j in order]}) + "\n"
                             for r in _records()))
    run = load_model(f"run:{preds}")
    ra, rb = task.evaluate(a, run), task.evaluate(b, load_model(f"run:{preds}"))
    assert ra.scores == rb.scores
    assert ra.details["codexglue_evaluator_mrr"] == rb.details["codexglue_evaluator_mrr"]
    expected = sum(1 / (order.index(i) + 1) for i in range(len(ROWS))) / len(ROWS)  # evaluator.py's definition
    assert ra.scores["mrr@100"] == pytest.approx(expected, abs=1e-12)
