"""Result files: build with CIs, save/load round trip, validation errors, model-card exports."""

from __future__ import annotations

import json
import re

import pytest

from codequarry.benchmarks.provenance import provenance
from codequarry.benchmarks.results import (
    SCHEMA_VERSION,
    Result,
    load_result,
    load_results,
    make_result,
    save_result,
    to_eval_results,
    to_model_index,
)
from codequarry.benchmarks.stats import bootstrap_ci
from codequarry.errors import CodequarryError

TASK = {"name": "csn-cleaned/python", "family": "csn-cleaned", "language": "python", "split": "test",
        "protocol": "full-codebase-mrr@1000", "main_score": "mrr", "revision": "abc123",
        "data_fingerprint": "sha256:00", "num_queries": 4, "num_docs": 10,
        "query_averaging": "qrels-all-missing-zero"}
MODEL = {"spec": "st:/models/all-MiniLM-L6-v2", "name": "all-MiniLM-L6-v2", "revision": None,
         "settings": {"max_length": 256}}


def _result(**kw) -> Result:
    per_query = {"mrr": {"q1": 1.0, "q2": 1 / 3, "q3": 0.0, "q4": 0.5},
                 "recall@1": {"q1": 1.0, "q2": 0.0, "q3": 0.0, "q4": 0.0}}
    scores = {m: sum(v.values()) / len(v) for m, v in per_query.items()}
    return make_result(task=kw.get("task", TASK), model=kw.get("model", MODEL), scores=scores,
                       per_query=per_query, provenance=provenance(command="codequarry bench", wall_time_s=1.25))


def test_make_result_computes_cis_and_main_score():
    r = _result()
    assert r.main_score == pytest.approx((1 + 1 / 3 + 0.5) / 4)
    assert r.ci["mrr"] == bootstrap_ci([1.0, 1 / 3, 0.0, 0.5])
    assert r.ci_method == {"kind": "bootstrap-percentile", "resamples": 1000, "seed": 0, "level": 0.95}
    with pytest.raises(CodequarryError, match="main score"):
        make_result(task={**TASK, "main_score": "ndcg@10"}, model=MODEL, scores={"mrr": 0.5}, per_query={})


def test_round_trip(tmp_path):
    r = _result()
    path = save_result(r, tmp_path / "out")
    assert path.name == "all-MiniLM-L6-v2__csn-cleaned_python_test.json"
    data = json.loads(path.read_text())
    assert data["kind"] == "codequarry-result" and data["schema_version"] == SCHEMA_VERSION
    assert data["scores"]["mrr"] == round(r.scores["mrr"], 6)  # rounded for reading
    assert data["per_query"]["mrr"]["q2"] == 1 / 3  # full precision kept for significance tests
    back = load_result(path)
    assert back == r.rounded()
    assert back.task_name == "csn-cleaned/python" and back.split == "test" and back.main_measure == "mrr"
    assert not list(tmp_path.glob("out/.*"))  # no temporary file left behind


def test_provenance_fields():
    p = provenance(command="codequarry bench x", wall_time_s=2.5, seed=3, extra_key=1)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", p["date"])
    assert p["packages"]["numpy"] and p["hardware"]["cores"] >= 1 and p["hardware"]["cpu"]
    assert p["seed"] == 3 and p["wall_time_s"] == 2.5 and p["extra_key"] == 1
    assert p["command"] == "codequarry bench x" and p["codequarry_version"]


@pytest.mark.parametrize("edit,message", [
    (lambda d: d.update(kind="something-else"), "kind"),
    (lambda d: d.update(schema_version=99), "schema_version 99"),
    (lambda d: d.pop("schema_version"), "schema_version"),
    (lambda d: d.pop("scores"), "missing key 'scores'"),
    (lambda d: d["task"].pop("main_score"), "missing key task.'main_score'"),
    (lambda d: d["scores"].pop("mrr"), "task.main_score 'mrr' is not among scores"),
    (lambda d: d["scores"].update(mrr="high"), "scores.mrr must be a finite number"),
    (lambda d: d["ci"].update(mrr=[0.1]), "ci.mrr must be [low, high]"),
    (lambda d: d.update(model={}), "'model' needs"),
])
def test_validation_errors(tmp_path, edit, message):
    data = _result().to_dict()
    edit(data)
    path = tmp_path / "r.json"
    path.write_text(json.dumps(data))
    with pytest.raises(CodequarryError, match=re.escape(message)) as info:
        load_result(path)
    assert str(path) in str(info.value)


def test_unreadable_files(tmp_path):
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(CodequarryError, match="cannot read JSON"):
        load_result(tmp_path / "bad.json")
    with pytest.raises(CodequarryError, match="not found"):
        load_result(tmp_path / "missing.json")
    with pytest.raises(CodequarryError, match="no such"):
        load_results([tmp_path / "nowhere"])


def test_load_results_walks_folders(tmp_path):
    save_result(_result(), tmp_path / "a")
    save_result(_result(task={**TASK, "name": "cosqa", "split": "dev"}), tmp_path / "a" / "deeper")
    (tmp_path / "a" / "other.json").write_text(json.dumps({"kind": "leaderboard-data"}))
    (tmp_path / "a" / "notes.json").write_text("[1, 2")  # not JSON and not a result: skipped
    found = load_results([tmp_path / "a"])
    assert sorted(r.task_name for r in found) == ["cosqa", "csn-cleaned/python"]
    (tmp_path / "a" / "torn.json").write_text('{"kind": "codequarry-result", "sch')
    with pytest.raises(CodequarryError, match="torn.json"):
        load_results(tmp_path / "a")


def test_model_card_exports():
    results = [_result(), _result(task={**TASK, "name": "webquery", "protocol": "webquery-accuracy",
                                        "split": None, "language": None, "revision": None})]
    mi = to_model_index(results, "all-MiniLM-L6-v2")
    entry = mi["model-index"][0]
    assert entry["name"] == "all-MiniLM-L6-v2"
    first, second = entry["results"]
    assert first["task"] == {"type": "text-retrieval", "name": "Text Retrieval"}
    assert first["dataset"] == {"type": "codequarry/csn-cleaned", "name": "csn-cleaned/python", "config": "python",
                                "split": "test", "revision": "abc123"}
    assert {"type": "mrr", "value": round(results[0].scores["mrr"], 6), "name": "MRR",
            "args": {"protocol": "full-codebase-mrr@1000"}} in first["metrics"]
    assert any(m["type"] == "recall_at_1" and m["name"] == "Recall@1" for m in first["metrics"])
    assert first["source"]["name"] == "codequarry"
    assert second["task"]["type"] == "text-classification" and "split" not in second["dataset"]
    er = to_eval_results(results)
    assert er[0]["dataset"] == {"id": "codequarry/csn-cleaned", "task_id": "csn-cleaned_python_test",
                                "revision": "abc123"}
    assert er[0]["value"] == round(100 * results[0].main_score, 4)
    assert "full-codebase-mrr@1000" in er[0]["notes"]
    yaml = pytest.importorskip("yaml")
    assert yaml.safe_load(yaml.safe_dump(mi)) == mi


# ---------------------------------------------------------------------------------------------
# one owner of the format: every reader validates and upgrades the same way (issue 11 item 5)


def _v1(tmp_path, **task_changes):
    data = _result(task={**TASK, **task_changes}).to_dict()
    data["schema_version"] = 1
    for key in ("type", "protocol_description"):
        data["task"].pop(key, None)
    path = tmp_path / "old" / "v1.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


def test_a_version_1_file_is_upgraded_on_read(tmp_path):
    path = _v1(tmp_path, name="webquery", family="webquery", protocol="webquery-accuracy")
    r = load_result(path)
    assert r.schema_version == SCHEMA_VERSION == 2
    assert r.task["type"] == "classification"
    assert r.task["protocol_description"].startswith("CodeXGLUE WebQueryTest")
    assert json.loads(path.read_text())["schema_version"] == 1  # read, never rewritten in place
    assert to_model_index([r], "m")["model-index"][0]["results"][0]["task"]["type"] == "text-classification"


def test_every_reader_uses_the_same_validation(tmp_path):
    from codequarry.benchmarks.compare import compare_paths
    from codequarry.benchmarks.runner import _find_existing
    from codequarry.leaderboard.results import collect_results

    path = _v1(tmp_path)
    data = json.loads(path.read_text())
    data["model"]["args"] = {}
    data["task"]["data_inputs"] = {}
    path.write_text(json.dumps(data))
    # v1 files are found by the leaderboard, compare and the runner's resume check alike
    assert collect_results([path.parent])[0][0].protocol == "full-codebase-mrr@1000"
    assert load_results(path.parent)[0].schema_version == 2
    assert _find_existing(path.parent, MODEL["spec"], {}, TASK["name"], "test", {}) == path
    # and one broken value is refused by each of them with the same message
    data["ci"]["mrr"] = [0.9, 0.1]
    path.write_text(json.dumps(data))
    for read in (lambda: collect_results([path.parent]), lambda: load_results(path.parent),
                 lambda: compare_paths([path], [path]),
                 lambda: _find_existing(path.parent, MODEL["spec"], {}, TASK["name"], "test", {})):
        with pytest.raises(CodequarryError, match=r"v1.json: ci.mrr has low 0.9 > high 0.1"):
            read()


def test_model_index_names_the_hub_dataset_and_its_revision():
    r = _result(task={**TASK, "name": "advtest", "hub_dataset": "google/code_x_glue_tc_nl_code_search_adv",
                      "hub_revision": "a" * 40})
    ds = to_model_index([r], "m")["model-index"][0]["results"][0]["dataset"]
    assert ds["type"] == "google/code_x_glue_tc_nl_code_search_adv" and ds["revision"] == "a" * 40
