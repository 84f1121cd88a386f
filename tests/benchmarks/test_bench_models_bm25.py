"""``bm25``: the code-aware tokenizer and deterministic BM25 ranking."""

from __future__ import annotations

import numpy as np
import pytest

from codequarry.benchmarks.models import load_model, split_spec
from codequarry.benchmarks.models_bm25 import split_identifier, tokenize
from codequarry.errors import CodequarryError


@pytest.mark.parametrize("text, expected", [
    ("getUserName", ["getusername", "get", "user", "name"]),
    ("user_id", ["user_id", "user", "id"]),
    ("HTTPResponse", ["httpresponse", "http", "response"]),
    ("parseJSONString", ["parsejsonstring", "parse", "json", "string"]),
    ("utf8Decode", ["utf8decode", "utf", "8", "decode"]),
    ("__init__", ["__init__", "init"]),
    ("IOError", ["ioerror", "io", "error"]),
    ("sort", ["sort"]),
    ("ABC", ["abc"]),
    ("x", ["x"]),
    ("MAX_RETRY_COUNT", ["max_retry_count", "max", "retry", "count"]),
])
def test_tokenizer_identifier_cases(text, expected):
    assert tokenize(text) == expected


def test_tokenizer_on_code_keeps_whole_identifiers_and_parts():
    toks = tokenize("def getUserName(self, user_id): return self.nameMap[user_id]")
    assert toks[:5] == ["def", "getusername", "get", "user", "name"]
    assert "user_id" in toks and "namemap" in toks and "map" in toks
    assert tokenize("getUserName", split_identifiers=False) == ["getusername"]
    assert split_identifier("données_ÉtéBrûlant") == ["données", "été", "brûlant"]  # unicode case changes


def test_bm25_ranks_with_doc_id_tie_break_and_drops_unmatched():
    m = load_model("bm25")
    corpus = {"a": "def read_file(path)", "b": "def read_file(path)", "c": "def write_json(obj)", "d": "pass"}
    run = m.retrieve({"q": "read a file"}, corpus, 10)
    assert list(run["q"]) == ["b", "a"]  # equal scores: doc id descending; c and d share no token
    assert run["q"]["a"] == run["q"]["b"] > 0
    assert m.retrieve({"q": "zzz"}, corpus, 10) == {"q": {}}
    top1 = m.retrieve({"q": "read a file"}, corpus, 1)
    assert list(top1["q"]) == ["b"]
    excl = m.retrieve({"a": "read file"}, corpus, 10, exclude_identical=True)
    assert "a" not in excl["a"] and "b" in excl["a"]


def test_bm25_camel_case_query_matches_snake_case_code():
    m = load_model("bm25")
    run = m.retrieve({"q": "getUserName"}, {"x": "def get_user_name(u): pass", "y": "def set_colour(c): pass"}, 5)
    assert list(run["q"]) == ["x"]


def test_bm25_options_and_score_blocks():
    m = load_model("bm25", {"k1": "1.2", "b": "0.5", "method": "robertson"})
    assert m.settings["k1"] == 1.2 and m.settings["b"] == 0.5 and m.describe()["settings"]["method"] == "robertson"
    m = load_model("bm25")
    s = m.score_matrix(["q1", "q2"], ["json parse", "file"], ["d1", "d2"], ["parse_json(s)", "open(file)"])
    assert s.shape == (2, 2) and s[0, 0] > s[0, 1] == 0 and s[1, 1] > s[1, 0] == 0
    p = m.score_pairs(["json parse", "file"], ["parse_json(s)", "parse_json(s)"])
    assert p[0] > 0 and p[1] == 0
    with pytest.raises(CodequarryError, match="method must be one of"):
        load_model("bm25", {"method": "okapi"})
    with pytest.raises(CodequarryError, match="not an option of bm25"):
        load_model("bm25", {"k2": "1"})
    with pytest.raises(CodequarryError, match="expected float"):
        load_model("bm25", {"k1": "high"})


def test_bm25_is_deterministic_across_runs():
    corpus = {f"d{i}": f"def f{i % 7}(x): return helper_{i % 3}(x)" for i in range(60)}
    queries = {f"q{i}": f"helper {i % 3} f{i % 5}" for i in range(10)}
    r1 = load_model("bm25").retrieve(queries, corpus, 20)
    r2 = load_model("bm25").retrieve(dict(reversed(list(queries.items()))), dict(reversed(list(corpus.items()))), 20)
    assert {q: list(d.items()) for q, d in r1.items()} == {q: list(d.items()) for q, d in r2.items()}
    assert all(np.all(np.diff(list(d.values())) <= 0) for d in r1.values())


def test_spec_parsing_errors():
    assert split_spec("st:foo/bar") == ("st", "foo/bar")
    with pytest.raises(CodequarryError, match="Did you mean 'st'"):
        split_spec("sT:x")
    with pytest.raises(CodequarryError, match="needs a target"):
        split_spec("run:")
    with pytest.raises(CodequarryError, match="--model-arg"):
        split_spec("bm25:k1=2")


def test_topk_from_scores_breaks_ties_at_the_cut_by_doc_id():
    from codequarry.benchmarks.models import topk_from_scores
    from codequarry.benchmarks.search import tie_keys

    ids = ["a", "b", "c", "d", "e"]
    scores = np.array([1.0, 2.0, 2.0, 2.0, 0.0])
    top = topk_from_scores(scores, 2, tie_keys(ids, 5))
    assert [ids[i] for i, _ in top] == ["d", "c"]  # three docs tie at the cut: the larger ids win
    assert [ids[i] for i, _ in topk_from_scores(scores, 10, tie_keys(ids, 5))] == ["d", "c", "b", "a", "e"]
