"""Local model revisions follow file contents; stored query/document prompts are used by default."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from codequarry.benchmarks.models_dense import SentenceTransformerModel, local_revision
from codequarry.errors import CodequarryError


def test_local_revision_changes_with_content_of_same_size(tmp_path):
    (tmp_path / "config.json").write_text('{"a": 1}')
    (tmp_path / "model.safetensors").write_bytes(b"\x00" * 1000)
    first = local_revision(tmp_path)
    assert first.startswith("local:") and local_revision(tmp_path) == first
    (tmp_path / "model.safetensors").write_bytes(b"\x01" + b"\x00" * 999)  # retrained: same size, new weights
    assert local_revision(tmp_path) != first
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "step-1.bin").write_bytes(b"x")  # training leftovers do not change the model
    second = local_revision(tmp_path)
    (tmp_path / "checkpoints" / "step-2.bin").write_bytes(b"y")
    assert local_revision(tmp_path) == second


def _model(settings, prompts):
    m = SentenceTransformerModel.__new__(SentenceTransformerModel)
    m.settings, m.spec, m.model = settings, "st:x", SimpleNamespace(prompts=prompts)
    return m


def test_prompt_resolution_order():
    stored = {"query": "query: ", "document": "passage: ", "short": "q: "}
    assert _model({}, stored)._prompt("query") == "query: "
    assert _model({}, stored)._prompt("document") == "passage: "
    assert _model({"query_prompt": "find: "}, stored)._prompt("query") == "find: "
    assert _model({"query_prompt_name": "short"}, stored)._prompt("query") == "q: "
    assert _model({}, {})._prompt("query") is None
    with pytest.raises(CodequarryError, match="no stored prompt named"):
        _model({"query_prompt_name": "nope"}, stored)._prompt("query")
