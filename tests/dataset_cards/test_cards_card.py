"""The dataset card: Hub front matter parsed back offline with DatasetCard, prose computed from the data."""

from __future__ import annotations

import re

import datasets
import pytest
from huggingface_hub import DatasetCard

from codequarry.builders.registry import SOURCES
from codequarry.dataset_cards.card import read_card_options, render_card, write_card
from codequarry.dataset_cards.card_front import size_category
from codequarry.dataset_cards.card_text import package_data
from codequarry.dataset_cards.licenses import card_license, hub_license
from codequarry.dataset_cards.stats import Distribution, compute_stats
from codequarry.pairs import PairsDir, SourceInfo, hub_configs, hub_dataset_info


def _section(text: str, title: str) -> str:
    m = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert m, f"no section {title!r}"
    return m.group(1)


def test_front_matter_parses_offline_and_matches_the_data(pairs_factory):
    d = pairs_factory()
    stub_front = DatasetCard((d.path / "README.md").read_text()).data.to_dict()
    card = DatasetCard(render_card(d, repo_id="acme/csn-small", year=2025))
    data = card.data.to_dict()
    assert data["license"] == "mit"
    assert data["language"] == ["en", "code"]
    assert data["task_categories"] == ["text-retrieval"]
    assert data["task_ids"] == ["document-retrieval"]
    assert data["size_categories"] == ["n<1K"]
    assert data["source_datasets"] == ["extended"]
    assert {"code-search", "codequarry", "python", "java", "go"} <= set(data["tags"])
    assert data["pretty_name"] == "codesearchnet code search pairs (go, java, python)"
    # configs and dataset_info are exactly what the builders' stub declared (same functions)
    assert data["configs"] == stub_front["configs"] == hub_configs(d.manifest)
    assert data["dataset_info"] == stub_front["dataset_info"] == hub_dataset_info(d.manifest, d.schema)
    names = [c["config_name"] for c in data["configs"]]
    assert names == ["all", "go", "java", "python"]
    assert card.text.lstrip().startswith("<!-- codequarry-card v1")


@pytest.mark.parametrize("n, expected", [(0, "n<1K"), (999, "n<1K"), (1000, "1K<n<10K"), (99_999, "10K<n<100K"),
                                         (1_880_853, "1M<n<10M"), (10**12, "n>1T")])
def test_size_category(n, expected):
    assert size_category(n) == expected


@pytest.mark.parametrize("sources, rows, override, expected", [
    (["MIT"], [], None, {"license": "mit"}),
    (["other"], ["MIT", "Apache-2.0", "MIT"], None, {"license": ["apache-2.0", "mit"]}),  # CodeSearchNet-style
    (["C-UDA-1.0", "other"], ["MIT"], None, {"license": ["c-uda", "mit"]}),
    (["other"], [None], None, {"license": "other"}),
    (["other"], [], None, {"license": "other"}),
    (["Apache-2.0", "MIT"], [], None, {"license": ["apache-2.0", "mit"]}),
    (["C-UDA"], [], None, {"license": "c-uda"}),  # C-UDA is on the Hub's license list
    (["GPL-3.0-or-later"], [], None, {"license": "gpl-3.0"}),
    (["MIT (code), C-UDA (data)"], [], None, {"license": "other", "license_name": "mit-code-c-uda-data"}),
    (["MIT", "Acme Internal Data License"], [], None, {"license": "other", "license_name": "multiple"}),
    ([None], ["MIT", "MIT"], None, {"license": "mit"}),
    ([], ["MIT", None], None, {"license": ["mit", "unknown"]}),
    ([], [], None, {"license": "unknown"}),
    (["MIT"], [], "cc-by-4.0", {"license": "cc-by-4.0"}),
    (["MIT"], [], "My Terms 1.0", {"license": "other", "license_name": "my-terms-1.0"}),
])
def test_card_license_rules(sources, rows, override, expected):
    assert card_license(sources, rows, override=override).front_matter() == expected


def test_hub_license_spellings():
    assert hub_license("Apache License 2.0") == "apache-2.0"
    assert hub_license(" BSD-3-Clause ") == "bsd-3-clause"
    assert hub_license("LGPL-2.1-only") == "lgpl-2.1"
    assert hub_license("0BSD") is None and hub_license(None) is None


def test_license_link_for_a_single_non_hub_license(pairs_factory):
    src = SourceInfo("staqc", url="https://github.com/LittleYUYU/StackOverflow-Question-Code-Dataset",
                     license="StaQC terms")
    d = pairs_factory(sources=[src], cleaned=False)
    data = DatasetCard(render_card(d)).data.to_dict()
    assert data["license"] == "other"
    assert data["license_name"] == "staqc-terms"
    assert data["license_link"] == "https://github.com/LittleYUYU/StackOverflow-Question-Code-Dataset"


def test_statistics_are_computed_from_the_rows(pairs_factory):
    d = pairs_factory()
    stats = compute_stats(d)
    parts = {(p.config, p.split): p for p in stats.parts}
    py_train, py_test = parts[("python", "train")], parts[("python", "test")]
    # python rows 0, 4, 8 are test (query words 1, 5, 9); the other 7 are train (words 2,3,4,6,7,8,10)
    assert py_test.rows == 3 and py_train.rows == 7
    assert [py_train.query_words.quantile(q) for q in (0.05, 0.25, 0.5, 0.75, 0.95)] == [2, 3, 6, 8, 10]
    assert py_train.code_lines.counts == py_train.query_words.counts  # row i has i+1 lines and i+1 words
    assert py_train.labels == {0: 2, 1: 5} and py_test.labels == {0: 3}
    assert py_train.query_langs == {"en": 6, "fr": 1}
    assert parts[("go", "train")].code_tokens.n == 0  # go rows have no code_tokens
    assert stats.licenses() == {"MIT": 10, "Apache-2.0": 6, "(none recorded)": 4}
    assert stats.repos()[0] == ("acme/py", "MIT", 10)
    # dup clusters p0 = rows 0 (test) + 1 (train), p1 = rows 2 + 3 (train): both shared, p0 spans splits
    assert stats.dup.multi_clusters == 2 and stats.dup.rows_in_multi == 4
    assert stats.dup.cross_split_clusters == 1 and stats.dup.cross_split_rows == 2
    assert py_train.dup_rows == 3 and py_test.dup_rows == 1


def test_distribution_quantiles_nearest_rank():
    import pyarrow as pa

    d = Distribution()
    d.add(pa.array([5, 1, 3, None, 2, 4]))
    assert d.n == 5 and d.mean == 3.0 and d.max == 5
    assert [d.quantile(q) for q in (0.05, 0.2, 0.21, 0.5, 1.0)] == [1, 1, 2, 3, 5]
    assert Distribution().quantile(0.5) is None


def test_prose_reports_build_recipe_steps_stats_and_limits(pairs_factory, cards):
    d = pairs_factory()
    text = render_card(d, repo_id="acme/csn-small", year=2025)
    built = _section(text, "How it was built")
    assert "`106e827`" in built and "<https://github.com/github/CodeSearchNet>" in built
    assert "codequarry clean raw --out clean --preset test" in built
    assert d.fingerprint in built
    for name, value in (("threshold", "0.7"), ("num_perm", "256"), ("min_confidence", "0.9"), ("min_chars", "20")):
        assert re.search(rf"{name}: {re.escape(value)}\b", built), name  # every recipe parameter
    assert "| 3 | `near_dedup` | global | 35 | 30 | 5 | 14.3% | near_duplicate: 5 |" in built
    assert "![Rows removed by each cleaning step](report.png)" in built
    assert "[report.md](report.md)" in built
    assert "query_length/too_short" in built  # build exclusions table
    stats = _section(text, "Statistics")
    assert "| `python` | train | 7 | 2 | 3 | 6 | 8 | 10 | 10 | 5.7 |" in stats
    assert "| `python` | train | 2 | 5 | 0 |" in stats  # labels 0, 1, none
    assert "en 85.7%, fr 14.3%" in stats
    assert "Clusters spanning more than one split: 1 (2 rows) — possible train/test leakage." in stats
    lic = _section(text, "Licenses")
    assert "| MIT | 10 | 50.0% |" in lic and "| *none recorded* | 4 | 20.0% |" in lic
    assert "| `acme/py` | MIT | 10 |" in lic
    limits = _section(text, "Known limitations")
    assert "docstring summaries" in limits
    assert "`english_only` removed 2 of 37 rows (5.4%)" in limits
    assert "4 rows (20.0%) have no license recorded" in limits
    assert "1 near-duplicate clusters span more than one split" in limits
    cite = _section(text, "Citation")
    assert cards.CSN_BIB in cite
    assert "@misc{codesearchnet_code_search_pairs_go_java_2025," in cite
    assert "\\url{https://huggingface.co/datasets/acme/csn-small}" in cite
    assert 'load_dataset("acme/csn-small", "go")' in text
    assert render_card(d, repo_id="acme/csn-small", year=2025) == text  # deterministic


def test_uncleaned_dir_without_report_and_mixed_sources(pairs_factory, cards):
    sources = [SourceInfo("codesearchnet", license="MIT", citation=cards.CSN_BIB),
               SourceInfo("cosqa", license="C-UDA", citation=cards.COSQA_BIB)]
    rows = [dict(r, query_lang=None, dup_cluster=None) for r in cards.make_rows()]
    d = pairs_factory(rows=rows, cleaned=False, sources=sources)
    text = render_card(d, year=2025)
    data = DatasetCard(text).data.to_dict()
    assert data["license"] == ["c-uda", "mit"]
    assert "Rows removed per step" not in text and "Cleaning recipe" not in text
    assert "No deduplication step was run" in text
    assert "Queries are real web search queries" in text and "docstring summaries" in text
    assert cards.CSN_BIB in text and cards.COSQA_BIB in text


def test_report_key_without_the_plot_on_disk(pairs_factory):
    d = pairs_factory()
    (d.path / "report.png").unlink()
    text = render_card(d)
    assert "report.png" not in text
    assert "[report.md](report.md)" in text


def test_write_card_keeps_loading_and_remembers_options(pairs_factory, tmp_path):
    d = pairs_factory()
    path = write_card(d.path, pretty_name="Tiny CSN", license="cc-by-4.0", year=2024)
    card = DatasetCard(path.read_text())
    assert card.data.pretty_name == "Tiny CSN" and card.data.license == "cc-by-4.0"
    opts = read_card_options(d.path)
    assert (opts.pretty_name, opts.license, opts.year) == ("Tiny CSN", "cc-by-4.0", 2024)
    write_card(d.path)  # a rerun without options keeps them
    assert DatasetCard((d.path / "README.md").read_text()).data.pretty_name == "Tiny CSN"
    ds = datasets.load_dataset(str(d.path), cache_dir=str(tmp_path / "cache"))
    assert {s: ds[s].num_rows for s in ds} == {"train": 15, "test": 5}
    py = datasets.load_dataset(str(d.path), "python", cache_dir=str(tmp_path / "cache"))
    assert py["test"].num_rows == 3
    PairsDir(d.path).verify()  # the card does not touch the data


def test_all_null_annotation_columns_are_not_reported(pairs_factory, cards):
    rows = [dict(r, query_lang=None, dup_cluster=None) for r in cards.make_rows()]
    d = pairs_factory(rows=rows, cleaned=False)
    stats = compute_stats(d)
    assert "query_lang" in stats.columns and not stats.has_query_lang and stats.dup is None
    text = render_card(d)
    assert "Query languages" not in text and "`dup_cluster`:" not in text


def test_recorded_options_survive_awkward_names(pairs_factory):
    d = pairs_factory()
    name = 'Pairs {v2} --> "quoted" <b>'
    write_card(d.path, pretty_name=name, repo_id="acme/x")
    opts = read_card_options(d.path)
    assert opts.pretty_name == name and opts.repo_id == "acme/x"
    text = (d.path / "README.md").read_text()
    marker = next(line for line in text.splitlines() if line.startswith("<!-- codequarry-card"))
    assert marker.count("-->") == 1 and marker.endswith("-->")  # the marker comment is not closed early
    assert DatasetCard(text).data.pretty_name == name


@pytest.mark.parametrize("name", sorted(name for name, _ in SOURCES.items()))
def test_every_registered_builder_source_has_card_notes(name):
    """The card knows how each builder's queries were made (source_notes.yaml has one entry per source)."""
    notes = package_data("source_notes.yaml")
    assert name in notes, f"source {name!r} has no entry in dataset_cards/source_notes.yaml"
    assert notes[name]["query_kind"] in notes["kinds"] and notes[name]["note"].strip()


def test_open_source_license_falls_back_to_row_licenses(pairs_factory, cards):
    d = pairs_factory(sources=[SourceInfo("codesearchnet", license="other")], cleaned=False)
    text = render_card(d)
    assert DatasetCard(text).data.license == ["apache-2.0", "mit", "unknown"]  # the rows' licenses (go rows: none)
    assert "where a source leaves it open" not in text and "derived from the licenses of the repositories" in text
    rows = [dict(r, license=None) for r in cards.make_rows()]
    d2 = pairs_factory("nolic", rows=rows, sources=[SourceInfo("codesearchnet", license="other")], cleaned=False)
    text2 = render_card(d2)
    assert DatasetCard(text2).data.license == "other" and "license_name" not in text2.split("---")[1]
    assert "None" not in _section(text2, "Licenses")
