"""Small hand-checkable pairs dirs for the card and publish tests (written with the real PairsWriter)."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from codequarry.pairs import PairsDir, PairsWriter, SourceInfo
from codequarry.schema import make_id

CSN_BIB = "@article{husain2019codesearchnet,\n  title={CodeSearchNet Challenge},\n  author={Husain, Hamel and others},\n  year={2019}\n}"
COSQA_BIB = "@inproceedings{huang2021cosqa,\n  title={CoSQA: 20,000+ Web Queries for Code Search and Question Answering},\n  year={2021}\n}"

RECIPE = {"name": "test", "steps": [
    {"step": "query_length", "params": {"min_tokens": 1, "max_tokens": 256}},
    {"step": "english_only", "params": {"min_confidence": 0.9, "min_chars": 20}},
    {"step": "near_dedup", "params": {"num_perm": 256, "ngram": 5, "threshold": 0.7, "seed": 0}},
]}
STEPS = [
    {"name": "query_length", "kind": "filter", "params": {"min_tokens": 1, "max_tokens": 256},
     "in": 40, "kept": 37, "excluded": 3, "reasons": {"too_short": 2, "too_long": 1}},
    {"name": "english_only", "kind": "filter", "params": {"min_confidence": 0.9, "min_chars": 20},
     "in": 37, "kept": 35, "excluded": 2, "reasons": {"non_english": 2}},
    {"name": "near_dedup", "kind": "global", "params": {"num_perm": 256, "ngram": 5, "threshold": 0.7, "seed": 0},
     "in": 35, "kept": 30, "excluded": 5, "reasons": {"near_duplicate": 5}},
]


def tiny_png(path: Path) -> None:
    """A valid 1×1 PNG (what the cleaners' report plot would be)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))
    path.write_bytes(png)


def make_rows(n_python: int = 10, n_java: int = 6, n_go: int = 4, *, offset: int = 0, pad: int = 0) -> list[dict[str, Any]]:
    """Rows whose statistics are easy to check by hand.

    python row i: query of i+1 words, code of i+1 lines, license MIT, repo acme/py, label i % 2,
    query_lang en (fr for i == 9), dup_cluster "p{i//2}" for i < 4 (two clusters of two) else None.
    java row i: 2 words, 3 lines, license Apache-2.0, repo acme/java; no label.
    go row i: 3 words, 1 line, no license, repo gopher/go; no label.
    ``pad`` adds that many characters to every code string (to make shards bigger).
    """
    rows: list[dict[str, Any]] = []
    for i in range(n_python):
        k = i + offset
        code = "\n".join([f"def f_{k}(x):"] + ["    x += 1"] * i) + ("#" * pad)
        rows.append({"id": make_id("codesearchnet", "py", k), "query": " ".join(["word"] * (i + 1)), "code": code,
                     "language": "python", "source": "codesearchnet", "repo": "acme/py", "path": "src/a.py",
                     "func_name": f"f_{k}", "license": "MIT", "label": i % 2,
                     "query_tokens": ["word"] * (i + 1), "code_tokens": ["def", f"f_{k}", "(", "x", ")", ":"],
                     "query_lang": "fr" if i == 9 else "en", "dup_cluster": f"p{i // 2}" if i < 4 else None})
    for i in range(n_java):
        k = i + offset
        rows.append({"id": make_id("codesearchnet", "java", k), "query": "get value", "code": "int f() {\n  return " + str(k) + ";\n}"
                     + ("#" * pad), "language": "java", "source": "codesearchnet", "repo": "acme/java",
                     "path": "A.java", "func_name": f"A.f{k}", "license": "Apache-2.0", "label": None,
                     "query_tokens": ["get", "value"], "code_tokens": ["int", "f", "(", ")"], "query_lang": "en",
                     "dup_cluster": None})
    for i in range(n_go):
        k = i + offset
        rows.append({"id": make_id("codesearchnet", "go", k), "query": "make a thing", "code": f"func F{k}() {{}}"
                     + ("#" * pad), "language": "go", "source": "codesearchnet", "repo": "gopher/go", "path": "a.go",
                     "func_name": f"F{k}", "license": None, "label": None, "query_tokens": ["make", "a", "thing"],
                     "code_tokens": None, "query_lang": "en", "dup_cluster": None})
    return rows


def write_pairs(
    path: Path,
    rows: list[dict[str, Any]] | None = None,
    *,
    cleaned: bool = True,
    report: bool = True,
    sources: list[SourceInfo] | None = None,
    test_every: int = 4,
    exclusions: int = 2,
) -> PairsDir:
    """Write a pairs dir: every ``test_every``-th row goes to test, the rest to train."""
    rows = make_rows() if rows is None else rows
    sources = sources if sources is not None else [
        SourceInfo("codesearchnet", url="https://github.com/github/CodeSearchNet", license="MIT", citation=CSN_BIB,
                   revision="106e827")]
    w = PairsWriter(path, created_by="codequarry clean raw --out clean --preset test", sources=sources,
                    params={"languages": ["python", "java", "go"], "min_tokens": 1})
    train = [r for i, r in enumerate(rows) if i % test_every]
    test = [r for i, r in enumerate(rows) if not i % test_every]
    w.write(train, split="train")
    w.write(test, split="test")
    for i in range(exclusions):
        w.exclude("too_short", step="query_length", locator=f"row{i}", row={"id": f"x{i}", "query": "x", "code": "y"})
    if cleaned:
        w.set_manifest("recipe", RECIPE)
        w.set_manifest("steps", STEPS)
        w.set_manifest("input", {"path": "raw", "fingerprint": "sha256:" + "0" * 64})
        if report:
            w.set_manifest("report", {"markdown": "report.md", "plot": "report.png"})
    w.close()
    if cleaned and report:
        tiny_png(path / "report.png")
        (path / "report.md").write_text("# Cleaning report\n", encoding="utf-8")
    return PairsDir(path)


@pytest.fixture
def pairs_factory(tmp_path: Path) -> Callable[..., PairsDir]:
    """Write a pairs dir under tmp_path: ``pairs_factory("name", rows=..., cleaned=..., ...)``."""
    def make(name: str = "pairs", rows: list[dict[str, Any]] | None = None, **kw: Any) -> PairsDir:
        return write_pairs(tmp_path / name, rows, **kw)

    return make


@pytest.fixture
def cards() -> SimpleNamespace:
    """The helpers above, for tests (conftest modules cannot be imported under --import-mode=importlib)."""
    return SimpleNamespace(make_rows=make_rows, write_pairs=write_pairs, tiny_png=tiny_png, CSN_BIB=CSN_BIB,
                           COSQA_BIB=COSQA_BIB, RECIPE=RECIPE, STEPS=STEPS)
