"""CodeXGLUE WebQueryTest: unlabelled {idx, doc, code} list, labels attached from idx<TAB>0|1 answer files."""

from __future__ import annotations

import json

import pytest

from codequarry.builders import webquery
from codequarry.errors import CodequarryError
from codequarry.pairs import PairsDir

ITEMS = [
    {"idx": "webquery-test-1", "doc": "how to open a text file on python",
     "code": 'def get_file_string(filepath):     """Get string from file."""     with open(filepath) as f:         return f.read()'},
    {"idx": "webquery-test-2", "doc": "python sort dict by value", "code": "def sort_by_value(d):     return sorted(d.items(), key=lambda kv: kv[1])"},
    {"idx": "webquery-test-3", "doc": "python sort dict by value", "code": "def noop():     pass"},
]


@pytest.fixture
def data(tmp_path):
    p = tmp_path / "test_webquery.json"
    p.write_text(json.dumps(ITEMS), encoding="utf-8")
    return p


def test_unlabelled_build(tmp_path, data, accounted, hf_load):
    m = webquery.build(tmp_path / "o", path=data)
    accounted(m)
    assert m["splits"] == {"python": {"test": 3}}
    rows = PairsDir(tmp_path / "o").read().to_pylist()
    assert {r["query"] for r in rows} == {"how to open a text file on python", "python sort dict by value"}
    assert all(r["label"] is None for r in rows)
    assert hf_load(tmp_path / "o")["test"].num_rows == 3


def test_answers_attach_labels_and_are_counted(tmp_path, data, accounted):
    ans = tmp_path / "answers.txt"
    ans.write_text("webquery-test-1\t1\nwebquery-test-3\t0\r\nwebquery-test-99\t1\n\n")
    m = webquery.build(tmp_path / "o", path=data, answers=ans)
    accounted(m)
    assert m["answers"] == {"lines": 3, "matched": 2, "unmatched": 1, "unlabelled": 1}
    labels = {json.loads(r["meta"])["idx"]: r["label"] for r in PairsDir(tmp_path / "o").read().to_pylist()}
    assert labels == {"webquery-test-1": 1, "webquery-test-2": None, "webquery-test-3": 0}


@pytest.mark.parametrize("text, match", [
    ("webquery-test-1 1\n", "expected 'idx<TAB>0'"),
    ("webquery-test-1\t2\n", "expected 'idx<TAB>0'"),
    ("webquery-test-1\t1\nwebquery-test-1\t0\n", "answered both 1 and 0"),
])
def test_malformed_answers_are_errors(tmp_path, data, text, match):
    ans = tmp_path / "a.txt"
    ans.write_text(text)
    with pytest.raises(CodequarryError, match=match):
        webquery.build(tmp_path / "o", path=data, answers=ans)


def test_bad_records(tmp_path, accounted):
    p = tmp_path / "test_webquery.json"
    p.write_text(json.dumps([ITEMS[0], ITEMS[0], {"idx": "webquery-test-9", "doc": "x"}, {"idx": 3, "doc": "d", "code": "c"}]))
    m = webquery.build(tmp_path / "o", path=p)
    assert accounted(m)["exclusion_reasons"] == {"build/duplicate_id": 1, "build/missing_field": 1, "build/wrong_type": 1}


def test_real_webquery(tmp_path, shared_data, accounted):
    m = webquery.build(tmp_path / "o", path=shared_data / "codexglue" / "test_webquery.json",
                       answers=shared_data / "codexglue" / "webquery-evaluator-answers.txt")
    accounted(m)
    assert m["splits"] == {"python": {"test": 1046}}
    assert m["answers"]["matched"] == 5
    t = PairsDir(tmp_path / "o").read(columns=["query", "code"]).to_pydict()
    assert len(set(t["query"])) == 523 and len(set(t["code"])) == 803
