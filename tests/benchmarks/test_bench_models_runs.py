"""``run:FILE`` prediction files: every format, and every validation error naming the first offenders."""

from __future__ import annotations

import json

import numpy as np
import pytest

from codequarry.benchmarks.models import load_model
from codequarry.benchmarks.models_runs import detect_format
from codequarry.benchmarks.tasks.base import Task, TaskData
from codequarry.benchmarks.tasks.spec import TaskSpec
from codequarry.errors import CodequarryError


def _task(family: str = "cosqa", language: str | None = "python") -> Task:
    spec = TaskSpec(key=family, module="cosqa", family=family, title="t", protocol="p", protocol_description="",
                    type="retrieval", main_score="mrr", measures=("mrr",), languages=("python",), per_language=False,
                    dynamic=False, splits=(), default_split="", query_averaging="a", source="s", homepage="https://x",
                    revision="r", license="l", citation="cosqa", data_source="d", description="d")
    return Task(name=family, spec=spec, languages=("python",), options={"language": language})


DATA = TaskData(queries={"q1": "a", "q2": "b"}, corpus={"d1": "x", "d2": "y", "d3": "z"},
                qrels={"q1": {"d1": 1}, "q2": {"d2": 1}}, meta={})


def _bound(tmp_path, text: str, name: str = "run.trec", family: str = "cosqa", data: TaskData = DATA, **args):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    model = load_model(f"run:{path}", args)
    model.prepare(_task(family), data)
    return model


def test_trec_run_ignores_rank_column_and_cuts_by_score(tmp_path):
    m = _bound(tmp_path, "q1 Q0 d1 3 0.2 t\nq1 Q0 d2 1 0.9 t\nq1 Q0 d3 2 0.9 t\nq2 Q0 d2 1 5 t\n")
    assert m.format == "trec" and m.revision.startswith("sha256:")
    run = m.retrieve(DATA.queries, DATA.corpus, 2)
    assert list(run["q1"]) == ["d3", "d2"]  # score desc, ties by doc id desc, rank column ignored
    assert m.ranked_lists()["q1"] == ["d1", "d2", "d3"]
    s = m.score_matrix(["q1", "q2"], ["a", "b"], ["d1", "d3"], ["x", "z"])
    assert s[0].tolist() == [0.2, 0.9] and s[1, 0] == -np.inf


def test_codexglue_jsonl_and_csv_and_labels_formats(tmp_path):
    m = _bound(tmp_path, '{"url": "q1", "answers": ["d2", "d1"]}\n{"url": "q2", "answers": ["d2"]}\n', "p.jsonl")
    assert m.format == "codexglue" and list(m.retrieve(DATA.queries, DATA.corpus, 5)["q1"]) == ["d2", "d1"]
    data = TaskData(queries={"sort list": "Sort list", "x": "x"}, corpus={}, qrels={"sort list": {"u1": 3}}, meta={})
    csv_text = "query,language,url\nSort List,Python,u9\nsort list,python,u1\nsort list,java,u1\n"
    m2 = _bound(tmp_path, csv_text, "model_predictions.csv", family="csn-ndcg", data=data)
    assert m2.format == "csn-csv"
    assert list(m2.retrieve(data.queries, data.corpus, 300)["sort list"]) == ["u9", "u1"]  # java row left out
    lab = tmp_path / "pred.txt"
    lab.write_text("i1\t1\ni2\t0\n", encoding="utf-8")
    m3 = load_model(f"run:{lab}")
    m3.prepare(_task("webquery"), TaskData(queries={"i1": "", "i2": ""}, corpus={"i1": "", "i2": ""},
                                           qrels={"i1": {"i1": 1}, "i2": {"i2": 0}}, meta={}))
    assert m3.format == "labels" and m3.pair_labels(["i1", "i2"]) == {"i1": 1, "i2": 0}


@pytest.mark.parametrize("text, message", [
    ("q1 Q0 d1 1 1 t\nq2 Q0 d2 1 1 t\nq7 Q0 d1 1 1 t\nq8 Q0 d1 1 1 t\n", r"query id\(s\) not in the task: 'q7' \(line 3\), 'q8' \(line 4\)"),
    ("q1 Q0 d1 1 1 t\nq2 Q0 d9 1 1 t\n", r"doc id\(s\) not in the task's corpus: 'd9' \(query 'q2'\) \(line 2\)"),
    ("q1 Q0 d1 1 1 t\n", r"no predictions for 1 task query: 'q2'"),
    ("q1 Q0 d1 1 1 t\nq1 Q0 d1 2 0.5 t\nq2 Q0 d2 1 1 t\n", r"the same doc twice for one query: 'q1' doc 'd1' \(line 2\)"),
    ("q1 Q0 d1 1 nan t\nq2 Q0 d2 1 inf t\n", r"non-finite score\(s\) at line 1 .*line 2"),
    ("q1 Q0 d1 1 high t\n", r"score 'high' is not a number"),
    ("q1 Q0 d1 1 1\n", r"has 6 fields"),
])
def test_trec_validation_errors(tmp_path, text, message):
    with pytest.raises(CodequarryError, match=message):
        _bound(tmp_path, text, format="trec")


def test_codexglue_validation_errors(tmp_path):
    with pytest.raises(CodequarryError, match="url 'q1' has a second line"):
        _bound(tmp_path, '{"url": "q1", "answers": ["d1"]}\n{"url": "q1", "answers": ["d2"]}\n', "p.jsonl")
    with pytest.raises(CodequarryError, match=r"doc 'd1' \(line 1\)"):
        _bound(tmp_path, '{"url": "q1", "answers": ["d1", "d1"]}\n{"url": "q2", "answers": ["d2"]}\n', "p.jsonl")
    with pytest.raises(CodequarryError, match="expected"):
        _bound(tmp_path, '{"url": "q1"}\n', "p.jsonl")


def test_csv_and_labels_validation_errors(tmp_path):
    data = TaskData(queries={"a": "a"}, corpus={"u1": "x"}, qrels={"a": {"u1": 1}}, meta={})
    with pytest.raises(CodequarryError, match="no rows for language 'python'"):
        _bound(tmp_path, "query,language,url\na,java,u1\n", "p.csv", family="csn-ndcg", data=data)
    with pytest.raises(CodequarryError, match="missing column"):
        _bound(tmp_path, "query,url\na,u1\n", "p.csv", family="csn-ndcg", data=data)
    with pytest.raises(CodequarryError, match=r"doc id\(s\) not in the task's corpus: 'u2'"):
        _bound(tmp_path, "query,language,url\na,python,u2\n", "p.csv", family="csn-ndcg", data=data)
    labels = TaskData(queries={"i1": "", "i2": ""}, corpus={}, qrels={"i1": {"i1": 1}, "i2": {"i2": 1}}, meta={})
    with pytest.raises(CodequarryError, match="missing prediction for idx i2"):
        _bound(tmp_path, "i1\t1\n", "p.txt", family="webquery", data=labels)
    with pytest.raises(CodequarryError, match="idx not in task"):
        _bound(tmp_path, "i1\t1\ni2\t0\ni3\t1\n", "p.txt", family="webquery", data=labels)
    with pytest.raises(CodequarryError, match="appears twice"):
        _bound(tmp_path, "i1\t1\ni1\t0\n", "p.txt", family="webquery", data=labels)
    with pytest.raises(CodequarryError, match="scores 0/1 decisions"):
        _bound(tmp_path, "i1 Q0 i1 1 1 t\n", "p.trec", family="webquery", data=labels)


def test_format_detection(tmp_path):
    p = tmp_path / "x.txt"
    p.write_text("just some words here\n", encoding="utf-8")
    with pytest.raises(CodequarryError, match="unrecognised predictions format"):
        detect_format(p)
    p.write_text("", encoding="utf-8")
    with pytest.raises(CodequarryError, match="empty"):
        detect_format(p)
    with pytest.raises(CodequarryError, match="no such file"):
        load_model(f"run:{tmp_path / 'missing.trec'}")
    with pytest.raises(CodequarryError, match="format must be one of"):
        load_model(f"run:{p}", {"format": "xml"})
    q = tmp_path / "p.jsonl"
    q.write_text(json.dumps({"url": "q1", "answers": []}) + "\n", encoding="utf-8")
    assert detect_format(q) == "codexglue"
