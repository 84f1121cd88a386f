"""``py:MODULE:ATTR`` models: encoders, searchers, pair scorers; classes, factories and objects."""

from __future__ import annotations

import numpy as np
import pytest

from codequarry.benchmarks.models import load_model
from codequarry.benchmarks.tasks import get_task
from codequarry.errors import CodequarryError

MODULE = '''
import numpy as np

class Overlap:
    """A searcher: score = number of shared words (a tiny lexical model)."""
    name = "overlap"

    def __init__(self, bonus=0):
        self.bonus = int(bonus)

    def search(self, queries, corpus, k):
        out = {}
        for q, text in queries.items():
            words = set(text.split())
            scores = {d: len(words & set(c.split())) + self.bonus for d, c in corpus.items()}
            best = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
            out[q] = dict(best)
        return out


class Judge:
    """A pair scorer returning probabilities."""
    def score_pairs(self, queries, codes):
        return np.array([0.9 if q.split()[-1] in c else 0.1 for q, c in zip(queries, codes)])


def make_encoder(dim="4"):
    class Enc:
        similarity = "dot"
        revision = "v1"
        def encode_queries(self, texts, batch_size=8):
            return np.array([[len(t), 1.0] + [0.0] * (int(dim) - 2) for t in texts])
        def encode_corpus(self, texts, batch_size=8):
            return np.array([[len(t), 1.0] + [0.0] * (int(dim) - 2) for t in texts])
    return Enc()


class Partial:
    def search(self, queries, corpus, k):
        return {"q1": {"d1": 1.0}}


class Broken:
    def search(self, queries, corpus, k):
        return {"q1": {"d1": float("nan")}}


INSTANCE = Judge()


from codequarry.benchmarks.models import Model


class Native(Model):
    """Already a codequarry Model: used as is."""
    def __init__(self, name="native", batch_size=4):
        super().__init__("native:x", name, "r1", {"batch_size": int(batch_size)})

    def retrieve(self, queries, corpus, k, **kw):
        return {q: {d: 1.0 for d in list(corpus)[:k]} for q in queries}
'''


@pytest.fixture()
def module(tmp_path):
    path = tmp_path / "my_models.py"
    path.write_text(MODULE, encoding="utf-8")
    return path


def test_py_searcher_class_with_args(module):
    m = load_model(f"py:{module}:Overlap", {"bonus": "1"})
    assert m.name == "overlap" and m.revision.startswith("src:")
    run = m.retrieve({"q1": "read file", "q2": "sort list"}, {"d1": "read a file", "d2": "sort the list now"}, 1)
    assert run == {"q1": {"d1": 3.0}, "q2": {"d2": 3.0}}
    with pytest.raises(CodequarryError, match=r"query id\(s\) not in the task: 'q1'"):
        load_model(f"py:{module}:Partial").retrieve({"q0": "x"}, {"d1": "x"}, 1)


def test_py_search_result_is_validated(module):
    with pytest.raises(CodequarryError, match="non-finite"):
        load_model(f"py:{module}:Broken").retrieve({"q1": "x"}, {"d1": "x"}, 1)
    with pytest.raises(CodequarryError, match="no predictions"):
        load_model(f"py:{module}:Partial").retrieve({"q1": "x", "q2": "y"}, {"d1": "x"}, 1)
    with pytest.raises(CodequarryError, match="not in the task's corpus"):
        load_model(f"py:{module}:Partial").retrieve({"q1": "x"}, {"d2": "x"}, 1)


def test_py_pair_scorer_object_decides_at_half(module, tmp_path):
    m = load_model(f"py:{module}:INSTANCE")
    assert m.pair_score_kind == "probability"
    assert np.allclose(m.score_pairs(["read file", "sort list"], ["file", "x"]), [0.9, 0.1])
    path = tmp_path / "cosqa-dev.json"
    import json

    items = [{"idx": f"i{n}", "doc": f"how to {w}", "code": f"def {w if n % 2 else 'zzz'}()", "label": n % 2,
              "code_tokens": "", "docstring_tokens": ""} for n, w in enumerate(["sort", "read", "open", "parse"])]
    path.write_text(json.dumps(items), encoding="utf-8")
    task = get_task("cosqa-qa")
    ev = task.evaluate(task.load(path), m)
    assert ev.details["decision"] == "probability >= 0.5" and ev.scores["accuracy"] == 1.0
    # a score_pairs-only model can still rank (each query × each doc)
    run = m.retrieve({"q": "read file"}, {"a": "def file()", "b": "def x()"}, 2)
    assert list(run["q"]) == ["a", "b"]
    with pytest.raises(CodequarryError, match="cannot be passed"):
        load_model(f"py:{module}:INSTANCE", {"x": "1"})


def test_py_encoder_factory_and_cache(module, tmp_path):
    m = load_model(f"py:{module}:make_encoder", {"dim": "3"}, cache_dir=tmp_path / "c")
    v = m.embed(["ab", "abcd"], side="query")
    assert v.shape == (2, 3) and v[1, 0] == 4
    assert m.revision.startswith("v1:")
    # editing the module's source changes the cache key (new revision)
    module.write_text(MODULE.replace("len(t), 1.0", "len(t), 2.0"), encoding="utf-8")
    m2 = load_model(f"py:{module}:make_encoder", {"dim": "3"}, cache_dir=tmp_path / "c")
    assert m2.cache_key("query") != m.cache_key("query")
    assert m2.embed(["ab"], side="query")[0, 1] == 2.0


def test_py_import_errors(module, tmp_path):
    with pytest.raises(CodequarryError, match="no attribute 'Nope'"):
        load_model(f"py:{module}:Nope")
    with pytest.raises(CodequarryError, match="expected py:MODULE:ATTR"):
        load_model("py:justone")
    with pytest.raises(CodequarryError, match="cannot import module"):
        load_model("py:no_such_module_xyz:Thing")
    with pytest.raises(CodequarryError, match="none of encode_queries"):
        load_model("py:json:JSONDecoder")  # a class whose instances are not models


def test_py_native_model_is_used_as_is(module):
    m = load_model(f"py:{module}:Native", {"name": "mine", "batch_size": "8"})
    assert type(m).__name__ == "Native" and m.name == "mine" and m.settings == {"batch_size": 8}
    assert m.retrieve({"q": "x"}, {"a": "1", "b": "2"}, 1) == {"q": {"a": 1.0}}
    with pytest.raises(CodequarryError, match="takes no argument 'colour'"):
        load_model(f"py:{module}:Native", {"colour": "red"})
