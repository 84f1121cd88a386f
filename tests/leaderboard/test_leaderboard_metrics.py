"""`--metrics`: secondary metrics (Recall@k …) get tables of their own, with their own CIs and ranks."""

from __future__ import annotations

import json

import pytest

from codequarry.errors import CodequarryError
from codequarry.leaderboard.build import build_leaderboard, prepare_board
from codequarry.leaderboard.results import parse_result


def _two_metric_result(result_dict, model: str, mrr: float, r1: float):
    data = result_dict(model=model, per_query={"q1": mrr, "q2": mrr}, ci=[mrr - 0.1, mrr + 0.1])
    data["scores"]["recall@1"] = r1
    data["ci"]["recall@1"] = [r1 - 0.05, r1 + 0.05]
    data["per_query"]["recall@1"] = {"q1": r1, "q2": r1}
    return data


@pytest.fixture
def results(tmp_path, make_result_dict):
    folder = tmp_path / "res"
    folder.mkdir()
    # a ranks first on MRR, b ranks first on Recall@1
    (folder / "a.json").write_text(json.dumps(_two_metric_result(make_result_dict, "a", 0.8, 0.4)))
    (folder / "b.json").write_text(json.dumps(_two_metric_result(make_result_dict, "b", 0.6, 0.5)))
    return folder


def test_extra_metric_tables_have_their_own_order_and_cis(results):
    board = prepare_board([results], include_reported=False, metrics=["recall@1", "ndcg@10"])
    by_metric = {t.metric: t for t in board.tables}
    assert set(by_metric) == {"mrr", "recall@1"}  # ndcg@10 is in no result: no table
    assert [r.model for r in by_metric["mrr"].rows] == ["a", "b"]
    assert [r.model for r in by_metric["recall@1"].rows] == ["b", "a"]


def test_default_is_the_main_metric_only(results, tmp_path):
    written = build_leaderboard([results], tmp_path / "board", formats="md", include_reported=False)
    text = written["md"][0].read_text()
    assert "recall@1" not in text and "mrr" in text
    written = build_leaderboard([results], tmp_path / "board2", formats="md", include_reported=False,
                                metrics=["recall@1"])
    assert "recall@1" in written["md"][0].read_text()


def test_parse_result_with_an_absent_metric_is_a_clear_error(tmp_path, make_result_dict):
    with pytest.raises(CodequarryError, match="no score 'map'"):
        parse_result(_two_metric_result(make_result_dict, "a", 0.8, 0.4), tmp_path / "a.json", "map")
    r = parse_result(_two_metric_result(make_result_dict, "a", 0.8, 0.4), tmp_path / "a.json", "recall@1")
    assert r.metric == "recall@1" and r.score == 0.4 and r.ci == pytest.approx((0.35, 0.45)) and r.per_query == {"q1": 0.4, "q2": 0.4}
