"""`hub`: datasets.load_dataset(id, config, split, revision, streaming=True) with a column mapping — offline."""

from __future__ import annotations

import json

import pytest

from codequarry.builders import hub
from codequarry.errors import CodequarryError
from codequarry.pairs import PairsDir
from codequarry.schema import load_meta, make_id


class _Stream(list):
    """A stand-in for an IterableDataset: iterable records plus declared features."""

    def __init__(self, records, features=None):
        super().__init__(records)
        self.features = features


def _recs(n, split):
    return [{"nl": f"{split} query {i}", "snippet": f"def f{i}(): return {i}", "lang": "Python", "rel": i % 2, "extra": i}
            for i in range(n)]


def test_local_dataset_folder_through_the_real_loader(tmp_path, accounted, hf_load):
    data = tmp_path / "mydata"
    data.mkdir()
    for split, n in (("train", 4), ("test", 2)):
        (data / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in _recs(n, split)))
    out = tmp_path / "o"
    m = hub.build(out, dataset=str(data), mapping={"query": "nl", "code": "snippet", "language_col": "lang", "label": "rel"})
    accounted(m)
    assert m["splits"] == {"python": {"train": 4, "test": 2}}
    assert m["sources"][0]["url"] is None and m["params"]["mapping"]["query"] == "nl"
    rows = PairsDir(out).read(split="test").to_pylist()
    assert [r["query"] for r in rows] == ["test query 0", "test query 1"]
    assert [r["label"] for r in rows] == [0, 1] and rows[0]["source"] == "hub"
    assert load_meta(rows[1]["meta"]) == {"extra": 1}
    assert rows[0]["id"] == make_id("hub", "mydata", "", "test", 0)
    one = hub.build(tmp_path / "o2", dataset=str(data), split="test", mapping={"query": "nl", "code": "snippet"})
    assert one["splits"] == {"unknown": {"test": 2}}  # no language given: config 'unknown'
    assert hf_load(out)["train"].num_rows == 4


def test_hub_id_call_arguments_are_recorded(tmp_path, accounted):
    calls = []

    def loader(path, name=None, *, split=None, revision=None, streaming=False):
        calls.append({"path": path, "name": name, "split": split, "revision": revision, "streaming": streaming})
        return _Stream(_recs(3, split), features={"nl": None, "snippet": None, "lang": None, "rel": None, "extra": None})

    m = hub.build(tmp_path / "o", dataset="org/code-pairs", config="python", split=["train", "validation"],
                  revision="0123abc", loader=loader, source_name="codepairs", license="MIT",
                  mapping={"query": "nl", "code": "snippet", "language": "python", "id": "nl"})
    assert calls == [
        {"path": "org/code-pairs", "name": "python", "split": "train", "revision": "0123abc", "streaming": True},
        {"path": "org/code-pairs", "name": "python", "split": "validation", "revision": "0123abc", "streaming": True},
    ]
    accounted(m)
    assert m["splits"] == {"python": {"train": 3, "valid": 3}}
    src = m["sources"][0]
    assert (src["name"], src["url"], src["revision"], src["license"]) == (
        "codepairs", "https://huggingface.co/datasets/org/code-pairs", "0123abc", "MIT")
    rows = PairsDir(tmp_path / "o").read(split="valid").to_pylist()
    assert rows[0]["id"] == make_id("codepairs", "validation query 0") and rows[0]["source"] == "codepairs"
    assert load_meta(rows[0]["meta"])["source_id"] == "validation query 0"


def test_all_splits_when_none_named(tmp_path):
    def loader(path, name=None, *, split=None, revision=None, streaming=False):
        assert split is None
        return {"train": _Stream(_recs(2, "train")), "validation": _Stream(_recs(1, "validation"))}

    m = hub.build(tmp_path / "o", dataset="org/x", loader=loader, mapping={"query": "nl", "code": "snippet", "language": "py"})
    assert m["splits"] == {"python": {"train": 2, "valid": 1}}


def test_missing_mapped_column_lists_the_available_ones(tmp_path):
    def declared(path, name=None, **kw):
        return _Stream(_recs(1, "train"), features={"nl": None, "snippet": None})

    with pytest.raises(CodequarryError, match=r"--code-col 'code'.*Available columns: nl, snippet"):
        hub.build(tmp_path / "o", dataset="org/x", split="train", loader=declared, mapping={"query": "nl"})

    def undeclared(path, name=None, **kw):
        return _Stream(_recs(1, "train"))

    with pytest.raises(CodequarryError, match=r"--label-col 'score'.*nl, snippet, lang, rel, extra"):
        hub.build(tmp_path / "o2", dataset="org/x", split="train", loader=undeclared,
                  mapping={"query": "nl", "code": "snippet", "label": "score"})


def test_load_and_stream_failures_are_clear_errors(tmp_path):
    def failing(path, name=None, **kw):
        raise FileNotFoundError("Dataset 'org/nope' doesn't exist on the Hub")

    with pytest.raises(CodequarryError, match="could not load dataset 'org/nope'"):
        hub.build(tmp_path / "o", dataset="org/nope", loader=failing)

    def broken_stream():
        yield {"query": "q", "code": "c"}
        raise ConnectionError("connection reset")

    def loader(path, name=None, **kw):
        return {"train": broken_stream()}

    with pytest.raises(CodequarryError, match="reading failed after 1 records: ConnectionError"):
        hub.build(tmp_path / "o2", dataset="org/x", loader=loader)


def test_bad_records_are_excluded(tmp_path, accounted):
    recs = [{"query": "ok", "code": "x = 1", "label": 1}, {"query": "bad label", "code": "x", "label": "high"},
            {"query": 3, "code": "x", "label": 0}, {"query": "no code", "code": None, "label": 0},
            {"query": "tokens", "code": "y", "label": True}]

    def loader(path, name=None, **kw):
        return {"test": _Stream(recs)}

    m = hub.build(tmp_path / "o", dataset="org/x", loader=loader, mapping={"label": "label"})
    assert accounted(m)["exclusion_reasons"] == {"build/bad_label": 1, "build/wrong_type": 1, "build/missing_code": 1}
    labels = sorted(PairsDir(tmp_path / "o").read().column("label").to_pylist())
    assert labels == [1, 1]
