"""Tables: protocols never mixed, ties ranked equal, one unit per table, the average rule, significance markers."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from codequarry.errors import CodequarryError
from codequarry.leaderboard.papers import load_papers
from codequarry.leaderboard.results import collect_results, load_result
from codequarry.leaderboard.stats import stratified_bootstrap_ci
from codequarry.leaderboard.tables import (
    AVG,
    REPORTED,
    REPRODUCED,
    Options,
    build_tables,
    format_value,
    marker,
)

FAST = Options(resamples=2000)


def _tables(results_dir, **kw):
    results, _ = collect_results([results_dir])
    return build_tables(results, load_papers(), kw.pop("options", FAST))


def _by_key(tables):
    return {(t.family, t.protocol, t.split): t for t in tables}


def _row(table, model):
    return next(r for r in table.rows if r.model == model)


def _registry(tmp_path: Path, entries: list[dict]) -> list:
    base = {"paper": "P", "year": 2023, "url": "https://example.org", "read_from": "table 1"}
    path = tmp_path / "papers.yaml"
    path.write_text(yaml.safe_dump([{**base, **e} for e in entries]), encoding="utf-8")
    return load_papers(path)


def test_protocols_and_splits_are_never_mixed(results_dir):
    tables = _by_key(_tables(results_dir))
    assert ("csn", "csn-1000-mrr", "test") in tables and ("csn-cleaned", "full-codebase-mrr@1000", "test") in tables
    assert ("cosqa", "cosqa-pool-mrr", "dev") in tables and ("cosqa", "cosqa-pool-mrr", "test") in tables
    for t in tables.values():
        for row in t.rows:
            for f in row.files:  # every reproduced cell comes from a result of this very table's protocol/split
                r = load_result(f)
                assert (r.family, r.protocol, r.metric, r.split) == (t.family, t.protocol, t.metric, t.split)
    cleaned = tables[("csn-cleaned", "full-codebase-mrr@1000", "test")]
    assert not any("csn_python" in f for r in cleaned.rows for f in r.files)
    assert [r.model for r in tables[("csn", "csn-1000-mrr", "test")].rows] == ["all-MiniLM-L6-v2"]
    dev = tables[("cosqa", "cosqa-pool-mrr", "dev")]
    assert {r.provenance for r in dev.rows} == {REPRODUCED}  # reported CoSQA numbers are test-split numbers
    coir = tables[("coir", "coir-ndcg@10", "test")]
    assert coir.columns == ("cosqa", "codesearchnet", "codesearchnet-ccr")  # CoIR's CoSQA is not the cosqa task


def test_ties_share_a_rank(tmp_path, write_result):
    for name, score in (("a", 0.5), ("b", 0.5), ("c", 0.4), ("d", 0.6), ("e", 0.162)):
        write_result(f"{name}.json", model=name, score=score)
    registry = _registry(tmp_path, [
        {"model": "paper-x", "task": "cosqa", "protocol": "cosqa-pool-mrr", "metric": "mrr", "scale": 100,
         "values": {"python": 50.0}},
        {"model": "paper-y", "task": "cosqa", "protocol": "cosqa-pool-mrr", "metric": "mrr", "scale": 100,
         "values": {"python": 16.2}}])  # 16.2 / 100 is 0.16199999999999998 in floating point
    results, _ = collect_results([tmp_path / "results"])
    (table,) = build_tables(results, registry, FAST)
    ranks = {r.model: r.rank for r in table.rows}
    assert ranks == {"d": 1, "a": 2, "b": 2, "paper-x": 2, "c": 5, "e": 6, "paper-y": 6}
    assert [r.model for r in table.rows][:4] == ["d", "a", "b", "paper-x"]  # reproduced first among equals


def test_one_unit_per_table_and_reported_precision_is_kept(results_dir):
    tables = _by_key(_tables(results_dir))
    cleaned = tables[("csn-cleaned", "full-codebase-mrr@1000", "test")]
    assert cleaned.unit == 100  # a reported ×100 number is in the table
    graph, codet5, bm25 = (_row(cleaned, m) for m in ("GraphCodeBERT", "CodeT5+ 110M embedding", "bm25"))
    assert format_value(graph.cell("python"), 100) == "69.2"  # .692 as written, ×100, no invented digit
    assert format_value(codet5.cell("python"), 100) == "71.55"
    assert format_value(bm25.cell("python"), 100) == "38.54"
    assert codet5.cell("python").value == pytest.approx(0.7155) and graph.cell("go").value == pytest.approx(0.897)
    assert tables[("cosqa", "cosqa-pool-mrr", "dev")].unit == 1  # reproduced only: native 0–1
    as_fraction = _by_key(_tables(results_dir, options=Options(unit=1, resamples=500)))
    cleaned1 = as_fraction[("csn-cleaned", "full-codebase-mrr@1000", "test")]
    assert cleaned1.unit == 1
    assert format_value(_row(cleaned1, "GraphCodeBERT").cell("python"), 1) == "0.692"
    assert format_value(_row(cleaned1, "CodeT5+ 110M embedding").cell("python"), 1) == "0.7155"
    assert format_value(_row(cleaned1, "bm25").cell("python"), 1) == "0.3854"
    with pytest.raises(CodequarryError, match="unit must be"):
        _tables(results_dir, options=Options(unit=10))


def test_average_only_when_every_family_column_is_present(results_dir, tmp_path):
    cleaned = _by_key(_tables(results_dir))[("csn-cleaned", "full-codebase-mrr@1000", "test")]
    bm25, minilm = _row(cleaned, "bm25"), _row(cleaned, "all-MiniLM-L6-v2")
    langs = ("ruby", "javascript", "go", "python", "java", "php")
    assert bm25.average.value == pytest.approx(sum(bm25.cells[c].value for c in langs) / 6)
    assert bm25.average.ci[0] < bm25.average.value < bm25.average.ci[1]
    assert minilm.average is None and minilm.rank is None and cleaned.rows[-1] is minilm  # unranked, last
    assert cleaned.main_column == AVG
    registry = _registry(tmp_path, [{"model": "no-avg", "task": "csn-cleaned", "protocol": "full-codebase-mrr@1000",
                                     "metric": "mrr", "scale": 1, "values": dict.fromkeys(langs, 0.5) | {"go": 0.8}}])
    (table,) = build_tables([], registry)
    assert table.rows[0].average.value == pytest.approx(0.55)  # computed when the source gives every language
    assert format_value(table.rows[0].average, table.unit) == "0.55"


def test_significance_markers_on_constructed_per_query_scores(tmp_path, write_result):
    qids = [f"q{i}" for i in range(30)]
    best = dict.fromkeys(qids, 1.0)
    worse = {q: (0.0 if i < 20 else 1.0) for i, q in enumerate(qids)}
    close = {q: (0.5 if i == 0 else 1.0) for i, q in enumerate(qids)}
    write_result("best.json", model="best", per_query=best)
    write_result("worse.json", model="worse", per_query=worse)
    write_result("close.json", model="close", per_query=close)
    write_result("other.json", model="other-queries", per_query={f"x{i}": 0.2 for i in range(30)})
    write_result("noq.json", model="no-per-query", score=0.1)
    results, _ = collect_results([tmp_path / "results"])
    (table,) = build_tables(results, [], FAST)
    cells = {r.model: r.cells["python"] for r in table.rows}
    assert cells["best"].best and not cells["best"].significant
    assert cells["worse"].significant and cells["worse"].p_value < 0.01 and marker(cells["worse"]) == "†"
    assert not cells["close"].significant and cells["close"].p_value == 1.0  # Holm: min(1, 2 × p)
    assert cells["other-queries"].p_value is None and "query ids differ" in cells["other-queries"].note
    assert cells["no-per-query"].p_value is None and "no per-query" in cells["no-per-query"].note


def test_stratified_bootstrap_ci_is_deterministic_and_brackets_the_mean():
    groups = [[1.0, 0.5, 0.0, 1.0], [0.2, 0.4, 0.6]]
    low, high = stratified_bootstrap_ci(groups, resamples=500, seed=0)
    mean = (0.625 + 0.4) / 2
    assert low < mean < high and (low, high) == stratified_bootstrap_ci(groups, resamples=500, seed=0)
    assert stratified_bootstrap_ci([[0.3, 0.3]], resamples=50) == pytest.approx((0.3, 0.3))


def test_two_results_for_one_cell_are_an_error(tmp_path, write_result):
    write_result("a.json", model="m", score=0.5)
    write_result("b.json", model="m", score=0.6)
    results, _ = collect_results([tmp_path / "results"])
    with pytest.raises(CodequarryError, match=r"two results for model 'm' on cosqa python .*a.json and .*b.json"):
        build_tables(results, [])


def test_same_model_with_two_revisions_gets_two_labelled_rows(tmp_path, write_result):
    write_result("a.json", model="m", score=0.5, revision="v1")
    write_result("b.json", model="m", score=0.6, revision="v2")
    results, _ = collect_results([tmp_path / "results"])
    (table,) = build_tables(results, [])
    assert [r.model for r in table.rows] == ["m (v2)", "m (v1)"]


def test_data_fingerprint_mismatch_and_unknown_protocol_are_noted(tmp_path, write_result):
    write_result("a.json", model="a", score=0.5, fingerprint="sha256:1", protocol="my-proto")
    write_result("b.json", model="b", score=0.6, fingerprint="sha256:2", protocol="my-proto")
    results, _ = collect_results([tmp_path / "results"])
    (table,) = build_tables(results, [])
    assert any("not one of the known protocol ids" in n for n in table.notes)
    assert any("2 different data fingerprints" in n for n in table.notes)
    assert {r.provenance for r in table.rows} == {REPRODUCED} and REPORTED not in {r.provenance for r in table.rows}


def test_coir_codesearchnet_subsets_collapse_into_one_column_only_when_complete(tmp_path, write_result):
    langs = ("go", "java", "javascript", "php", "python", "ruby")
    for i, lang in enumerate(langs):
        write_result(f"full-{lang}.json", model="full", task=f"coir/codesearchnet-{lang}", family="coir",
                     language=lang, protocol="coir-ndcg@10", main="ndcg@10",
                     per_query={"a": 0.1 * i, "b": 0.1 * i + 0.2})
        if lang != "ruby":
            write_result(f"part-{lang}.json", model="part", task=f"coir/codesearchnet-{lang}", family="coir",
                         language=lang, protocol="coir-ndcg@10", main="ndcg@10", score=0.5)
    write_result("full-cosqa.json", model="full", task="coir/cosqa", family="coir", language="python",
                 protocol="coir-ndcg@10", main="ndcg@10", score=0.3)
    results, _ = collect_results([tmp_path / "results"])
    table = next(t for t in build_tables(results, load_papers(), FAST) if t.family == "coir")
    full, part = _row(table, "full"), _row(table, "part")
    assert full.cells["codesearchnet"].value == pytest.approx((0.1 * 15 + 0.1 * 6) / 6)  # mean of the six means
    assert full.cells["codesearchnet"].ci is not None and "codesearchnet-go" not in full.cells
    assert "codesearchnet" not in part.cells and part.cells["codesearchnet-go"].value == 0.5
    assert table.columns[:2] == ("cosqa", "codesearchnet") and "codesearchnet-php" in table.columns
    assert _row(table, "CodeSage-large-v2").cells["codesearchnet"].value == pytest.approx(0.9426)
    assert any("mean of its 6 subsets" in n for n in table.notes)
    assert full.average is None  # 7 of CoIR's 10 datasets are missing
