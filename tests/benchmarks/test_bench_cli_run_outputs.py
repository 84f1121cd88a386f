"""What MTEB users expect from a run (issue 12 item 6): TREC run files, extra measures, progress in logs,
protocol names in `codequarry tasks`, a BEIR folder's task name; plus bm25 parameter checks (issue 14)."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np
import pytest

from codequarry.benchmarks import cache as cache_mod
from codequarry.benchmarks.cache import EmbeddingCache
from codequarry.cli import main
from codequarry.errors import CodequarryError


def _slow_encoder(texts):
    time.sleep(0.3)
    return np.ones((len(texts), 4), dtype=np.float32)


def test_long_encodes_report_progress_without_a_terminal(tmp_path, capsys, monkeypatch):
    import codequarry.progress

    monkeypatch.setattr(cache_mod, "ENCODE_PROGRESS_DELAY_S", 0.1)
    monkeypatch.setattr(codequarry.progress, "LOG_INTERVAL_S", 0.1)  # a log line at most every 0.1 s here
    monkeypatch.delenv("CODEQUARRY_PROGRESS", raising=False)
    assert not __import__("sys").stderr.isatty()
    EmbeddingCache(tmp_path / "c1").encode("m", [f"t{i}" for i in range(4)], _slow_encoder, batch_size=1,
                                           progress_desc="encode corpus")
    assert "encode corpus" in capsys.readouterr().err
    logger = logging.getLogger("codequarry")
    old = logger.level
    logger.setLevel(logging.ERROR)  # codequarry -q
    try:
        EmbeddingCache(tmp_path / "c2").encode("m", [f"t{i}" for i in range(4)], _slow_encoder, batch_size=1,
                                               progress_desc="encode corpus")
    finally:
        logger.setLevel(old)
    assert "encode corpus" not in capsys.readouterr().err


def _beir(path: Path, n: int = 30) -> Path:
    """A BEIR folder where query qi's relevant doc is di; docs share words so rankings have ties and depth."""
    path.mkdir(parents=True)
    (path / "qrels").mkdir()
    with open(path / "corpus.jsonl", "w", encoding="utf-8") as fh:
        for i in range(n):
            fh.write(json.dumps({"_id": f"d{i}", "title": "", "text": f"def read_file{i % 7} open path w{i}"}) + "\n")
    with open(path / "queries.jsonl", "w", encoding="utf-8") as fh:
        for i in range(n):
            fh.write(json.dumps({"_id": f"q{i}", "text": f"read file{i % 7} w{i if i % 3 else 999}"}) + "\n")
    (path / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + "".join(f"q{i}\td{i}\t1\n" for i in range(n)),
                                             encoding="utf-8")
    return path


def _only_result(folder: Path) -> dict:
    (path,) = folder.glob("*.json")
    return json.loads(path.read_text())


def test_save_run_writes_a_trec_run_that_scores_the_same(tmp_path):
    folder = _beir(tmp_path / "mydata")
    run = tmp_path / "runs" / "bm25.trec"
    assert main(["bench", "--model", "bm25", "--task", str(folder), "--out", str(tmp_path / "a"),
                 "--save-run", str(run)]) == 0
    lines = run.read_text().splitlines()
    first = lines[0].split()
    assert len(first) == 6 and first[1] == "Q0" and first[3] == "1" and first[5] == "bm25"
    # an independent reader: per query, ranks 1..n in order of descending score
    by_q: dict[str, list[tuple[int, float]]] = {}
    for line in lines:
        q, _, _d, rank, score, _ = line.split()
        by_q.setdefault(q, []).append((int(rank), float(score)))
    for ranks in by_q.values():
        assert [r for r, _ in ranks] == list(range(1, len(ranks) + 1))
        assert all(a[1] >= b[1] for a, b in zip(ranks, ranks[1:]))
    # scoring the saved run reproduces every number of the original run
    assert main(["bench", "--model", f"run:{run}", "--task", str(folder), "--out", str(tmp_path / "b")]) == 0
    a, b = _only_result(tmp_path / "a"), _only_result(tmp_path / "b")
    assert a["scores"] == b["scores"]


def test_measures_adds_mteb_style_measures_with_the_protocol_averaging(tmp_path):
    from codequarry.benchmarks.metrics import evaluate
    from codequarry.benchmarks.models import load_model
    from codequarry.benchmarks.tasks import load_task, task_for_dir

    folder = _beir(tmp_path / "mydata")
    assert main(["bench", "--model", "bm25", "--task", str(folder), "--out", str(tmp_path / "o"),
                 "--measures", "mrr@10,recall@20,ndcg@20,hit_rate@10"]) == 0
    res = _only_result(tmp_path / "o")
    assert {"mrr@10", "recall@20", "ndcg@20", "hit_rate@10", "ndcg@10"} <= set(res["scores"])
    assert res["task"]["extra_measures"] == ["mrr@10", "recall@20", "ndcg@20", "hit_rate@10"]
    # reference: the same ranked lists (identical ids dropped, top 1000) scored by the metrics engine
    data = load_task(folder)
    run = load_model("bm25").retrieve(data.queries, data.corpus, 1000, exclude_identical=True)
    ref = evaluate(data.qrels, run, ["success@10", "mrr@10"], averaging="qrels-all-missing-zero")
    assert res["scores"]["hit_rate@10"] == pytest.approx(ref.means["success@10"], abs=1e-6)
    assert res["scores"]["mrr@10"] == pytest.approx(ref.means["mrr@10"], abs=1e-6)
    assert len(res["per_query"]["hit_rate@10"]) == 30
    assert task_for_dir(folder).name == "coir/mydata"
    assert main(["bench", "--model", "bm25", "--task", str(folder), "--measures", "bogus@3"]) == 2


def test_measures_and_save_run_refused_where_there_is_no_ranking(tmp_path, capsys):
    assert main(["bench", "--model", "bm25", "--task", "csn/python", "--data", str(tmp_path), "--measures",
                 "mrr@10"]) == 2
    assert "does not rank a corpus" in capsys.readouterr().err


def test_a_beir_folders_task_name_can_be_set(tmp_path):
    folder = _beir(tmp_path / "export-2026")
    assert main(["bench", "--model", "bm25", "--task", str(folder), "--task-name", "cosqa", "--out",
                 str(tmp_path / "o")]) == 0
    res = _only_result(tmp_path / "o")
    assert res["task"]["name"] == "coir/cosqa" and res["task"]["language"] == "python"  # CoIR's cosqa column
    assert main(["bench", "--model", "bm25", "--task", "cosqa", "--task-name", "x"]) == 2
    assert main(["bench", "--model", "bm25", "--task", str(folder), "--task-name", "a b"]) == 2


def test_tasks_accepts_the_protocol_names_it_prints(capsys):
    assert main(["tasks"]) == 0
    listing = capsys.readouterr().out
    assert "csn-model-test-mrr" in listing
    assert main(["tasks", "csn-model-test-mrr", "--json"]) == 0
    metas = json.loads(capsys.readouterr().out)
    assert sorted(m["name"] for m in metas) == [f"csn-model-test/{x}" for x in
                                                ("go", "java", "javascript", "php", "python", "ruby")]
    assert main(["tasks", "coir-ndcg@10", "--json"]) == 0
    assert any(m["name"] == "coir/DIR" for m in json.loads(capsys.readouterr().out))
    assert main(["tasks", "full-codebase-mrr"]) == 0
    assert "csn-cleaned-fullrank/ruby" in capsys.readouterr().out


@pytest.mark.parametrize("arg", ["k1=-5", "b=1.5", "b=-0.1", "delta=-1", "k1=nan", "k1=inf"])
def test_bm25_parameters_out_of_range_are_refused(arg):
    from codequarry.benchmarks.models import load_model, parse_model_args

    with pytest.raises(CodequarryError, match=f"bm25: --model-arg {arg.split('=')[0]}=.* out of range"):
        load_model("bm25", parse_model_args([arg]))


def test_help_texts():
    from codequarry.benchmarks import cli

    assert "placeholder" not in (cli.__doc__ or "")
    assert "RUNS that Python code" in cli.MODEL_HELP
