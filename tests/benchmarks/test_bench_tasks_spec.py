"""tasks.yaml is the single, validated source of a task (issue 11 item 2)."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest
import yaml

from codequarry.benchmarks.models import load_model
from codequarry.benchmarks.tasks import get_task
from codequarry.benchmarks.tasks.spec import TASKS_YAML, TaskSpecError, parse_spec, parse_specs, task_specs

BASE = {
    "module": "pairs", "title": "T", "protocol": "p-1", "protocol_description": "what p-1 means", "main_score": "mrr",
    "measures": ["mrr"], "languages": ["python"], "splits": [], "default_split": "", "query_averaging": "all",
    "source": "s", "homepage": "https://x", "revision": "r", "license": "l", "citation": "codequarry",
    "data_source": "DIR", "description": "d",
}


@pytest.mark.parametrize(("change", "field"), [
    ({"colour": "red"}, "colour"),
    ({"main_score": "ndcg@10"}, "main_score"),
    ({"eval": {"k": 0, "averaging": "qrels-all-missing-zero"}}, "eval.k"),
    ({"eval": {"k": 10, "averaging": "sometimes"}}, "eval.averaging"),
    ({"eval": {"k": 10, "averaging": "qrels-all-missing-zero", "depth": 3}}, "eval.depth"),
    ({"leaderboard": {"columns": ["python"], "column_from": "moon"}}, "leaderboard.column_from"),
    ({"leaderboard": {"columns": ["python"], "groups": {"go": ["a"]}}}, "leaderboard.groups.go"),
    ({"type": "regression"}, "type"),
    ({"measures": "mrr"}, "measures"),
    ({"splits": ["test"], "default_split": "dev"}, "default_split"),
    ({"title": ""}, "title"),
])
def test_errors_name_file_task_and_field(change, field):
    with pytest.raises(TaskSpecError) as err:
        parse_spec("mytask", {**BASE, **change}, "tasks.yaml")
    msg = str(err.value)
    assert msg.startswith("tasks.yaml: task 'mytask'") and f"field '{field}'" in msg


def test_a_protocol_is_described_once_with_one_main_score():
    a = dict(BASE)
    b = {**BASE, "protocol_description": ""}  # inherits a's
    specs = parse_specs({"a": a, "b": b}, "f.yaml")
    assert specs["b"].protocol_description == "what p-1 means"
    with pytest.raises(TaskSpecError, match="described by 'a' already"):
        parse_specs({"a": a, "b": {**BASE, "protocol_description": "other"}}, "f.yaml")
    with pytest.raises(TaskSpecError, match="no entry describes protocol 'p-2'"):
        parse_specs({"a": a, "b": {**BASE, "protocol": "p-2", "protocol_description": ""}}, "f.yaml")
    with pytest.raises(TaskSpecError, match="one main score"):
        parse_specs({"a": a, "b": {**b, "main_score": "r@1", "measures": ["r@1"]}}, "f.yaml")
    with pytest.raises(TaskSpecError, match="'family'"):
        parse_specs({"a": {**a, "family": "nope"}}, "f.yaml")


def test_the_shipped_file_parses_and_the_leaderboard_copies_are_gone():
    specs = task_specs()
    assert {"csn", "csn-model-test", "csn-cleaned", "csn-ndcg", "coir"} <= set(specs)
    root = Path(__file__).resolve().parents[2]
    assert not (root / "leaderboard" / "protocols.yaml").exists() and not (root / "leaderboard" / "families.yaml").exists()
    from codequarry.benchmarks import results

    assert not hasattr(results, "CLASSIFICATION_PROTOCOLS")
    from codequarry.leaderboard.catalog import families, protocols

    for spec in specs.values():
        assert protocols()[spec.protocol].metric == spec.main_score
        assert protocols()[spec.protocol].description == spec.protocol_description
    assert families()["csn-model-test"].columns == ("ruby", "javascript", "go", "python", "java", "php")
    assert families()["coir"].column_from == "task" and dict(families()["coir"].groups)["codesearchnet"]
    assert get_task("webquery").type == "classification" and get_task("cosqa").type == "retrieval"
    raw = yaml.safe_load(TASKS_YAML.read_text(encoding="utf-8"))
    assert get_task("csn/python").data == raw["csn"].get("data")  # the fetch block rides along untouched


def test_families_with_a_standard_evaluator_have_no_evaluate_of_their_own():
    for key, spec in task_specs().items():
        module = importlib.import_module(f"codequarry.benchmarks.tasks.{spec.module}")
        if spec.eval is not None:
            assert not hasattr(module, "evaluate"), f"{key}: {spec.module}.evaluate duplicates the eval block"
        if spec.eval is None:
            assert hasattr(module, "evaluate"), f"{key}: no eval block and no {spec.module}.evaluate"


def _write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_a_yaml_only_task_full_rank_mrr_and_recall(tmp_path):
    """csn-cleaned-fullrank is one tasks.yaml entry (module csn_cleaned's loader, the standard evaluator with k: all).

    Reference (CodeT5+ eval_contrast_retrieval.py, full ranking): 1/rank of the code wherever it ranks, and
    recall@k = 1 when it is in the top k; csn-cleaned's MRR@1000 gives 0 beyond rank 1000.
    """
    spec = task_specs()["csn-cleaned-fullrank"]
    assert spec.module == "csn_cleaned" and spec.eval is not None and spec.eval.k is None
    base = tmp_path / "dataset" / "ruby"
    _write_jsonl(base / "codebase.jsonl", [{"url": f"u{i}", "code_tokens": [f"m{i}"]} for i in range(1200)])
    _write_jsonl(base / "test.jsonl", [{"url": "u0", "docstring_tokens": ["zero"]},
                                       {"url": "u1", "docstring_tokens": ["one"]}])
    lines = []
    for q, at in (("u0", 1001), ("u1", 3)):
        others = [f"u{i}" for i in range(2, 1200)]
        ranked = others[: at - 1] + [q] + others[at - 1:]
        lines += [f"{q} Q0 {d} {r} {5000 - r} t" for r, d in enumerate(ranked, start=1)]
    run = tmp_path / "run.trec"
    run.write_text("\n".join(lines) + "\n", encoding="utf-8")
    task = get_task("csn-cleaned-fullrank/ruby")
    ev = task.evaluate(task.load(tmp_path / "dataset"), load_model(f"run:{run}"))
    assert ev.scores["mrr"] == pytest.approx((1 / 1001 + 1 / 3) / 2)
    assert (ev.scores["recall@1"], ev.scores["recall@5"], ev.scores["recall@10"]) == (0.0, 0.5, 0.5)
    cut = get_task("csn-cleaned/ruby")
    assert cut.evaluate(cut.load(tmp_path / "dataset"), load_model(f"run:{run}")).scores["mrr@1000"] == \
        pytest.approx(1 / 6)


def test_leaderboard_names_the_protocol_of_each_number(tmp_path):
    """csn (query→code) and csn-model-test (code→query) results land in separate, described tables."""
    from codequarry.benchmarks.results import make_result, save_result
    from codequarry.leaderboard import build_leaderboard

    for name, family, protocol in (("csn/python", "csn", "csn-1000-mrr"),
                                   ("csn-model-test/python", "csn-model-test", "csn-model-test-mrr")):
        task = {"name": name, "family": family, "language": "python", "split": "test", "protocol": protocol,
                "main_score": "mrr"}
        save_result(make_result(task=task, model={"name": "m", "spec": "bm25"}, scores={"mrr": 0.5},
                                per_query={"mrr": {"a": 0.5, "b": 0.5}}), tmp_path / "res")
    build_leaderboard([tmp_path / "res"], tmp_path / "board", formats=("md",))
    text = next((tmp_path / "board").glob("*.md")).read_text(encoding="utf-8")
    assert "Protocol `csn-1000-mrr`: CodeBERT mrr.py" in text
    assert "Protocol `csn-model-test-mrr`: CodeSearchNet model\\_test.py" in text  # Markdown-escaped _


def test_the_hub_dataset_is_read_from_the_data_block_once():
    raw = yaml.safe_load(TASKS_YAML.read_text(encoding="utf-8"))
    assert "hub" not in raw["advtest"]
    assert get_task("advtest").hub_dataset == "google/code_x_glue_tc_nl_code_search_adv"
    pinned = parse_spec("t", {**BASE, "data": [{"kind": "http", "url": "https://x/y"},
                                                {"kind": "hub", "repo_id": "o/n", "revision": "a" * 40}]})
    assert (pinned.hub_dataset, pinned.hub_revision) == ("o/n", "a" * 40)
    assert parse_spec("t", {**BASE, "hub": {"dataset": "o/m"}}).hub_dataset == "o/m"


def test_a_task_holds_its_spec_and_copies_none_of_its_fields():
    """Task = its tasks.yaml entry (spec) + name, languages and options: a fact of the entry has one home."""
    import dataclasses

    from codequarry.benchmarks.tasks.base import Task
    from codequarry.citations import bibtex

    assert [f.name for f in dataclasses.fields(Task)] == ["name", "spec", "languages", "options"]
    task = get_task("csn/python")
    entry = task_specs()["csn"]
    assert task.spec == entry and task.languages == ("python",) and task.options["language"] == "python"
    assert (task.family, task.protocol, task.main_score, task.eval) == (entry.family, entry.protocol, entry.main_score,
                                                                       entry.eval)
    assert task.citation == bibtex(entry.citation) and task.module == "codequarry.benchmarks.tasks." + entry.module
    assert "{language}" not in task.data_source and task.data_source == entry.data_source.replace("{language}",
                                                                                                  "python")
    moved = dataclasses.replace(task, spec=dataclasses.replace(entry, title="Another title"))
    assert moved.title == moved.metadata()["title"] == "Another title"  # read through, not copied
