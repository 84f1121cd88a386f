"""The ``data`` block schema: valid blocks parse, every kind of mistake is an error naming the field."""

from __future__ import annotations

import pytest

from codequarry.fetch import HttpSource, HubSource, ManualDataError, ManualSource, SourceError, fetch_sources
from codequarry.fetch.sources import parse_sources

REV = "bc5efb7e9d437246ce393ed19d772e08e4a79535"
DIGEST = "a" * 64


def test_language_templates_and_per_language_maps() -> None:
    block = [{"kind": "http", "url": "https://s3.amazonaws.com/csn/{language}.zip", "give": "file",
              "sha256": {"go": DIGEST, "ruby": "b" * 64}, "size": {"go": 10, "ruby": 20}}]
    (src,) = parse_sources(block, language="ruby")
    assert src == HttpSource(url="https://s3.amazonaws.com/csn/ruby.zip", sha256="b" * 64, size=20, give="file")
    assert src.cache_path == "http/s3.amazonaws.com/csn/ruby.zip"
    with pytest.raises(SourceError, match="no entry for 'java'"):
        parse_sources(block, language="java")


def test_hub_and_manual_sources() -> None:
    hub, manual = parse_sources([
        {"kind": "hub", "repo_id": "CoIR-Retrieval/cosqa", "revision": REV, "files": "corpus/*", "rows": {"test": 3}},
        {"kind": "manual", "input": "codebase", "instructions": "unzip  dataset.zip\n and pass --data"}])
    assert hub == HubSource(repo_id="CoIR-Retrieval/cosqa", revision=REV, files=("corpus/*",), rows={"test": 3})
    assert manual == ManualSource(instructions="unzip dataset.zip and pass --data", input="codebase")


@pytest.mark.parametrize(("spec", "message"), [
    ({"kind": "ftp", "url": "x"}, "kind must be one of"),
    ({"kind": "http", "url": "file:///etc/passwd"}, "http\\(s\\) url"),
    ({"kind": "http", "url": "https://h/x", "sha256": "ABC"}, "64 lower-case hex"),
    ({"kind": "http", "url": "https://h/x", "size": -1}, "non-negative integer"),
    ({"kind": "http", "url": "https://h/x", "path": "../../etc/x"}, "inside the cache"),
    ({"kind": "http", "url": "https://h/x", "give": "zip"}, "give must be"),
    ({"kind": "http", "url": "https://h/x", "sha": DIGEST}, "unknown field\\(s\\) sha"),
    ({"kind": "http", "url": "https://h/x", "input": "Bad Name"}, "input must be"),
    ({"kind": "hub", "repo_id": "cosqa", "revision": REV}, "owner/name"),
    ({"kind": "hub", "repo_id": "CoIR-Retrieval/cosqa", "revision": "main"}, "40-hex-digit commit"),
    ({"kind": "manual"}, "needs instructions"),
])
def test_bad_blocks_are_refused_with_the_field(spec: dict, message: str) -> None:
    with pytest.raises(SourceError, match=message) as exc:
        parse_sources([spec], where="tasks.yaml task 'x'")
    assert str(exc.value).startswith("tasks.yaml task 'x' data[0]:")


def test_two_sources_for_one_named_input_are_refused() -> None:
    with pytest.raises(SourceError, match="filled by more than one source"):
        parse_sources([{"kind": "http", "url": "https://h/a", "input": "answers"},
                       {"kind": "http", "url": "https://h/b", "input": "answers"}])


def test_manual_source_says_how_to_obtain(tmp_path) -> None:
    src = ManualSource(instructions="download dataset.zip from the GraphCodeBERT README, then pass --data DIR")
    with pytest.raises(ManualDataError, match="no stable public download; download dataset.zip"):
        fetch_sources([src], cache_dir=tmp_path, task_name="csn-cleaned/python")
