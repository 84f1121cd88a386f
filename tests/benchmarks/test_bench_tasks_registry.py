"""Every registered task (and the folder families) declares complete metadata."""

from __future__ import annotations

import re

import pytest

from codequarry.benchmarks.tasks import TASKS, families, get_task
from codequarry.citations import bibtex

KNOWN_LANGUAGES = {"go", "java", "javascript", "php", "python", "ruby", "sql", "cpp", "multi"}


def _check(meta: dict) -> None:
    assert re.fullmatch(r"[a-z0-9][a-z0-9@.-]*", meta["protocol"]), meta["protocol"]
    assert str(meta["protocol_description"]).strip(), f"{meta['name']}: protocol {meta['protocol']!r} is not described"
    assert meta["citation"].lstrip().startswith("@") and "title" in meta["citation"] and "year" in meta["citation"]
    assert meta["main_score"] in meta["measures"]
    assert re.search(r"https?://", meta["data_source"]) or "DIR" in meta["data_source"]
    for key in ("title", "source", "homepage", "revision", "license", "query_averaging", "description"):
        assert str(meta[key]).strip(), f"{meta['name']}: empty {key}"
    assert meta["homepage"].startswith("https://")


@pytest.mark.parametrize("name", TASKS.names())
def test_registered_task_metadata_is_complete(name):
    task = get_task(name)
    meta = task.metadata()
    _check(meta)
    assert meta["languages"] and set(meta["languages"]) <= KNOWN_LANGUAGES
    assert task.default_split in task.splits or (not task.splits and task.default_split == "")
    if task.module.endswith(("cosqa", "csn_cleaned", "advtest", "pairs")):
        from codequarry.benchmarks.metrics import parse_measure

        for m in task.measures:
            parse_measure(m)  # every trec_eval-scored measure is one the metrics engine knows


@pytest.mark.parametrize("key", [k for k, v in families().items() if v.get("dynamic")])
def test_folder_families_metadata_is_complete(key):
    spec = families()[key]
    from codequarry.benchmarks.tasks.spec import task_specs

    _check(dict(spec, name=key, citation=bibtex(spec["citation"]),
                protocol_description=task_specs()[key].protocol_description))


def test_registry_has_every_family_and_language():
    names = set(TASKS.names())
    for lang in ("go", "java", "javascript", "php", "python", "ruby"):
        assert {f"csn/{lang}", f"csn-cleaned/{lang}", f"csn-ndcg/{lang}", f"csn-ndcg-all/{lang}"} <= names
    assert {"advtest", "cosqa", "webquery", "cosqa-qa", "staqc/python", "staqc/sql"} <= names
    assert get_task("csn-ndcg-all/go").family == "csn-ndcg"
