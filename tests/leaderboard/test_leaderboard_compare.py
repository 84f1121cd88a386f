"""--compare-reported: reproduced − reported per matching model, protocol and column; deviations outside the CI."""

from __future__ import annotations

import pytest
import yaml

from codequarry.leaderboard.build import prepare_board
from codequarry.leaderboard.compare import compare_reported, result_names
from codequarry.leaderboard.papers import load_papers
from codequarry.leaderboard.results import collect_results
from codequarry.leaderboard.tables import Options, build_tables

FAST = Options(resamples=500)


def test_fixture_deviations(results_dir):
    board = prepare_board([results_dir], compare_reported=True, options=FAST)
    by_table = {c.table.split("--")[0]: c for c in board.comparisons}
    assert set(by_table) == {"advtest", "cosqa"}
    adv, cosqa = by_table["advtest"], by_table["cosqa"]
    assert adv.model == "unixcoder-base" and adv.reported_model == "UniXcoder 125M (zero-shot)"
    assert adv.protocol == adv.reported_protocol == "advtest-mrr@100" and adv.split == "test"
    assert adv.reported == pytest.approx(0.299) and adv.difference == pytest.approx(0.0933333333 - 0.299)
    assert adv.status == "outside CI" and adv.flagged
    assert cosqa.reported == pytest.approx(0.431) and cosqa.status == "within CI" and not cosqa.flagged
    # the dev-split CoSQA runs are never compared with test-split numbers
    assert all(c.split == "test" for c in board.comparisons)
    # UniXcoder is also reported under other protocols: listed, not compared
    under = {n.reported_under for n in board.not_comparable}
    assert "csn-cleaned / full-codebase-mrr@1000 / mrr@1000 / test" in under
    assert "coir / coir-ndcg@10 / ndcg@10 / test" in under


def test_comparison_works_without_reported_rows_in_the_tables(results_dir):
    board = prepare_board([results_dir], compare_reported=True, include_reported=False, options=FAST)
    assert all(r.provenance == "reproduced" for t in board.tables for r in t.rows)
    assert len(board.comparisons) == 2


def _registry(tmp_path, values, aliases=("org/my-model",)):
    path = tmp_path / "papers.yaml"
    path.write_text(yaml.safe_dump([{
        "model": "My Model", "aliases": list(aliases), "paper": "P", "year": 2024, "url": "https://example.org",
        "read_from": "table 2", "task": "cosqa", "protocol": "cosqa-pool-mrr", "metric": "mrr", "scale": 100,
        "values": values}]), encoding="utf-8")
    return load_papers(path)


@pytest.mark.parametrize(("reported", "ci", "status"), [
    (40.0, [0.38, 0.42], "within CI"),
    (42.0, [0.38, 0.42], "within CI"),    # on the edge
    (45.0, [0.38, 0.42], "outside CI"),
    (30.0, [0.38, 0.42], "outside CI"),
    (42, [0.38, 0.416], "within CI"),     # written "42": stands for 41.5..42.5, which meets the CI
    (42.0, [0.38, 0.416], "outside CI"),  # written "42.0": 41.95..42.05 misses it
    (40.0, None, "no CI"),
])
def test_flag_uses_the_ci_and_the_reported_rounding(tmp_path, write_result, reported, ci, status):
    write_result("r.json", model="whatever", spec="st:org/my-model", score=0.40, ci=ci)
    registry = _registry(tmp_path, {"python": reported})
    results, _ = collect_results([tmp_path / "results"])
    comparisons, _ = compare_reported(build_tables(results, registry, FAST), registry)
    (c,) = comparisons
    assert c.status == status and c.flagged == (status == "outside CI")
    assert c.difference == pytest.approx(0.40 - reported / 100)


def test_matching_by_name_alias_or_spec(tmp_path, write_result):
    write_result("a.json", model="My Model", score=0.4, ci=[0.3, 0.5])           # registry name
    write_result("b.json", model="x", spec="hf:ORG/My-Model", score=0.41, ci=[0.3, 0.5])  # alias via spec
    write_result("c.json", model="unrelated", spec="st:other/model", score=0.2, ci=[0.1, 0.3])
    registry = _registry(tmp_path, {"python": 40.0})
    results, _ = collect_results([tmp_path / "results"])
    tables = build_tables(results, registry, FAST)
    comparisons, _ = compare_reported(tables, registry)
    assert sorted(c.model for c in comparisons) == ["My Model", "x"]
    row = next(r for r in tables[0].rows if r.model == "x")
    assert result_names(row) == {"x", "org/my-model"}
