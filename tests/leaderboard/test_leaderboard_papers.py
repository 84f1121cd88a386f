"""The papers registry: every entry passes the schema; bad entries give errors that name the entry."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from codequarry.errors import CodequarryError
from codequarry.leaderboard.catalog import AVERAGE_KEYS, families, protocols
from codequarry.leaderboard.papers import PAPERS_FILE, load_papers

ENTRIES = load_papers()
GOOD = {"model": "M", "paper": "P", "year": 2023, "url": "https://example.org/p", "read_from": "README table 1",
        "task": "cosqa", "protocol": "cosqa-pool-mrr", "metric": "mrr", "scale": 100, "values": {"python": 43.1}}


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: f"{e.entry}-{e.model}-{e.task}")
def test_every_registry_entry_is_well_formed(entry):
    assert entry.protocol in protocols()
    assert entry.scale in (1, 100)
    assert entry.url.startswith("https://")
    assert entry.read_from and entry.paper and 2000 <= entry.year <= 2026
    assert entry.values
    fam = families()[entry.task]  # every seeded family is declared, so its columns are checked
    for column, value in entry.values.items():
        assert isinstance(value, float)
        assert 0 <= value <= entry.scale
        assert column in fam.columns or column in AVERAGE_KEYS
        assert 0 <= entry.native(column) <= 1
    assert entry.metric == entry.metric.lower()


@pytest.mark.parametrize("entry", [e for e in ENTRIES if e.task.startswith("csn") and len(e.values) == 7],
                         ids=lambda e: e.model)
def test_reported_csn_average_is_the_mean_of_the_six_languages(entry):
    """A transcription check: the source's avg/overall equals the mean of its per-language numbers to rounding."""
    langs = [entry.values[c] for c in families()[entry.task].columns]
    key = next(k for k in AVERAGE_KEYS if k in entry.values)
    step = 10.0 ** -entry.decimals(key)
    assert abs(sum(langs) / 6 - entry.values[key]) <= step * 0.51 + 1e-12


def test_registry_holds_sections_a_to_e_and_nothing_unverified():
    assert len(ENTRIES) == 44
    by_section = {"csn-cleaned": 8 + 3, "cosqa": 3, "advtest": 3 + 2 + 7, "webquery": 3 + 2, "coir": 13}
    for task, count in by_section.items():
        assert sum(e.task == task for e in ENTRIES) == count, task
    names = {e.model for e in ENTRIES}
    assert not {"overwindows", "SpringHerald", "jianguda", "mallamanis"} & names  # §5 F stays out
    assert not any(e.protocol.startswith("csn-ndcg") or e.protocol == "csn-1000-mrr" for e in ENTRIES)  # §5 G out
    graph = next(e for e in ENTRIES if e.model == "GraphCodeBERT")
    assert graph.values["go"] == 0.897 and graph.decimals("go") == 3 and graph.scale == 1
    codet5 = next(e for e in ENTRIES if e.model == "CodeT5+ 110M embedding" and e.task == "advtest")
    assert codet5.values == {"python": 40.49} and codet5.protocol == "advtest-mrr@100"


def test_decimals_keep_trailing_zeros_as_written():
    unixcoder = next(e for e in ENTRIES if e.model.startswith("UniXcoder 125M") and e.task == "csn-cleaned")
    assert unixcoder.values["avg"] == 49.2 and unixcoder.decimals("avg") == 2  # written "49.20"
    nbow = next(e for e in ENTRIES if e.model == "NBow")
    assert nbow.decimals("go") == 3  # written "0.330"


def _write(tmp_path: Path, entries: list) -> Path:
    path = tmp_path / "papers.yaml"
    path.write_text(yaml.safe_dump(entries, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.parametrize(("change", "message"), [
    ({"protocol": "cosqa-mrr"}, "unknown protocol 'cosqa-mrr'"),
    ({"scale": 10}, "'scale' must be 1"),
    ({"values": {"python": 143.0}}, "outside 0..100"),
    ({"values": {"python": 0.431}}, "look like fractions"),
    ({"values": {"python": "43.1"}}, "must be a number"),
    ({"values": {"pyhton": 43.1}}, "not a column of task 'cosqa'"),
    ({"values": {}}, "non-empty mapping"),
    ({"url": "javascript:alert(1)"}, "must start with https://"),
    ({"year": "2023"}, "'year' must be a year"),
    ({"aliases": "x"}, "'aliases' must be a list"),
    ({"colour": "red"}, "unknown field(s) colour"),
    ({"values": {"python": 40.0, "avg": 40.0, "overall": 40.0}}, "either 'avg' or 'overall'"),
])
def test_schema_errors_name_the_entry(tmp_path, change, message):
    bad = {**GOOD, **change}
    with pytest.raises(CodequarryError) as info:
        load_papers(_write(tmp_path, [GOOD | {"model": "Fine"}, bad]))
    assert "papers.yaml entry 2 (model 'M')" in str(info.value)
    assert message in str(info.value)


def test_missing_fields_and_duplicates_are_errors(tmp_path):
    missing = {k: v for k, v in GOOD.items() if k not in ("url", "metric")}
    with pytest.raises(CodequarryError, match=r"entry 1 \(model 'M'\): missing url, metric"):
        load_papers(_write(tmp_path, [missing]))
    with pytest.raises(CodequarryError, match=r"entry 2 .* repeats .*entry 1"):
        load_papers(_write(tmp_path, [GOOD, GOOD]))
    with pytest.raises(CodequarryError, match="expected a list"):
        load_papers(_write(tmp_path, {"model": "x"}))


def test_a_new_paper_is_one_entry(tmp_path):
    entries = yaml.safe_load(PAPERS_FILE.read_text(encoding="utf-8"))
    loaded = load_papers(_write(tmp_path, [*entries, GOOD]))
    assert len(loaded) == len(ENTRIES) + 1
    assert loaded[-1].model == "M" and loaded[-1].native("python") == pytest.approx(0.431)
