"""CoSQA: QA pairs with 0/1 labels (space-joined token strings) and the retrieval queries + code pool."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codequarry.builders import cosqa
from codequarry.errors import CodequarryError
from codequarry.pairs import PairsDir
from codequarry.schema import load_meta, make_id

CODE_A = 'def is_iterable(obj):\n    """Check iterability."""\n    return hasattr(obj, "__iter__")'
CODE_B = "def flatten(xs):\n    return [y for x in xs for y in x]"


def _qa(idx: str, doc: str, code: str, label: int, code_tokens: str, doc_tokens: str) -> dict:
    return {"idx": idx, "doc": doc, "code": code, "code_tokens": code_tokens, "docstring_tokens": doc_tokens, "label": label}


@pytest.fixture
def qa_dir(tmp_path):
    d = tmp_path / "qa"
    d.mkdir()
    dev = [
        _qa("cosqa-dev-0", "python check if object is iterable", CODE_A, 1,
            "def is_iterable ( obj ) : return hasattr ( obj , \"__iter__\" )", "Check iterability ."),
        # doubled spaces in the token strings, as in the real file
        _qa("cosqa-dev-1", "python flatten list of lists", CODE_B, 0, "def flatten ( xs ) :  return [ y ]", "  "),
    ]
    (d / "cosqa-dev.json").write_text(json.dumps(dev, indent=1), encoding="utf-8")
    train = [_qa("cosqa-train-0", "flatten nested list python", CODE_B, 1, "def flatten ( xs )", "")]
    (d / "cosqa-train.json").write_text(json.dumps(train), encoding="utf-8")
    return d


def test_qa_pairs_labels_tokens_and_splits(tmp_path, qa_dir, accounted, hf_load):
    out = tmp_path / "out"
    m = cosqa.build(out, path=qa_dir)
    assert accounted(m) == {"read": 3, "written": 3, "excluded": 0, "exclusion_reasons": {}}
    assert m["splits"] == {"python": {"train": 1, "valid": 2}}
    rows = {r["id"]: r for r in PairsDir(out).read().to_pylist()}
    r0 = rows[make_id("cosqa", "cosqa-dev-0")]
    assert r0["query"] == "python check if object is iterable" and r0["code"] == CODE_A and r0["label"] == 1
    assert r0["code_tokens"] == ["def", "is_iterable", "(", "obj", ")", ":", "return", "hasattr", "(", "obj", ",",
                                 '"__iter__"', ")"]
    assert r0["query_tokens"] == ["Check", "iterability", "."]
    r1 = rows[make_id("cosqa", "cosqa-dev-1")]
    assert r1["label"] == 0 and "" not in r1["code_tokens"] and r1["query_tokens"] == []
    assert load_meta(r1["meta"]) == {"idx": "cosqa-dev-1"}
    assert all(r["language"] == "python" and r["source"] == "cosqa" for r in rows.values())
    ds = hf_load(out)
    assert ds["valid"].num_rows == 2 and sorted(ds["valid"]["label"]) == [0, 1]


def test_cosqa_all_is_split_by_idx(tmp_path):
    d = tmp_path / "all"
    d.mkdir()
    items = [_qa("cosqa-train-5", "q a", CODE_A, 1, "a", "b"), _qa("cosqa-dev-7", "q b", CODE_B, 0, "a", "b")]
    (d / "cosqa-all.json").write_text(json.dumps(items))
    m = cosqa.build(tmp_path / "o", path=d / "cosqa-all.json")
    assert m["splits"] == {"python": {"train": 1, "valid": 1}}


@pytest.fixture
def retrieval_dir(tmp_path):
    d = tmp_path / "ret"
    d.mkdir()
    pool = {CODE_A: 0, CODE_B: 1, "def third():\n    pass": 2}
    (d / "code_idx_map.txt").write_text(json.dumps(pool), encoding="utf-8")
    queries = [
        {**_qa("cosqa-train-3", "check iterable python", CODE_A, 1, "def x", "c"), "retrieval_idx": 0},
        {**_qa("cosqa-dev-9", "flatten python", CODE_B, 1, "def y", "f"), "retrieval_idx": 1},
        {**_qa("cosqa-train-4", "orphan", CODE_B, 1, "def y", "f"), "retrieval_idx": 99},
    ]
    (d / "cosqa-retrieval-dev-500.json").write_text(json.dumps(queries), encoding="utf-8")
    return d


def test_retrieval_queries_and_pool(tmp_path, retrieval_dir, accounted, exclusions, hf_load):
    out = tmp_path / "out"
    m = cosqa.build(out, path=retrieval_dir)  # auto: only retrieval files there
    counts = accounted(m)
    assert counts["exclusion_reasons"] == {"build/retrieval_idx_not_in_pool": 1}
    assert m["splits"] == {"python": {"valid": 2, "corpus": 3}}
    pd = PairsDir(out)
    corpus = pd.read(split="corpus").to_pylist()
    assert {load_meta(r["meta"])["retrieval_idx"]: r["code"] for r in corpus} == {0: CODE_A, 1: CODE_B, 2: "def third():\n    pass"}
    assert all(r["query"] is None for r in corpus)
    queries = pd.read(split="valid").to_pylist()
    by_ridx = {load_meta(r["meta"])["retrieval_idx"]: r for r in queries}
    assert by_ridx[0]["query"] == "check iterable python" and by_ridx[1]["code"] == CODE_B
    (ex,) = exclusions(out)
    assert ex["reason"] == "retrieval_idx_not_in_pool" and ex["query"] == "orphan"
    ds = hf_load(out)
    assert ds["corpus"].num_rows == 3


def test_mixed_kinds_need_a_choice(tmp_path, qa_dir, retrieval_dir):
    with pytest.raises(CodequarryError, match="--kind qa or --kind retrieval"):
        cosqa.build(tmp_path / "o", path=[qa_dir, retrieval_dir])
    m = cosqa.build(tmp_path / "o2", path=[qa_dir, retrieval_dir], kind="qa")
    assert m["counts"]["written"] == 3 and m["ignored_files"]["count"] == 2


def test_bad_records_are_excluded_with_reasons(tmp_path, accounted):
    d = tmp_path / "bad"
    d.mkdir()
    items = [
        _qa("cosqa-dev-0", "ok", CODE_A, 1, "a", "b"),
        _qa("cosqa-dev-0", "duplicate idx", CODE_B, 0, "a", "b"),
        _qa("cosqa-dev-2", "bad label", CODE_A, 2, "a", "b"),
        {"idx": "cosqa-dev-3", "doc": "no code", "label": 1},
        {"idx": "cosqa-dev-4", "doc": 5, "code": CODE_A, "label": 1},
        _qa("cosqa-dev-5", "list tokens", CODE_A, 1, "a", "b") | {"code_tokens": ["a", "b"]},
        _qa("cosqa-dev-6", "empty code", "   ", 1, "a", "b"),
        "not an object",
        _qa("cosqa-dev-8", "bad unicode \ud800", CODE_A, 1, "a", "b"),
    ]
    (d / "cosqa-dev.json").write_text(json.dumps(items), encoding="utf-8")
    m = cosqa.build(tmp_path / "o", path=d)
    counts = accounted(m)
    assert counts["written"] == 1 and counts["read"] == len(items)
    assert counts["exclusion_reasons"] == {
        "build/duplicate_id": 1, "build/bad_label": 1, "build/missing_field": 1, "build/wrong_type": 3,
        "build/missing_code": 1, "build/invalid_utf8": 1}


def test_truncated_file_and_errors(tmp_path, accounted):
    d = tmp_path / "t"
    d.mkdir()
    text = json.dumps([_qa(f"cosqa-dev-{i}", f"q{i}", CODE_A + str(i), 1, "a", "b") for i in range(5)])
    (d / "cosqa-dev.json").write_text(text[: len(text) - 40])
    m = cosqa.build(tmp_path / "o", path=d)
    counts = accounted(m)
    assert counts["written"] == 4 and counts["exclusion_reasons"] == {"build/malformed_json": 1}
    with pytest.raises(CodequarryError, match="not a CoSQA file"):
        other = tmp_path / "x.json"
        other.write_text("[]")
        cosqa.build(tmp_path / "o2", path=other)
    with pytest.raises(CodequarryError, match="does not exist"):
        cosqa.build(tmp_path / "o3", path=tmp_path / "missing")
    with pytest.raises(CodequarryError, match="not empty"):
        cosqa.build(tmp_path / "o", path=d)


def test_real_cosqa_dev(tmp_path, shared_data: Path, accounted):
    m = cosqa.build(tmp_path / "dev", path=shared_data / "cosqa" / "cosqa-dev.json")
    accounted(m)
    assert m["splits"] == {"python": {"valid": 604}}
    labels = PairsDir(tmp_path / "dev").read(columns=["label", "query_tokens", "code_tokens"]).to_pydict()
    assert sum(labels["label"]) == 313 and len(labels["label"]) == 604
    assert all(t and "" not in t for t in labels["code_tokens"])


def test_real_cosqa_retrieval_pool(tmp_path, shared_data: Path, accounted):
    m = cosqa.build(tmp_path / "ret", path=shared_data / "cosqa", kind="retrieval")
    counts = accounted(m)
    assert counts["excluded"] == 0
    assert m["splits"] == {"python": {"valid": 500, "corpus": 6267}}
    pool = PairsDir(tmp_path / "ret").read(split="corpus", columns=["meta"]).column("meta").to_pylist()
    assert sorted(load_meta(x)["retrieval_idx"] for x in pool) == list(range(6267))


def test_rebuild_is_identical(tmp_path, retrieval_dir):
    a = cosqa.build(tmp_path / "a", path=retrieval_dir)
    b = cosqa.build(tmp_path / "b", path=retrieval_dir)
    assert a["fingerprint"] == b["fingerprint"]
    assert [f["sha256"] for f in a["files"]] == [f["sha256"] for f in b["files"]]
