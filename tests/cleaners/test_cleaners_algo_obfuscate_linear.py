"""obfuscate is linear in the function's size, and the linear rules give the outputs the old rules gave.

The old rules climbed ``node.parent`` chains per identifier (tree-sitter finds a parent by descending
from the root), so a deeply nested 6 KB function took minutes (issue 14 item 5). The golden file
holds the old implementation's outputs (recorded before the rewrite, commit d33d876) on this suite's
fixtures and on real functions (CPython's stdlib, npm, the App Engine PHP SDK, git's Go contrib,
system C/C++ headers, Rust std sources): rows of code, language, keep_docstring and the expected
code, mapping, tokens_code and grammar (or the exclusion reason).
"""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path

import pytest

from codequarry.cleaners.obfuscate import ObfuscationError, obfuscate_code

GOLDEN = Path(__file__).with_name("data") / "obfuscate_golden.jsonl.gz"


def _golden() -> list[dict]:
    with gzip.open(GOLDEN, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def test_outputs_are_unchanged_on_the_recorded_fixtures():
    rows = _golden()
    assert len(rows) > 400 and len({r["language"] for r in rows}) >= 10
    for row in rows:
        try:
            got = obfuscate_code(row["code"], row["language"], keep_docstring=row["keep_docstring"])
        except ObfuscationError as exc:
            assert row.get("error") == exc.reason, (row, exc)
            continue
        assert "error" not in row, (row, got)
        assert got.code == row["out_code"], row["code"]
        assert list(got.mapping.items()) == list(row["mapping"].items()), row["code"]
        assert (got.tokens_code, got.grammar) == (row["tokens_code"], row["grammar"]), row["code"]


def _nested(language: str, n: int) -> str:
    """A function whose one statement is a left-deep chain of ``n`` additions (tree depth ~n)."""
    chain = " + ".join(["a", "b"] * (n // 2))
    return {
        "python": f"def f(a, b):\n    x = {chain}\n    return f(x, b)\n",
        "java": f"int f(int a, int b) {{\n    int x = {chain};\n    return f(x, b);\n}}\n",
        "c": f"int f(int a, int b) {{\n    int x = {chain};\n    return f(x, b);\n}}\n",
        "cpp": f"int f(int a, int b) {{\n    int x = {chain};\n    return f(x, b);\n}}\n",
        "c_sharp": f"int f(int a, int b) {{\n    int x = {chain};\n    return f(x, b);\n}}\n",
        "javascript": f"function f(a, b) {{\n    let x = {chain};\n    return f(x, b);\n}}\n",
        "typescript": f"function f(a: number, b: number) {{\n    let x = {chain};\n    return f(x, b);\n}}\n",
        "go": f"func f(a int, b int) int {{\n    x := {chain}\n    return f(x, b)\n}}\n",
        "ruby": f"def f(a, b)\n    x = {chain}\n    f(x, b)\nend\n",
        "php": "function f($a, $b) {\n    $x = " + " + ".join(["$a", "$b"] * (n // 2)) + ";\n    return f($x, $b);\n}\n",
        "rust": f"fn f(a: i32, b: i32) -> i32 {{\n    let x = {chain};\n    f(x, b)\n}}\n",
        "kotlin": f"fun f(a: Int, b: Int): Int {{\n    val x = {chain}\n    return f(x, b)\n}}\n",
    }[language]


@pytest.mark.parametrize("language", ["python", "java", "c", "cpp", "c_sharp", "javascript", "typescript", "go",
                                      "ruby", "php", "rust", "kotlin"])
def test_a_deeply_nested_50_kb_function_is_fast(language):
    code = _nested(language, 12_000)
    assert len(code) > 48_000
    start = time.perf_counter()
    result = obfuscate_code(code, language)
    elapsed = time.perf_counter() - start
    assert elapsed < 5.0, f"{language}: {elapsed:.1f} s for a {len(code)} byte function"
    assert list(result.mapping.values()) == ["Func", "arg_0", "arg_1", "arg_2"], result.mapping
    assert result.code.count("arg_0") == 12_000 // 2 + 1


def test_a_wide_function_is_fast():
    """Many statements (width rather than depth): 2,000 locals, each used a few times."""
    body = "".join(f"    v{i} = a + v{i - 1 if i else 0} * {i}\n    if v{i} > 3:\n        b = [v{i}, (a, b)]\n"
                   for i in range(2000))
    code = "def f(a, b):\n" + body + "    return b\n"
    assert len(code) > 50_000
    start = time.perf_counter()
    result = obfuscate_code(code, "python")
    assert time.perf_counter() - start < 5.0
    assert len(result.mapping) == 2003 and result.mapping["v1999"] == "arg_2001"
