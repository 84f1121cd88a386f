"""``codequarry tasks | bench | compare`` and the runner: results, resume, cache, export."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest
import yaml

from codequarry.benchmarks.runner import bench, bench_many
from codequarry.cli import main
from codequarry.errors import CodequarryError

COUNTING_MODEL = '''
import os, re
import numpy as np

class Counting:
    """Seeded vectors; appends the number of texts it encodes to $COUNT_FILE; fails after $FAIL_AFTER texts."""
    similarity = "cos"

    def _vecs(self, texts):
        path = os.environ["COUNT_FILE"]
        done = sum(int(x) for x in open(path).read().split()) if os.path.exists(path) else 0
        limit = int(os.environ.get("FAIL_AFTER", "0") or 0)
        if limit and done + len(texts) > limit:
            raise KeyboardInterrupt("simulated interruption")
        with open(path, "a") as fh:
            fh.write(f"{len(texts)}\\n")
        out = []
        for t in texts:
            m = re.search(r"(\\d+)", t)
            v = np.random.default_rng(int(m.group(1)) if m else 0).standard_normal(8)
            out.append(v)
        return np.stack(out)

    def encode_queries(self, texts, batch_size=32):
        return self._vecs(texts)

    def encode_corpus(self, texts, batch_size=32):
        return self._vecs(texts)
'''


def _encoded(count_file: Path) -> int:
    return sum(int(x) for x in count_file.read_text().split()) if count_file.exists() else 0


@pytest.fixture()
def cosqa_dir(tmp_path):
    d = tmp_path / "search"
    d.mkdir()
    pool = {f"def func{i}(x):\n    return x + {i}": i for i in range(40)}
    (d / "code_idx_map.txt").write_text(json.dumps(pool), encoding="utf-8")
    items = [{"idx": f"cosqa-train-{i}", "doc": f"add {i} to x" if i % 4 else "add a number", "code": "",
              "code_tokens": "", "docstring_tokens": "", "label": 1, "retrieval_idx": i} for i in range(0, 40, 2)]
    (d / "cosqa-retrieval-dev-500.json").write_text(json.dumps(items), encoding="utf-8")
    return d


@pytest.fixture()
def counting(tmp_path, monkeypatch):
    path = tmp_path / "counting_model.py"
    path.write_text(COUNTING_MODEL, encoding="utf-8")
    count = tmp_path / "count.txt"
    monkeypatch.setenv("COUNT_FILE", str(count))
    return f"py:{path}:Counting", count


def test_tasks_command_table_and_details(capsys):
    assert main(["tasks"]) == 0
    out = capsys.readouterr().out
    for needle in ("csn/python", "csn-1000-mrr", "full-codebase-mrr@1000", "advtest-mrr@100", "cosqa-pool-mrr",
                   "csn-ndcg-within", "csn-ndcg-all", "webquery-accuracy", "cosqa-qa-accuracy", "staqc-retrieval",
                   "coir-ndcg@10", "pairs-retrieval", "https://github.com/Jun-jie-Huang/CoCLR"):
        assert needle in out
    assert main(["tasks", "csn-cleaned/java"]) == 0
    out = capsys.readouterr().out
    assert "@inproceedings{guo2021graphcodebert" in out and "codebase.jsonl" in out and "mrr@1000" in out
    assert main(["tasks", "coir", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["protocol"] == "coir-ndcg@10"
    assert main(["tasks", "csnn"]) == 2
    assert "Did you mean 'csn'" in capsys.readouterr().err


def test_bench_cli_writes_results_resumes_and_exports(tmp_path, cosqa_dir, capsys):
    out = tmp_path / "results"
    argv = ["bench", "--model", "bm25", "--task", "cosqa", "--data", str(cosqa_dir), "--split", "dev", "--out", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    path = out / "bm25__cosqa_dev.json"
    assert "cosqa-pool-mrr" in printed and f"result: {path}" in printed
    res = json.loads(path.read_text())
    assert res["kind"] == "codequarry-result" and res["schema_version"] == 2
    assert res["task"]["protocol"] == "cosqa-pool-mrr" and res["task"]["split"] == "dev" and res["task"]["num_docs"] == 40
    assert res["task"]["data_fingerprint"].startswith("sha256:") and res["task"]["citation"].startswith("@")
    assert res["main_score"] == res["scores"]["mrr"] and set(res["ci"]) >= {"mrr", "recall@1"}
    assert len(res["per_query"]["mrr"]) == 20 and res["provenance"]["wall_time_s"] > 0
    assert res["model"]["revision"].startswith("bm25s-") and res["model"]["settings"]["k1"] == 1.5
    mtime = path.stat().st_mtime_ns
    assert main(argv + ["--model-index", str(tmp_path / "mi.yaml"), "--eval-results", str(tmp_path / "er")]) == 0
    assert path.stat().st_mtime_ns == mtime  # resumed: the finished result was kept
    mi = yaml.safe_load((tmp_path / "mi.yaml").read_text())
    assert mi["model-index"][0]["name"] == "bm25"
    assert mi["model-index"][0]["results"][0]["dataset"]["split"] == "dev"
    er = yaml.safe_load((tmp_path / "er" / "cosqa_dev.yaml").read_text())
    assert er[0]["value"] == pytest.approx(round(100 * res["main_score"], 4))
    assert main(argv + ["--force"]) == 0
    assert path.stat().st_mtime_ns != mtime
    # a variant with model args gets its own file
    assert main(argv + ["--model-arg", "k1=0.9"]) == 0
    assert (out / "bm25_k1_0.9___cosqa_dev.json").exists() or any("k1" in p.name for p in out.iterdir())


def test_second_run_encodes_nothing_and_interrupted_run_resumes(tmp_path, cosqa_dir, counting, monkeypatch):
    spec, count = counting
    cache = tmp_path / "cache"
    kw = dict(data=cosqa_dir, split="dev", cache_dir=cache)
    monkeypatch.setenv("FAIL_AFTER", "30")  # the first run dies part-way through encoding
    with pytest.raises(KeyboardInterrupt):
        bench(spec, "cosqa", out=tmp_path / "r1", batch_size=16, **kw)
    partial = _encoded(count)
    assert 0 < partial <= 30 and not list((tmp_path / "r1").glob("*.json"))
    monkeypatch.setenv("FAIL_AFTER", "0")
    [p1] = bench(spec, "cosqa", out=tmp_path / "r1", batch_size=16, **kw)
    assert _encoded(count) == 51  # 40 codes + 11 distinct queries, each encoded once across the two runs
    first = json.loads(p1.read_text())
    [p2] = bench(spec, "cosqa", out=tmp_path / "r2", batch_size=16, **kw)  # a fresh results folder: runs again
    assert _encoded(count) == 51  # ... from the cache: nothing encoded
    second = json.loads(p2.read_text())
    assert second["scores"] == first["scores"] and second["per_query"] == first["per_query"]
    assert bench(spec, "cosqa", out=tmp_path / "r2", **kw) == [p2]  # resume: the file is kept


def test_bench_many_models_and_family(tmp_path, counting, capsys):
    spec, _ = counting
    root = tmp_path / "csn"
    for lang in ("ruby", "go"):
        folder = root / lang / "final" / "jsonl" / "test"
        folder.mkdir(parents=True)
        with gzip.open(folder / f"{lang}_test_0.jsonl.gz", "wt", encoding="utf-8") as fh:
            for i in range(12):
                fh.write(json.dumps({"url": f"u{lang}{i}", "language": lang, "docstring_tokens": ["q", str(i)],
                                     "code_tokens": ["def", f"f{i}"]}) + "\n")
    paths = bench_many(["bm25", spec], ["csn"], data=root, out=tmp_path / "res", cache_dir=tmp_path / "c")
    names = sorted(p.name for p in paths if p.exists())
    assert "bm25__csn_ruby_test.json" in names and "bm25__csn_go_test.json" in names
    assert len(paths) == 4  # 2 models × the 2 languages with data
    assert {json.loads(p.read_text())["task"]["language"] for p in paths} == {"ruby", "go"}
    err = capsys.readouterr().err
    assert err.count("skipped csn/") == 8 and "skipped csn/java" in err  # the others are named, not dropped silently
    from codequarry.benchmarks.tasks.base import MissingTaskData

    with pytest.raises(MissingTaskData, match="no task of 'csn-cleaned' found its data"):
        bench("bm25", "csn-cleaned", data=root, out=tmp_path / "res")


def test_bench_errors_are_messages(tmp_path, capsys, cosqa_dir):
    assert main(["bench", "--model", "bm25", "--task", "nope", "--out", str(tmp_path)]) == 2
    assert "unknown benchmark task 'nope'" in capsys.readouterr().err
    assert main(["bench", "--model", "bm25", "--task", "cosqa", "--data", str(cosqa_dir), "--out", str(tmp_path)]) == 2
    assert "cosqa-retrieval-test-500.json" in capsys.readouterr().err
    assert main(["bench", "--model", "xx:1", "--task", "cosqa", "--data", str(cosqa_dir), "--split", "dev",
                 "--out", str(tmp_path)]) == 2
    assert "unknown model spec" in capsys.readouterr().err
    assert main(["bench", "--model", "bm25", "--model", "bm25", "--task", "cosqa", "--model-index", "x.yaml",
                 "--out", str(tmp_path)]) == 2


def test_compare_command(tmp_path, cosqa_dir, counting, capsys):
    spec, _ = counting
    [a] = bench("bm25", "cosqa", data=cosqa_dir, split="dev", out=tmp_path / "a")
    [b] = bench(spec, "cosqa", data=cosqa_dir, split="dev", out=tmp_path / "b", cache_dir=tmp_path / "c")
    assert main(["compare", str(a), str(b)]) == 0
    out = capsys.readouterr().out
    assert "cosqa" in out and "Holm" in out
    assert main(["compare", str(tmp_path / "a"), "--vs", str(tmp_path / "b"), "--method", "t", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    row = data["tasks"][0]
    assert row["measure"] == "mrr" and 0 <= row["p_holm"] <= 1 and "effect_size" in row


def test_bench_help_is_derived_from_the_model_kind_declarations(monkeypatch, capsys):
    """A kind registered in model_kinds.KINDS and an option added to its OPTIONS class reach `bench --help`,
    the --model help and the unknown-spec error with no other edit."""
    from dataclasses import dataclass

    from codequarry.benchmarks import model_kinds, models, models_bm25
    from codequarry.options import option

    @dataclass(frozen=True)
    class Knobbed(models_bm25.BM25Options):
        new_knob: int = option(4, help="a knob added to bm25")

    monkeypatch.setitem(models_bm25.OPTIONS, "bm25", Knobbed)
    monkeypatch.setitem(model_kinds.KINDS, "toy", model_kinds.ModelKind(
        "toy:THING", "codequarry.benchmarks.models_bm25", "load_bm25", "a toy kind declared once"))
    monkeypatch.setitem(models_bm25.OPTIONS, "toy", models_bm25.BM25Options)
    with pytest.raises(SystemExit):
        main(["bench", "--help"])
    out = capsys.readouterr().out
    assert "new_knob=4" in out and "method=lucene|robertson|atire|bm25l|bm25+" in out
    assert re.search(r"^  toy:THING +a toy kind declared once$", out, re.M)
    assert re.search(r"model to score \(repeatable\): bm25, st:NAME_OR_PATH, .*toy:THING", " ".join(out.split()))
    with pytest.raises(CodequarryError, match=r"Use one of: bm25, st:NAME_OR_PATH, .*, toy:THING"):
        models.split_spec("nosuch:x")
