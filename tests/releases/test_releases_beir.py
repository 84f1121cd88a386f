"""BEIR folders: one writer and one reader of the format (``codequarry.releases.beir``), used by the coir task."""

from __future__ import annotations

import json

import pytest

from codequarry.errors import CodequarryError
from codequarry.releases import beir


def test_written_folder_has_beirs_exact_layout(tmp_path):
    out = beir.write_folder(tmp_path / "b", corpus=[{"_id": "d1", "text": "def f(): pass"}, {"_id": "d2", "title": "T",
                                                                                             "text": "x = 1\n"}],
                            queries=[{"_id": "q1", "text": "define f"}, {"_id": "q2", "text": "é"}],
                            qrels={"test": [("q1", "d1", 1), ("q2", "d2", 0)]})
    assert (out / "corpus.jsonl").read_text(encoding="utf-8").splitlines() == [
        '{"_id": "d1", "title": "", "text": "def f(): pass"}', '{"_id": "d2", "title": "T", "text": "x = 1\\n"}']
    assert [json.loads(x) for x in (out / "queries.jsonl").read_text(encoding="utf-8").splitlines()] == [
        {"_id": "q1", "text": "define f"}, {"_id": "q2", "text": "é"}]
    assert (out / "qrels" / "test.tsv").read_bytes() == b"query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t0\n"
    assert beir.is_beir_dir(out) and beir.splits(out) == ["test"]
    assert not list(out.rglob("*.tmp"))


def test_the_coir_task_reads_what_the_writer_wrote(tmp_path):
    from codequarry.benchmarks.tasks import load_task

    out = beir.write_folder(tmp_path / "b", corpus=[{"_id": str(i), "text": f"code {i}"} for i in range(5)],
                            queries=[{"_id": "a", "text": "first"}, {"_id": "b", "text": "second"},
                                     {"_id": "c", "text": "not judged"}],
                            qrels={"test": [("a", "1", 1), ("b", "2", 1), ("b", "3", 0)], "dev": [("a", "0", 1)]})
    data = load_task(out, split="test")
    assert data.queries == {"a": "first", "b": "second"}  # BEIR keeps only judged queries
    assert data.corpus == {str(i): f"code {i}" for i in range(5)}
    assert data.qrels == {"a": {"1": 1}, "b": {"2": 1, "3": 0}}
    assert data.meta["queries_not_in_qrels"] == 1


def test_bad_rows_are_errors_naming_the_line(tmp_path):
    out = beir.write_folder(tmp_path / "b", corpus=[{"_id": "d", "text": "x"}], queries=[{"_id": "q", "text": "y"}],
                            qrels={"test": [("q", "d", 1)]})
    (out / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq\td\tone\n", encoding="utf-8")
    with pytest.raises(CodequarryError, match=r"test\.tsv:2: score 'one'"):
        beir.read_qrels(out / "qrels" / "test.tsv")
    with pytest.raises(CodequarryError, match="tab or line break"):
        beir.write_folder(tmp_path / "c", corpus=[], queries=[], qrels={"test": [("q\t1", "d", 1)]})
    with pytest.raises(CodequarryError, match="plain file name"):
        beir.write_folder(tmp_path / "c", corpus=[], queries=[], qrels={"../x": []})
    from codequarry.releases.files import strict

    (out / "corpus.jsonl").write_text('{"_id": "d", "text": "x"}\n{"text": "no id"}\n', encoding="utf-8")
    with pytest.raises(CodequarryError, match=r"corpus\.jsonl:2: missing field: missing '_id'"):
        list(strict(beir.iter_corpus(out)))


def test_ids_with_quotes_round_trip_through_beirs_csv_reading(tmp_path):
    import csv

    out = beir.write_folder(tmp_path / "b", corpus=[{"_id": '"d"1', "text": "x"}], queries=[{"_id": 'q"', "text": "y"}],
                            qrels={"test": [('q"', '"d"1', 1)]})
    with open(out / "qrels" / "test.tsv", encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_MINIMAL))  # how BEIR's loader reads qrels
    assert rows == [["query-id", "corpus-id", "score"], ['q"', '"d"1', "1"]]
    assert beir.read_qrels(out / "qrels" / "test.tsv") == {'q"': {'"d"1': 1}}
    with pytest.raises(CodequarryError):
        beir.write_folder(tmp_path / "c", corpus=[], queries=[], qrels={"test": [("q", "d\n", 1)]})
    assert not list((tmp_path / "c").rglob("*.tmp"))
