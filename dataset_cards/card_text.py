"""Markdown building blocks and package data shared by the dataset card's modules."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from codequarry.pairs import PairsDir

README = "README.md"
IMAGE_SUFFIXES = (".png", ".svg", ".jpg", ".jpeg", ".gif", ".webp")


@cache
def package_data(name: str) -> Any:
    """A file shipped with ``codequarry.dataset_cards`` (YAML parsed, anything else as text)."""
    node = resources.files("codequarry.dataset_cards")
    for part in name.split("/"):
        node = node.joinpath(part)
    text = node.read_text(encoding="utf-8")
    return yaml.safe_load(text) if name.endswith(".yaml") else text


def report_files(pairs: PairsDir) -> list[str]:
    """Existing report files the manifest's ``report`` key names (relative paths inside the dir)."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, Mapping):
            for v in value.values():
                walk(v)
        elif isinstance(value, (list, tuple)):
            for v in value:
                walk(v)

    walk(pairs.manifest.get("report"))
    root = pairs.path.resolve()
    out: list[str] = []
    for rel in found:
        p = Path(rel)
        full = (root / p).resolve() if not p.is_absolute() else p.resolve()
        try:
            relpath = full.relative_to(root).as_posix()
        except ValueError:
            continue  # outside the dir: the card cannot link it, publish cannot upload it
        if full.is_file() and relpath not in out:
            out.append(relpath)
    return out


def fmt_int(n: int | None) -> str:
    return "–" if n is None else f"{n:,}"


def pct(part: int, whole: int) -> str:
    return "–" if not whole else f"{100.0 * part / whole:.1f}%"


def md_table(header: Sequence[str], rows: Iterable[Sequence[Any]], align: str | None = None) -> str:
    rows = [[str(c).replace("|", "\\|").replace("\n", " ") for c in r] for r in rows]
    align = align or "l" + "r" * (len(header) - 1)
    sep = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(sep) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def code_block(text: str, lang: str = "") -> str:
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}{lang}\n{text.rstrip()}\n{fence}"


def bib_key(text: str, year: int) -> str:
    words = re.findall(r"[a-z0-9]+", text.lower())
    return ("_".join(words[:6]) or "codequarry_dataset") + f"_{year}"


def bib_escape(text: str) -> str:
    return re.sub(r"([&%$#_{}])", r"\\\1", text)


def step_matches(step: Mapping[str, Any], *words: str) -> bool:
    name = str(step.get("name", "")).lower()
    return any(w in name for w in words)
