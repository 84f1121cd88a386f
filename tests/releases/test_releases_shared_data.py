"""On the real sample files, a benchmark's builder and its task read the same records (through one reader).

Each test builds the pairs dir with the builder, loads the task from the raw files, and checks both
against the file read independently here with ``json``/``gzip`` (the reference): same records, same
count, nothing dropped on either side. Skipped when ../shared/data is absent.
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

import pytest

from codequarry.pairs import PairsDir


def _rows(out: Path) -> list[dict]:
    d = PairsDir(out)
    rows: list[dict] = []
    for config in d.configs or [None]:
        for split in d.splits(config):
            for table in d.iter_batches(split=split, config=config):
                rows += [dict(r, _split=split) for r in table.to_pylist()]
    return rows


def _norm(text: str) -> str:
    return " ".join(text.split())


def test_cosqa_retrieval_builder_and_task_read_the_same_queries_and_pool(tmp_path, shared_data):
    from codequarry.benchmarks.tasks import get_task
    from codequarry.builders import cosqa

    src = shared_data / "cosqa"
    pool_ref = json.loads((src / "code_idx_map.txt").read_text(encoding="utf-8"))
    items_ref = json.loads((src / "cosqa-retrieval-dev-500.json").read_text(encoding="utf-8"))
    assert len(pool_ref) == 6267 and len(items_ref) == 500

    manifest = cosqa.build(tmp_path / "out", path=[src / "code_idx_map.txt", src / "cosqa-retrieval-dev-500.json"],
                           kind="retrieval")
    assert manifest["counts"]["excluded"] == 0
    rows = _rows(tmp_path / "out")
    built_pool = {json.loads(r["meta"])["retrieval_idx"]: r["code"] for r in rows if r["_split"] == "corpus"}
    built_queries = {json.loads(r["meta"])["idx"]: (r["query"], json.loads(r["meta"])["retrieval_idx"])
                     for r in rows if r["_split"] == "valid"}
    assert built_pool == {idx: code for code, idx in pool_ref.items()}
    assert built_queries == {it["idx"]: (it["doc"], it["retrieval_idx"]) for it in items_ref}

    data = get_task("cosqa").load(src, split="dev")
    assert data.corpus == {str(idx): _norm(code) for idx, code in built_pool.items()}
    assert data.queries == {idx: _norm(doc) for idx, (doc, _) in built_queries.items()}
    assert data.qrels == {idx: {str(ridx): 1} for idx, (_, ridx) in built_queries.items()}


def test_cosqa_qa_builder_and_task_read_the_same_labelled_pairs(tmp_path, shared_data):
    from codequarry.benchmarks.tasks import get_task
    from codequarry.builders import cosqa

    path = shared_data / "cosqa" / "cosqa-dev.json"
    ref = {it["idx"]: (it["doc"], it["code"], it["label"]) for it in json.loads(path.read_text(encoding="utf-8"))}
    assert len(ref) == 604 and sum(v[2] for v in ref.values()) == 313

    cosqa.build(tmp_path / "out", path=path, kind="qa")
    built = {json.loads(r["meta"])["idx"]: (r["query"], r["code"], r["label"]) for r in _rows(tmp_path / "out")}
    data = get_task("cosqa-qa").load(path)
    task = {i: (data.queries[i], data.corpus[i], data.extra["labels"][i]) for i in data.queries}
    assert built == ref == task


def test_webquery_builder_and_task_read_the_same_items_and_answers(tmp_path, shared_data):
    from codequarry.benchmarks.tasks import get_task
    from codequarry.builders import webquery

    src = shared_data / "codexglue"
    items = {it["idx"]: (it["doc"], it["code"]) for it in json.loads((src / "test_webquery.json").read_text(encoding="utf-8"))}
    answers = {}
    for line in (src / "webquery-evaluator-answers.txt").read_text(encoding="utf-8").splitlines():
        idx, label = line.strip().split("\t")
        answers[idx] = int(label)
    assert len(items) == 1046 and len(answers) == 5

    manifest = webquery.build(tmp_path / "out", path=src / "test_webquery.json",
                              answers=src / "webquery-evaluator-answers.txt")
    assert manifest["answers"] == {"lines": 5, "matched": 5, "unmatched": 0, "unlabelled": 1041}
    rows = _rows(tmp_path / "out")
    assert {json.loads(r["meta"])["idx"]: (r["query"], r["code"]) for r in rows} == items
    assert {json.loads(r["meta"])["idx"]: r["label"] for r in rows if r["label"] is not None} == answers

    data = get_task("webquery").load({"test": src / "test_webquery.json", "answers": src / "webquery-evaluator-answers.txt"})
    assert data.extra["labels"] == answers
    assert {i: (data.queries[i], data.corpus[i]) for i in answers} == {i: items[i] for i in answers}


def test_codesearchnet_builder_and_task_read_the_same_records_of_the_release_fixture(tmp_path, shared_data):
    from codequarry.benchmarks.tasks import get_task
    from codequarry.benchmarks.tasks.base import joined_tokens
    from codequarry.builders import codesearchnet

    path = shared_data / "codesearchnet" / "csn-schema-fixture-python.jsonl.gz"
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        ref = [json.loads(line) for line in fh if line.strip()]
    assert len(ref) >= 255

    manifest = codesearchnet.build(tmp_path / "out", path=path)
    assert manifest["counts"]["excluded"] == 0
    built = Counter((tuple(r["query_tokens"]), tuple(r["code_tokens"])) for r in _rows(tmp_path / "out"))
    assert built == Counter((tuple(r["docstring_tokens"]), tuple(r["code_tokens"])) for r in ref)

    rows, files, kind = _csn_rows(get_task("csn/python"), path)
    assert kind == "codesearchnet-jsonl" and files == [str(path)]
    # the task feeds the model joined tokens (CodeBERT's inputs); the records behind them are the builder's
    assert Counter(q for _, q, _ in rows) == Counter(joined_tokens(r["docstring_tokens"]) for r in ref)
    assert len(rows) == sum(built.values())


def _csn_rows(task, path: Path):
    from codequarry.benchmarks.tasks.base import Inputs
    from codequarry.benchmarks.tasks.csn import read_rows

    return read_rows(task, Inputs.of(path), "test", "python")


@pytest.mark.parametrize("name", ["sql_all_agreed_iid_to_label.pickle", "python_all_agreed_iid_to_label.pickle",
                                  "sql_how_to_do_it_by_classifier_multiple_qid_to_title.pickle"])
def test_staqc_pickles_load_through_the_scan_as_the_plain_unpickler_loads_them(shared_data, name):
    import pickle

    from codequarry.builders._io import Input
    from codequarry.releases.staqc import load_dict

    path = shared_data / "staqc" / name
    assert load_dict(Input(name, path), "test") == pickle.loads(path.read_bytes(), encoding="bytes")


def test_codesearchnet_zip_builder_and_task_read_the_same_members(tmp_path, shared_data):
    """The release's {lang}.zip layout: both sides read its members in place, through the vetted archive layer."""
    import zipfile

    from codequarry.benchmarks.tasks import get_task
    from codequarry.builders import codesearchnet

    raw = (shared_data / "codesearchnet" / "csn-schema-fixture-python.jsonl.gz").read_bytes()
    z = tmp_path / "python.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("python/final/jsonl/test/python_test_0.jsonl.gz", raw)
        zf.writestr("python/final/jsonl/test/python_test_1.jsonl.gz", raw)
    codesearchnet.build(tmp_path / "out", path=z)
    built = _rows(tmp_path / "out")
    rows, files, _ = _csn_rows(get_task("csn/python"), z)
    assert files == [f"{z}!python/final/jsonl/test/python_test_0.jsonl.gz", f"{z}!python/final/jsonl/test/python_test_1.jsonl.gz"]
    assert len(rows) == len(built) == 2 * sum(1 for line in gzip.decompress(raw).splitlines() if line.strip())
