"""Extraction on real installed sources: each function's code is exactly the text at its lines and bytes."""

from __future__ import annotations

import re
import sysconfig
from pathlib import Path

import pytest

from codequarry.languages import ExtractionRules, extract_file, language_for_path

STDLIB_FILES = ("json/__init__.py", "json/decoder.py", "argparse.py", "textwrap.py", "email/message.py",
                "collections/__init__.py", "dataclasses.py", "pathlib.py", "http/client.py", "difflib.py")


def _check(src: bytes, functions) -> None:
    for f in functions:
        assert src[f.start_byte:f.end_byte].decode("utf-8") == f.code
        assert src[:f.start_byte].count(b"\n") + 1 == f.start_line
        last = src[:f.end_byte].rstrip(b"\n") if f.code.endswith("\n") else src[:f.end_byte]
        assert last.count(b"\n") + 1 == f.end_line
        if f.code_tokens:  # tokens cover the code but for whitespace and line continuations
            body = "".join(re.sub(r"\\\r?\n", "\n", f.code).split())
            if f.docstring_span is not None:  # python: the docstring literal is not a token
                literal = src[f.docstring_span[0]:f.docstring_span[1]].decode()
                body = body.replace("".join(re.sub(r"\\\r?\n", "\n", literal).split()), "", 1)
            assert "".join("".join(re.sub(r"\\\r?\n", "\n", t).split()) for t in f.code_tokens) == body


@pytest.mark.parametrize("name", STDLIB_FILES)
def test_stdlib_functions_are_exact_source_spans(stdlib_dir, name):
    path = Path(stdlib_dir) / name
    src = path.read_bytes()
    csn = extract_file(src, "python")
    everything = extract_file(src, "python", ExtractionRules(scope="all", require_docstring=False, skip_empty=False))
    assert csn.functions, name
    assert len(everything.functions) >= len(csn.functions) + len(csn.rejected) - sum(
        1 for _, why in csn.rejected if why == "too_few_code_tokens")
    _check(src, csn.functions)
    _check(src, everything.functions)
    _check(src, [f for f, _ in csn.rejected])


def _installed(pattern: str, limit: int) -> list[Path]:
    roots = [Path(sysconfig.get_paths()["purelib"]), Path(sysconfig.get_paths()["stdlib"]), Path("/usr/include")]
    found: list[Path] = []
    for root in roots:
        if root.is_dir():
            found += sorted(p for p in root.rglob(pattern) if p.is_file() and p.stat().st_size < 300_000)[:limit]
    return found[:limit]


@pytest.mark.parametrize("pattern", ["*.c", "*.h", "*.js", "*.hpp"])
def test_other_installed_languages(pattern):
    files = _installed(pattern, 15)
    if not files:
        pytest.skip(f"no {pattern} files installed here")
    total = 0
    for path in files:
        src = path.read_bytes()
        lang = language_for_path(path)
        try:
            src.decode("utf-8")
        except UnicodeDecodeError:
            continue
        ex = extract_file(src, lang, ExtractionRules(scope="all", require_docstring=False))
        _check(src, ex.functions)
        total += len(ex.functions)
    assert total > 0, f"no function definitions found in {len(files)} installed {pattern} files"
