"""The per-batch parse cache gives exactly what codequarry.languages gives, and stays bounded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import codequarry.languages as L
from codequarry.cleaners import parsing as P


def test_cached_views_equal_the_languages_functions(h: Any, stdlib_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    samples = [(code, lang) for lang, code in h.SAMPLE_CODE.items()]
    samples += [(r["code"], "python") for r in h.stdlib_rows(stdlib_dir, 150)]
    samples += [("def broken(:\n  return\n", "python"), ("", "go")]
    samples += [("def grüße(naïve):\n    # 注释\n    return naïve + '日本語 \ud800 ☃'  # ☃\n", "python"),
                ("func 名前() string {\n\treturn \"héllo\" // ü\n}\n", "go"), ("x = '\udcff'\n", "python")]
    monkeypatch.setattr(P, "CACHE_SOURCE_BYTES", 20_000)  # force evictions along the way
    P.clear()
    for _ in range(2):  # second round: hits and re-parses after eviction
        for code, lang in samples:
            assert P.error_count(code, lang) == L.error_count(code, lang)
            assert P.tokenize_code(code, lang) == L.tokenize_code(code, lang)
            assert P.normalize_code(code, lang) == L.normalize_code(code, lang)
            assert P.identifiers(code, lang) == L.identifiers(code, lang)
            assert P.count_nodes(code, lang) == L.count_nodes(code, lang)
    assert P._held <= 20_000 + max(len(c.encode("utf-8", "replace")) for c, _ in samples)
    assert sum(len(snip.src) for snip in P._CACHE.values()) == P._held
    P.clear()
    assert not P._CACHE and P._held == 0


def test_views_of_repeated_code_are_remembered_bounded_and_not_shared(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(P, "VIEW_ENTRIES", 3)
    P.clear()
    codes = [f"def f{i}(a):\n    return a + {i}  # c\n" for i in range(5)]
    walks = []
    real = P.node_tokens
    monkeypatch.setattr(P, "node_tokens", lambda *a, **k: (walks.append(1), real(*a, **k))[1])
    first = P.tokenize_code(codes[0], "python")
    first.append("mutated")  # a caller's list is its own
    assert P.tokenize_code(codes[0], "python") == L.tokenize_code(codes[0], "python") and len(walks) == 1
    for c in codes:
        assert P.tokenize_code(c, "python") == L.tokenize_code(c, "python")
        assert P.normalize_code(c, "python") == L.normalize_code(c, "python")
    assert len(walks) == 5 and len(P._VIEWS) == 3  # one walk per distinct code; only the 3 most recent kept
    P.clear()
    assert not P._VIEWS
