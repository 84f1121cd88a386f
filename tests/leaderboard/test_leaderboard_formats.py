"""Every output format is written and parses: Markdown, CSV, LaTeX (booktabs), JSON, HTML, PNG/SVG; plus the CLI."""

from __future__ import annotations

import csv
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from codequarry.cli import main, subcommands
from codequarry.leaderboard import build_leaderboard
from codequarry.leaderboard.build import FORMATS


@pytest.fixture(scope="module")
def built(tmp_path_factory, results_dir) -> tuple[Path, dict[str, list[Path]]]:
    out = tmp_path_factory.mktemp("board")
    return out, build_leaderboard([results_dir], out, compare_reported=True)


def _md_cells(line: str) -> list[str]:
    return re.split(r"(?<!\\)\|", line.strip())[1:-1]


def test_all_formats_and_plots_are_written(built):
    out, written = built
    assert set(written) == {*FORMATS, "plots"}
    for fmt in FORMATS:
        assert written[fmt][0].is_file() and written[fmt][0].stat().st_size > 0
    pngs = [p for p in written["plots"] if p.suffix == ".png"]
    svgs = [p for p in written["plots"] if p.suffix == ".svg"]
    assert len(pngs) == len(svgs) == 7
    for p in pngs:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for p in svgs:
        assert ET.parse(p).getroot().tag.endswith("svg")


def test_markdown_tables_have_a_consistent_shape(built):
    out, _ = built
    text = (out / "leaderboard.md").read_text()
    blocks = re.findall(r"((?:^\|.*\|\n)+)", text, flags=re.M)
    assert len(blocks) == 8  # 7 leaderboard tables + the comparison
    for block in blocks:
        lines = block.strip().splitlines()
        widths = {len(_md_cells(line)) for line in lines}
        assert len(widths) == 1, block
        assert set(lines[1].replace("|", "").split()) <= {"---", "---:"}
    assert "![CoSQA retrieval bar chart](plots/cosqa--cosqa-pool-mrr--mrr--test.png)" in text
    assert "*reproduced*" in text and "*reported*" in text
    assert "| 7 | bm25 | *reproduced* | 53.12 [25.00, 81.25] |" in text
    assert "## Reproduced vs reported" in text and "**outside CI** ⚠" in text
    assert "`tests/leaderboard/fixtures/results/other/run_settings.json`" in text or "run_settings.json" in text


def test_csv_is_one_row_per_cell(built):
    out, _ = built
    with (out / "leaderboard.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    data = json.loads((out / "leaderboard.json").read_text())
    cells = sum(len(r["cells"]) for t in data["tables"] for r in t["rows"])
    assert len(rows) == cells
    bm25_avg = next(r for r in rows if r["model"] == "bm25" and r["column"] == "avg"
                    and r["family"] == "csn-cleaned")
    assert bm25_avg["provenance"] == "reproduced" and bm25_avg["unit"] == "100" and bm25_avg["rank"] == "7"
    assert float(bm25_avg["value"]) * 100 == pytest.approx(float(bm25_avg["value_in_unit"]))
    assert float(bm25_avg["ci_low"]) < float(bm25_avg["value"]) < float(bm25_avg["ci_high"])
    graph = next(r for r in rows if r["model"] == "GraphCodeBERT" and r["column"] == "go")
    assert graph["display"] == "89.7" and graph["url"].startswith("https://") and graph["read_from"]
    sig = next(r for r in rows if r["model"] == "bm25" and r["column"] == "python" and r["family"] == "csn-cleaned")
    assert sig["significant"] == "true" and 0 <= float(sig["p_holm"]) < 0.05


def test_latex_uses_booktabs_and_escapes(built):
    out, _ = built
    tex = (out / "leaderboard.tex").read_text()
    assert tex.count(r"\begin{table}") == tex.count(r"\end{table}") == 7
    for rule in (r"\toprule", r"\midrule", r"\bottomrule"):
        assert tex.count(rule) == 7
    assert r"\begin{tabular}{rll" in tex and r"\textsuperscript{\dag}" in tex
    assert "CodeT5+ 220M matching (top-32 rerank)" in tex
    assert "webpage\\_files/participants/code\\_search.json" in tex  # underscores escaped
    assert "R & " in tex and "P & " in tex


def test_json_structure(built):
    out, _ = built
    data = json.loads((out / "leaderboard.json").read_text())
    assert data["num_results"] == 14 and data["num_reported"] == 44
    ids = [t["id"] for t in data["tables"]]
    assert len(ids) == len(set(ids)) == 7
    cosqa = next(t for t in data["tables"] if t["id"] == "cosqa--cosqa-pool-mrr--mrr--test")
    assert [r["rank"] for r in cosqa["rows"]] == [1, 2, 3, 4]
    assert cosqa["rows"][1]["provenance"] == "reproduced" and cosqa["rows"][1]["cells"]["python"]["ci"]
    assert {c["status"] for c in data["comparisons"]} == {"within CI", "outside CI"}
    assert data["skipped"][0]["path"].endswith("run_settings.json")


def test_output_is_deterministic(built, tmp_path, results_dir):
    out, _ = built
    again = build_leaderboard([results_dir], tmp_path, compare_reported=True)
    for fmt in FORMATS:
        assert again[fmt][0].read_bytes() == (out / again[fmt][0].name).read_bytes(), fmt


def test_cli_prints_tables_and_paths(tmp_path, results_dir, capsys):
    code = main(["leaderboard", str(results_dir), "--out", str(tmp_path / "b"), "--format", "md,json",
                 "--no-reported", "--title", "My board", "--resamples", "500"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "| 1 | all-MiniLM-L6-v2 | *reproduced* |" in printed and "*reported*" not in printed
    assert f"wrote md: {tmp_path / 'b' / 'leaderboard.md'}" in printed
    assert (tmp_path / "b" / "leaderboard.md").read_text().startswith("# My board\n")
    assert not (tmp_path / "b" / "index.html").exists()


def test_cli_errors_are_messages(tmp_path, results_dir, capsys):
    assert main(["leaderboard", str(results_dir), "--out", str(tmp_path), "--format", "md,pdf"]) == 2
    assert "unknown format(s) pdf" in capsys.readouterr().err
    assert main(["leaderboard", str(tmp_path / "missing"), "--out", str(tmp_path)]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["leaderboard", str(results_dir), "--out", str(tmp_path), "--alpha", "5"]) == 2
    assert "alpha must lie in (0, 1)" in capsys.readouterr().err


def test_reported_only_board_and_help():
    parser = subcommands()["leaderboard"]
    text = parser.format_help()
    for option in ("--out", "--format", "--compare-reported", "--no-reported", "--title", "--papers", "--unit"):
        assert option in text
    assert all(a.help for a in parser._actions)


def test_table_flags_come_from_the_options_declaration():
    """--unit/--alpha/--resamples are generated from leaderboard Options: same defaults and help, no second copy."""
    from codequarry import options
    from codequarry.leaderboard.tables import Options

    parser = subcommands()["leaderboard"]
    actions = {a.dest: a for a in parser._actions}
    declared = {s.name: s for s in options.specs(Options)}
    for name in ("unit", "alpha", "resamples"):
        assert actions[name].default == declared[name].default
        assert actions[name].help == declared[name].meta.help != ""
    assert actions["unit"].choices == ("auto", "1", "100")
    assert "seed" not in actions and "bootstrap_resamples" not in actions  # library-only
    args = parser.parse_args(["--out", "x", "--unit", "100", "--alpha", "0.1"])
    assert Options(**options.values_from_args(Options, args)) == Options(unit="100", alpha=0.1)


def test_board_from_the_registry_alone(tmp_path):
    written = build_leaderboard([], tmp_path, formats="json")
    data = json.loads(written["json"][0].read_text())
    assert data["num_results"] == 0 and len(data["tables"]) == 5
    assert all(r["provenance"] == "reported" for t in data["tables"] for r in t["rows"])
