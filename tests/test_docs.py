"""Docs that cannot drift: the README renders, its lists match the registries, cited documents exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
DOCS = sorted((ROOT / "docs").glob("*.md"))
MARKDOWN = [ROOT / "README.md", *DOCS]


def _tokens(text: str) -> list:
    return MarkdownIt("commonmark").enable("table").parse(text)


def _fence_problems(text: str) -> list[str]:
    """Code fences a CommonMark renderer would close somewhere else than the author meant."""
    problems = []
    fences = [t for t in _tokens(text) if t.type == "fence"]
    for t in fences:
        for line in t.content.splitlines():
            if line.lstrip().startswith(("```", "~~~")):
                problems.append(f"line {t.map[0] + 1}: a fence swallows {line.strip()[:60]!r}")
    marker_lines = [ln for ln in text.splitlines() if re.match(r"^ {0,3}(```|~~~)", ln)]
    if len(marker_lines) != 2 * len(fences):
        problems.append(f"{len(marker_lines)} fence lines but {len(fences)} fenced blocks")
    return problems


@pytest.mark.parametrize("path", MARKDOWN, ids=lambda p: p.name)
def test_markdown_renders_as_written(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert _fence_problems(text) == []
    html = MarkdownIt("commonmark").enable("table").render(text)
    assert "<h1>" in html or "<h2>" in html


def test_fence_check_catches_prose_after_a_closing_fence() -> None:
    broken = "# t\n\n```\ncode\n``` Both commands install\n\nmore\n\n```bash\nx\n```\n"
    assert _fence_problems(broken)
    assert _fence_problems(broken.replace("``` Both", "```\n\nBoth")) == []


@pytest.mark.parametrize("path", MARKDOWN, ids=lambda p: p.name)
def test_relative_links_resolve(path: Path) -> None:
    for t in _tokens(path.read_text(encoding="utf-8")):
        for child in t.children or []:
            href = child.attrGet("href") if child.type == "link_open" else None
            if href and not re.match(r"^[a-z]+:|^#", href):
                assert (path.parent / href.split("#")[0]).exists(), f"{path.name} links to missing {href}"


# ---------------------------------------------------------------------------------------------
# the README's lists against the registries


def _section(title: str) -> str:
    m = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, re.S | re.M)
    assert m, f"README has no section {title!r}"
    return m.group(1)


def test_readme_sources_table_is_the_registry() -> None:
    from codequarry.builders.registry import SOURCES

    rows = [ln for ln in _section("Build").splitlines() if ln.startswith("| `")]
    listed = [name for row in rows for name in re.findall(r"`([a-z_]+)`", row.split("|")[1])]
    assert sorted(listed) == sorted(SOURCES.names())


def test_readme_repos_row_names_every_registered_language() -> None:
    from codequarry.languages import LANGUAGES

    row = next(ln for ln in _section("Build").splitlines() if ln.startswith("| `repos`"))
    missing = [lang for lang in LANGUAGES if not re.search(rf"\b{re.escape(lang)}\b", row)]
    assert missing == [], f"README's repos row does not name {missing}"


def test_readme_default_preset_list_is_the_preset() -> None:
    from importlib import resources

    preset = yaml.safe_load(resources.files("codequarry.cleaners.presets").joinpath("default.yaml").read_text())
    steps = [s["step"] for s in preset["steps"]]
    numbered = re.findall(r"^\d+\. `([a-z_]+)`", _section("Clean"), re.M)
    assert numbered == steps


def test_readme_names_every_step_and_preset() -> None:
    from importlib import resources

    from codequarry.cleaners.registry import STEPS

    clean = _section("Clean")
    assert [s for s in STEPS.names() if f"`{s}`" not in clean] == []
    presets = [p.name[:-5] for p in resources.files("codequarry.cleaners.presets").iterdir() if p.name.endswith(".yaml")]
    assert presets and [p for p in presets if not re.search(rf"\b{p}\b", clean)] == []


def test_readme_names_every_task() -> None:
    from codequarry.benchmarks.tasks import TASKS

    text = _section("Benchmark")
    prefixes = sorted({name.split("/")[0] for name in TASKS.names()})
    missing = [p for p in prefixes if not re.search(rf"`{re.escape(p)}(/[^`]*)?`", text)]
    assert missing == [], f"README's Benchmark section does not name the tasks {missing}"


def test_readme_names_every_command() -> None:
    from codequarry.cli import subcommands

    table = _section("The pipeline")
    assert [c for c in subcommands() if f"`codequarry {c}" not in table] == []


# ---------------------------------------------------------------------------------------------
# documents cited in code and data files


#: a document citation: docs/NAME.md, NAME.md §…, shared/reference/…, DESIGN.md, "harness notes §…"
_CITATION = re.compile(r"(?:\.\./)?shared/reference/[\w./-]+|docs/[\w/-]+\.md|\b[\w-]+\.md(?=,? ?§)|\bDESIGN\.md"
                       r"|harness notes(?= ?§)")
_SCANNED = (".py", ".yaml", ".yml", ".toml", ".cfg", ".txt")


def _cited() -> list[tuple[str, str]]:
    out = []
    for path in ROOT.rglob("*"):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in (".venv", "build", ".git", "dist") or "egg-info" in rel.parts[0] or rel.name == "test_docs.py":
            continue
        if path.is_file() and (path.suffix in _SCANNED or path.name == "Makefile"):
            for m in _CITATION.finditer(path.read_text(encoding="utf-8", errors="replace")):
                out.append((rel.as_posix(), m.group(0)))
    return out


def _resolves(citation: str) -> bool:
    if citation.startswith(("shared/", "../")) or citation in ("harness notes", "DESIGN.md"):
        return False  # outside the repository, or no file named
    target = citation if citation.startswith("docs/") else f"docs/{citation}"
    return (ROOT / target).is_file()


def test_every_cited_document_is_in_docs() -> None:
    cited = _cited()
    assert any(c == "docs/formats.md" for _, c in cited)  # the scan sees the citations
    assert [f"{where}: {c}" for where, c in cited if not _resolves(c)] == []


def test_extending_lists_files_that_exist() -> None:
    """docs/extending.md names the exact files of a new source, task, language and step: they must exist."""
    text = (ROOT / "docs" / "extending.md").read_text(encoding="utf-8")
    for heading in ("## A new source", "## A new benchmark task", "## A new language", "## A new cleaning step"):
        assert heading in text
    paths = set(re.findall(r"`([\w./-]+\.(?:py|yaml|toml|md))`", text))
    placeholders = re.compile(r"(?<![A-Za-z])(NAME|LANG|FAMILY)(?![A-Za-z])")
    concrete = sorted(p for p in paths if not placeholders.search(p))
    assert len(concrete) > 15
    assert [p for p in concrete if not (ROOT / p).is_file()] == []
    for module in ("builders/registry.py", "benchmarks/tasks/tasks.yaml", "codequarry/languages/data/languages.yaml",
                   "cleaners/registry.py", "pyproject.toml"):
        assert module in paths  # the one registry line / entry of each kind is named
