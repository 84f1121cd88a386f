"""``codequarry export``: a pairs dir as a BEIR folder / Hub retrieval repo scores the same; results for MTEB."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codequarry.cli import main
from codequarry.pairs import PairsWriter

CODES = ["def add(a, b):\n    return a + b", "def read_json(path):\n    return json.load(open(path))",
         "def sort_list(xs):\n    return sorted(xs)", "def reverse(s):\n    return s[::-1]",
         "def mean(xs):\n    return sum(xs) / len(xs)", "def is_even(n):\n    return n % 2 == 0"]
QUERIES = ["add two numbers", "load a json file", "sort a list", "reverse a string", "average of numbers",
           "check if a number is even"]


@pytest.fixture
def pairs_dir(tmp_path: Path) -> Path:
    rows = [dict(id=f"r{i}", query=q, code=c, language="python") for i, (q, c) in enumerate(zip(QUERIES, CODES))]
    rows.append(dict(id="r6", query="sum two values", code=CODES[0], language="python"))  # same code as r0
    rows.append(dict(id="r7", query="json parse", code=CODES[1], language="python"))  # same code as r1
    rows.append(dict(id="r8", query="a negative pair", code=CODES[2], language="python", label=0))
    rows.append(dict(id="r9", query="", code="def f(): pass", language="python"))
    w = PairsWriter(tmp_path / "mydata", created_by="pytest")
    w.write(rows, split="test")
    w.close()
    return tmp_path / "mydata"


def _mrr_under_beir(folder: Path) -> tuple[float, dict[str, float]]:
    from codequarry.benchmarks.models import load_model
    from codequarry.benchmarks.tasks import load_task, task_for_dir
    from codequarry.benchmarks.tasks.retrieval import evaluate_retrieval

    task = task_for_dir(folder)
    assert task.protocol == "coir-ndcg@10"
    data = load_task(folder)
    ev = evaluate_retrieval(task, data, load_model("bm25"), k=1000, measures=["mrr", "ndcg@10"],
                            averaging="qrels-all-missing-zero", exclude_identical=True)  # the BEIR task's own rules
    return ev.scores["mrr"], ev.per_query["mrr"]


def test_beir_export_scores_the_same_mrr_as_the_pairs_task(pairs_dir: Path, tmp_path: Path, capsys) -> None:
    from codequarry.benchmarks.models import load_model
    from codequarry.benchmarks.tasks import load_task, task_for_dir

    out = tmp_path / "beir"
    assert main(["export", str(pairs_dir), "--format", "beir", "--out", str(out)]) == 0
    assert "8 queries, 7 documents" in capsys.readouterr().out
    corpus = [json.loads(x) for x in (out / "corpus.jsonl").read_text().splitlines()]
    qrels = (out / "qrels" / "test.tsv").read_text().splitlines()
    assert qrels[0] == "query-id\tcorpus-id\tscore"
    doc_of = {line.split("\t")[0]: line.split("\t")[1] for line in qrels[1:]}
    assert doc_of["qr0"] == doc_of["qr6"] == "dr0" and doc_of["qr1"] == doc_of["qr7"] == "dr1"  # one doc id per code
    assert len(corpus) == len({c["text"] for c in corpus}) == 7  # identical code is one document
    task = task_for_dir(pairs_dir)
    pairs = task.evaluate(load_task(pairs_dir), load_model("bm25"))
    mrr, per_query = _mrr_under_beir(out)
    assert abs(mrr - pairs.scores["mrr"]) < 1e-9
    assert {q.removeprefix("q"): v for q, v in per_query.items()} == pytest.approx(pairs.per_query["mrr"], abs=1e-12)
    assert 0 < mrr < 1 or mrr == pytest.approx(1.0)


def test_hub_layout_export_loads_through_datasets_as_a_hub_task(pairs_dir: Path, tmp_path: Path) -> None:
    from codequarry.benchmarks.tasks import load_task

    beir, repo = tmp_path / "beir", tmp_path / "repo"
    assert main(["export", str(pairs_dir), "--out", str(beir)]) == 0
    assert main(["export", str(pairs_dir), "--format", "hub", "--out", str(repo)]) == 0
    assert sorted(p.relative_to(repo).as_posix() for p in repo.rglob("*.parquet")) == [
        "corpus/corpus-00000-of-00001.parquet", "qrels/test-00000-of-00001.parquet",
        "queries/queries-00000-of-00001.parquet"]
    from huggingface_hub import DatasetCard

    card = DatasetCard.load(repo / "README.md")  # the front matter as the Hub parses it
    assert card.data.configs == [
        {"config_name": "corpus", "data_files": [{"split": "corpus", "path": "corpus/corpus-*.parquet"}]},
        {"config_name": "queries", "data_files": [{"split": "queries", "path": "queries/queries-*.parquet"}]},
        {"config_name": "default", "data_files": [{"split": "test", "path": "qrels/test-*.parquet"}]}]
    assert card.data.task_categories == ["text-retrieval"]
    hub = load_task(f"hub:me/mydata@{'0' * 40}", data=repo)  # a local copy of the repo given as --data
    ref = load_task(beir)
    assert (hub.queries, hub.corpus, hub.qrels) == (ref.queries, ref.corpus, ref.qrels)


def test_export_refuses_a_non_empty_out(pairs_dir: Path, tmp_path: Path, capsys) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x").write_text("keep me")
    assert main(["export", str(pairs_dir), "--out", str(tmp_path / "busy")]) == 2
    assert "not empty" in capsys.readouterr().err


def test_export_refuses_an_out_that_is_a_file(pairs_dir: Path, tmp_path: Path, capsys) -> None:
    (tmp_path / "file").write_text("keep me")
    assert main(["export", str(pairs_dir), "--out", str(tmp_path / "file")]) == 2
    err = capsys.readouterr().err
    assert "not a folder" in err and "Traceback" not in err
    assert (tmp_path / "file").read_text() == "keep me"


def test_coir_results_export_to_mteb_result_json(pairs_dir: Path, tmp_path: Path) -> None:
    from codequarry.benchmarks.runner import bench

    beir = tmp_path / "beir"
    assert main(["export", str(pairs_dir), "--out", str(beir)]) == 0
    (path,) = bench("bm25", str(beir), out=tmp_path / "res", cache_dir=tmp_path / "c")
    result = json.loads(path.read_text())
    assert main(["export", str(path), "--format", "mteb", "--out", str(tmp_path / "mteb")]) == 0
    (mteb_file,) = (tmp_path / "mteb").glob("*.json")
    entry = json.loads(mteb_file.read_text())
    (scores,) = entry["scores"]["test"]
    assert scores["ndcg_at_10"] == pytest.approx(result["scores"]["ndcg@10"], abs=1e-6)
    assert scores["main_score"] == scores["ndcg_at_10"] and scores["precision_at_1"] == pytest.approx(
        result["scores"]["p@1"], abs=1e-6)
    mteb = pytest.importorskip("mteb")
    parsed = mteb.TaskResult.model_validate(entry)  # MTEB's own result model accepts it
    assert parsed.scores["test"][0]["main_score"] == pytest.approx(scores["main_score"])
    assert parsed.task_name == "beir" and parsed.dataset_revision


def test_beir_export_refuses_an_id_a_qrels_row_cannot_hold(tmp_path: Path, capsys) -> None:
    # export writes through releases.beir.write_folder, the one BEIR writer, and so shares its id check
    w = PairsWriter(tmp_path / "tabs", created_by="pytest")
    w.write([dict(id="a\tb", query="add two numbers", code=CODES[0], language="python")], split="test")
    w.close()
    assert main(["export", str(tmp_path / "tabs"), "--out", str(tmp_path / "beir")]) == 2
    assert "holds a tab or line break" in capsys.readouterr().err
