"""The shared BibTeX registry: every entry is well formed and every source and task cites a known key."""

from __future__ import annotations

import re

import pytest

from codequarry.citations import bibtex, keys
from codequarry.errors import CodequarryError


@pytest.mark.parametrize("key", keys())
def test_every_entry_is_bibtex(key):
    entry = bibtex(key)
    assert re.match(r"@(article|inproceedings|misc|software)\{\w+,", entry)
    assert "title" in entry and "year" in entry and entry.count("{") == entry.count("}")


def test_unknown_key_is_a_clear_error():
    with pytest.raises(CodequarryError, match="no citation 'nope'; known: codesearchnet"):
        bibtex("nope")


def test_sources_and_tasks_share_the_entries():
    from codequarry.benchmarks import get_task
    from codequarry.builders.registry import source_module

    assert source_module("repos").INFO.citation == source_module("codesearchnet").INFO.citation == bibtex("codesearchnet")
    assert get_task("cosqa").citation == source_module("cosqa").INFO.citation == bibtex("cosqa")
