"""Hub sources and Hub tasks from a local folder in the Hub cache layout (no network: HF_HUB_OFFLINE=1)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codequarry.fetch import FetchError, HubSource, OfflineError, fetch_sources

COSQA_REV = "bc5efb7e9d437246ce393ed19d772e08e4a79535"
CSN_REV = "4adc7bc41202b5c13543c9c886a25f340634dab3"

CORPUS = [{"_id": "d1", "title": "", "text": "def add(a, b): return a + b"},
          {"_id": "d2", "title": "", "text": "def read_json(path): return json.load(open(path))"},
          {"_id": "d3", "title": "", "text": "def sort_list(xs): return sorted(xs)"},
          {"_id": "q3", "title": "", "text": "def reverse(s): return s[::-1]"}]
QUERIES = [{"_id": "q1", "text": "add two numbers"}, {"_id": "q2", "text": "read a json file"},
           {"_id": "q3", "text": "reverse a string"}, {"_id": "q9", "text": "not judged"}]
QRELS = [{"query-id": "q1", "corpus-id": "d1", "score": 1}, {"query-id": "q2", "corpus-id": "d2", "score": 1},
         {"query-id": "q3", "corpus-id": "q3", "score": 1}]


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv("CODEQUARRY_CACHE", str(root))
    return root


def _beir_folder(path: Path) -> Path:
    (path / "qrels").mkdir(parents=True)
    (path / "corpus.jsonl").write_text("".join(json.dumps(r) + "\n" for r in CORPUS))
    (path / "queries.jsonl").write_text("".join(json.dumps(r) + "\n" for r in QUERIES))
    (path / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n"
                                             + "".join(f"{r['query-id']}\t{r['corpus-id']}\t{r['score']}\n" for r in QRELS))
    return path


def test_registered_coir_task_reads_the_cached_hub_snapshot(hub_layout, cache: Path, tmp_path: Path) -> None:
    from codequarry.benchmarks.models import load_model
    from codequarry.benchmarks.tasks import get_task, load_task

    hub_layout.write_beir_repo(hub_layout.snapshot_dir(cache, "CoIR-Retrieval/cosqa", COSQA_REV), CORPUS, QUERIES, QRELS)
    task = get_task("coir/cosqa")
    assert task.family == "coir" and task.revision == f"CoIR-Retrieval/cosqa@{COSQA_REV}"
    hub = load_task("coir/cosqa")  # no --data: fetched (here: found in the cache, offline)
    beir = load_task(_beir_folder(tmp_path / "cosqa"))
    assert (hub.queries, hub.corpus, hub.qrels) == (beir.queries, beir.corpus, beir.qrels)
    assert set(hub.queries) == {"q1", "q2", "q3"}  # restricted to the qrels, as BEIR
    model = load_model("bm25")
    a, b = task.evaluate(hub, model), get_task("coir/cosqa").evaluate(beir, model)
    assert a.scores == b.scores and a.details["ignore_identical_ids"] is True
    assert a.per_query["ndcg@10"]["q3"] == 0.0  # CoIR's identical-id rule drops doc q3 for query q3


def test_hub_prefix_with_subset_and_partition_filter(hub_layout, cache: Path) -> None:
    from codequarry.benchmarks.tasks import load_task, resolve_tasks

    snap = hub_layout.snapshot_dir(cache, "CoIR-Retrieval/CodeSearchNet", CSN_REV)
    queries = [dict(q, partition="test") for q in QUERIES] + [{"_id": "t1", "text": "train q", "partition": "train"}]
    hub_layout.write_beir_repo(snap, CORPUS, queries, QRELS, subset="python")
    (task,) = resolve_tasks("hub:CoIR-Retrieval/CodeSearchNet/python")
    assert task.name == "coir/codesearchnet-python"  # the registered task for the same repo, subset and pin
    data = load_task(task)
    assert set(data.queries) == {"q1", "q2", "q3"} and len(data.corpus) == 4
    other = f"hub:CoIR-Retrieval/CodeSearchNet/python@{'0' * 40}"
    (t2,) = resolve_tasks(other)
    assert t2.name == "hub:CoIR-Retrieval/CodeSearchNet/python" and t2.options["revision"] == "0" * 40


def test_hub_name_errors_are_one_line() -> None:
    from codequarry.benchmarks.tasks import resolve_tasks
    from codequarry.errors import CodequarryError

    with pytest.raises(CodequarryError, match="expected hub:OWNER/NAME"):
        resolve_tasks("hub:not a repo")
    with pytest.raises(CodequarryError, match="pin one: hub:someone/data@COMMIT"):
        resolve_tasks("hub:someone/data")  # offline: the current commit cannot be asked for


def test_offline_hub_source_missing_names_url_and_folder(cache: Path) -> None:
    with pytest.raises(OfflineError) as exc:
        fetch_sources([HubSource(repo_id="CoIR-Retrieval/apps", revision="f" * 40)])
    msg = str(exc.value)
    assert f"https://huggingface.co/datasets/CoIR-Retrieval/apps/tree/{'f' * 40}" in msg
    assert str(cache / "data" / "hub" / "datasets--CoIR-Retrieval--apps" / "snapshots" / ("f" * 40)) in msg


def test_hub_rows_are_verified(hub_layout, cache: Path) -> None:
    snap = hub_layout.snapshot_dir(cache, "google/code_x_glue_tc_nl_code_search_adv", "a" * 40)
    hub_layout.write_parquet(snap / "data" / "test-00000-of-00001.parquet", [{"id": 0}, {"id": 1}])
    src = HubSource(repo_id="google/code_x_glue_tc_nl_code_search_adv", revision="a" * 40, rows={"test": 2})
    assert fetch_sources([src]) == snap
    with pytest.raises(FetchError, match="has 2 rows, expected 19210"):
        fetch_sources([HubSource(repo_id=src.repo_id, revision="a" * 40, rows={"test": 19210})])


def test_unpinned_hub_source_uses_the_recorded_commit(hub_layout, cache: Path) -> None:
    src = HubSource(repo_id="google/code_x_glue_tc_nl_code_search_adv")
    with pytest.raises(OfflineError, match="record COMMIT under 'hub:google/code_x_glue_tc_nl_code_search_adv'"):
        fetch_sources([src])
    snap = hub_layout.snapshot_dir(cache, src.repo_id, "b" * 40)
    hub_layout.write_parquet(snap / "data" / "test-00000-of-00001.parquet", [{"id": 0}])
    (cache / "data" / "checksums.json").write_text(json.dumps({f"hub:{src.repo_id}": {"revision": "b" * 40}}))
    assert fetch_sources([src]) == snap
