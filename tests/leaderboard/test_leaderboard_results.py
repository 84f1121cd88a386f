"""Reading result JSON (docs/formats.md §4): fixtures load; bad files give errors naming file and key."""

from __future__ import annotations

import json

import pytest

from codequarry.errors import CodequarryError
from codequarry.leaderboard.results import canonical_metric, collect_results, load_result


def test_fixture_results_load_and_the_stray_file_is_accounted(results_dir):
    results, skipped = collect_results([results_dir])
    assert len(results) == 14
    assert [s.path.name for s in skipped] == ["run_settings.json"]
    assert "not a codequarry result" in skipped[0].reason
    cosqa = next(r for r in results if r.path.name == "microsoft_unixcoder-base__cosqa.json")
    assert cosqa.metric == "mrr" and cosqa.protocol == "cosqa-pool-mrr" and cosqa.split == "test"
    assert cosqa.score == pytest.approx(sum(cosqa.per_query.values()) / 10)
    assert cosqa.ci[0] < cosqa.score < cosqa.ci[1]
    assert cosqa.model_spec == "hf:microsoft/unixcoder-base" and cosqa.date.startswith("2026-11-29")
    # "mrr" and "mrr@1000" under the full-codebase protocol are one metric
    assert {r.metric for r in results if r.family == "csn-cleaned"} == {"mrr@1000"}


@pytest.mark.parametrize(("metric", "protocol", "expected"), [
    ("mrr", "full-codebase-mrr@1000", "mrr@1000"),
    ("MRR@1000", "full-codebase-mrr@1000", "mrr@1000"),
    ("mrr", "advtest-mrr@100", "mrr@100"),
    ("mrr", "cosqa-pool-mrr", "mrr"),
    ("ndcg", "coir-ndcg@10", "ndcg@10"),
    ("recall@10", "cosqa-pool-mrr", "recall@10"),
    ("accuracy", "webquery-accuracy", "accuracy"),
])
def test_canonical_metric(metric, protocol, expected):
    assert canonical_metric(metric, protocol) == expected


def _edit(write_result, change):
    path = write_result("r.json", per_query={"a": 1.0, "b": 0.0}, ci=[0.0, 1.0])
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["task"].pop("protocol"), "missing key task.'protocol'"),
    (lambda d: d.pop("scores"), "missing key 'scores'"),
    (lambda d: d["model"].update(name=3), "model.'name' must be str"),
    (lambda d: d.update(main_score=0.9), "main_score 0.9 differs from scores['mrr']"),
    (lambda d: d["task"].update(main_score="ndcg@10"), "task.main_score 'ndcg@10' is not among scores"),
    (lambda d: d["scores"].update(mrr=float("nan")), "must be a finite number"),
    (lambda d: d.update(schema_version=7), "unsupported schema_version 7"),
    (lambda d: d["ci"].update(mrr=[0.9, 0.1]), "low 0.9 > high 0.1"),
    (lambda d: d["per_query"]["mrr"].update(c="x"), "per_query.mrr['c'] must be a finite number"),
    (lambda d: d.update(kind="mteb"), "not a codequarry result"),
])
def test_bad_result_files_name_file_and_key(write_result, change, message):
    path = _edit(write_result, change)
    with pytest.raises(CodequarryError) as info:
        load_result(path)
    assert str(path) in str(info.value) and message in str(info.value)


def test_invalid_json_and_missing_paths(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text("{\n  \"kind\": ")
    with pytest.raises(CodequarryError, match=r"x.json: invalid JSON at line 2"):
        load_result(bad)
    with pytest.raises(CodequarryError, match="does not exist"):
        collect_results([tmp_path / "nope"])


def test_a_broken_result_inside_a_folder_is_an_error_not_a_skip(write_result, tmp_path):
    path = _edit(write_result, lambda d: d["task"].pop("family"))
    with pytest.raises(CodequarryError, match="missing key task.'family'"):
        collect_results([path.parent])


def test_optional_fields_may_be_absent(write_result):
    path = _edit(write_result, lambda d: [d.pop("ci"), d.pop("per_query"), d.pop("provenance"),
                                          d["task"].pop("split"), d["task"].pop("language")])
    r = load_result(path)
    assert r.ci is None and r.per_query is None and r.date is None and r.split == "unspecified" and r.language is None


def test_files_written_by_the_harness_are_read(tmp_path):
    """Compatibility with codequarry.benchmarks.results (the writer of the files this package reads)."""
    harness = pytest.importorskip("codequarry.benchmarks.results")
    task = {"name": "csn-cleaned/go", "family": "csn-cleaned", "language": "go", "split": "test",
            "protocol": "full-codebase-mrr@1000", "main_score": "mrr@1000", "revision": "r", "data_fingerprint": "sha256:x",
            "citation": "c", "num_queries": 4, "num_docs": 9, "query_averaging": "every query"}
    per_query = {"q1": 1.0, "q2": 0.5, "q3": 0.0, "q4": 0.25}
    result = harness.make_result(task=task, model={"spec": "bm25", "name": "bm25", "revision": "bm25s-x"},
                                 scores={"mrr@1000": 0.4375, "recall@10": 0.75},
                                 per_query={"mrr@1000": per_query}, provenance={"date": "2026-11-29T00:00:00Z"})
    path = harness.save_result(result, tmp_path)
    mine = load_result(path)
    assert (mine.family, mine.protocol, mine.metric, mine.split, mine.language) == (
        "csn-cleaned", "full-codebase-mrr@1000", "mrr@1000", "test", "go")
    assert mine.score == pytest.approx(0.4375) and mine.per_query == per_query
    assert mine.ci is not None and mine.ci[0] <= mine.score <= mine.ci[1]
    assert mine.model_revision == "bm25s-x" and mine.date == "2026-11-29T00:00:00Z"
