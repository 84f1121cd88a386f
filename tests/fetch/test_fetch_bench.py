"""``bench`` without --data fetches the task's sources; ``codequarry download``; offline and manual messages."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from codequarry.cli import main

COSQA_REV = "bc5efb7e9d437246ce393ed19d772e08e4a79535"


def test_bench_without_data_downloads_then_scores_like_with_data(http_server, shared_data: Path, tmp_path: Path) -> None:
    from codequarry.benchmarks.runner import bench
    from codequarry.benchmarks.tasks import get_task

    files = {"code_idx_map.txt": 6267, "cosqa-retrieval-dev-500.json": 500}
    for name in files:
        http_server.files[f"/CoCLR/data/search/{name}"] = (shared_data / "cosqa" / name).read_bytes()
    data = [{"kind": "http", "url": http_server.url(f"CoCLR/data/search/{n}"), "rows": rows} for n, rows in files.items()]
    task = dataclasses.replace(get_task("cosqa"), options={**get_task("cosqa").options, "data": data})
    (fetched,) = bench("bm25", task, split="dev", out=tmp_path / "a", cache_dir=tmp_path / "cache")
    (given,) = bench("bm25", task, split="dev", data=shared_data / "cosqa", out=tmp_path / "b",
                     cache_dir=tmp_path / "cache")
    ra, rb = json.loads(fetched.read_text()), json.loads(given.read_text())
    assert ra["scores"] == rb["scores"] and ra["task"]["data_fingerprint"] == rb["task"]["data_fingerprint"]
    assert ra["task"]["data_inputs"][""].startswith(str(tmp_path / "cache" / "data" / "http" / "127.0.0.1"))
    n = len(http_server.requests)
    bench("bm25", task, split="dev", out=tmp_path / "c", cache_dir=tmp_path / "cache")  # shared: no new download
    assert len(http_server.requests) == n


def test_download_command_and_bench_from_the_cache(hub_layout, tmp_path: Path, capsys) -> None:
    cache = tmp_path / "cache"
    snap = hub_layout.snapshot_dir(cache, "CoIR-Retrieval/cosqa", COSQA_REV)
    hub_layout.write_beir_repo(snap, [{"_id": "d1", "title": "", "text": "def add(a, b): return a + b"},
                                      {"_id": "d2", "title": "", "text": "def sub(a, b): return a - b"}],
                               [{"_id": "q1", "text": "add numbers"}], [{"query-id": "q1", "corpus-id": "d1", "score": 1}])
    assert main(["download", "coir/cosqa", "--cache-dir", str(cache)]) == 0
    assert f"coir/cosqa: {snap}" in capsys.readouterr().out
    assert main(["bench", "--model", "bm25", "--task", "coir/cosqa", "--cache-dir", str(cache),
                 "--out", str(tmp_path / "res")]) == 0
    (result,) = (tmp_path / "res").glob("*.json")
    data = json.loads(result.read_text())
    assert data["task"]["name"] == "coir/cosqa" and data["scores"]["ndcg@10"] == 1.0
    assert data["task"]["revision"] == f"CoIR-Retrieval/cosqa@{COSQA_REV}"
    assert main(["export", str(result), "--format", "mteb", "--out", str(tmp_path / "mteb")]) == 0
    entry = json.loads((tmp_path / "mteb" / "CosQA.json").read_text())  # MTEB's task name and the Hub commit
    assert entry["task_name"] == "CosQA" and entry["dataset_revision"] == COSQA_REV
    assert entry["scores"]["test"][0]["ndcg_at_10"] == 1.0 and entry["scores"]["test"][0]["hf_subset"] == "default"


def test_offline_bench_is_one_line_naming_url_and_folder(tmp_path: Path, capsys) -> None:
    assert main(["bench", "--model", "bm25", "--task", "cosqa", "--cache-dir", str(tmp_path),
                 "--out", str(tmp_path / "res")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "https://raw.githubusercontent.com/Jun-jie-Huang/CoCLR/" in err
    assert str(tmp_path / "data" / "http" / "raw.githubusercontent.com" / "Jun-jie-Huang") in err


def test_task_without_public_source_says_how_to_get_it(tmp_path: Path, capsys) -> None:
    assert main(["download", "csn-cleaned/python", "--cache-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no stable public download" in err and "GraphCodeBERT" in err and "python/test.jsonl" in err
    assert main(["bench", "--model", "bm25", "--task", "csn-cleaned/python", "--cache-dir", str(tmp_path),
                 "--out", str(tmp_path / "r")]) == 2
    assert "dataset.zip" in capsys.readouterr().err


def test_every_registered_data_block_is_valid() -> None:
    from codequarry.benchmarks.tasks import TASKS
    from codequarry.fetch import HttpSource, HubSource, task_sources

    kinds = {}
    for name, task in TASKS.items():
        for src in task_sources(task):
            kinds.setdefault(type(src).__name__, []).append(name)
            if isinstance(src, HttpSource):
                assert src.url.startswith("https://") and "{" not in src.url
            if isinstance(src, HubSource) and name.startswith("coir/"):
                assert src.revision and len(src.revision) == 40  # MTEB's pins
    assert {"HttpSource", "HubSource", "ManualSource"} <= set(kinds)
    assert "coir/cosqa" in kinds["HubSource"] and "csn/python" in kinds["HttpSource"]


@pytest.mark.parametrize("name", ["cosqa", "csn/go", "advtest", "webquery", "csn-ndcg/ruby", "cosqa-qa"])
def test_public_tasks_declare_sources(name: str) -> None:
    from codequarry.benchmarks.tasks import get_task
    from codequarry.fetch import task_sources

    assert task_sources(get_task(name))
