"""Time of the ``obfuscate`` step on one function per language, as the function grows deep and wide.

Deep: one statement that is a left-deep chain of ``n`` additions (``x = a + b + a + …``), so the tree
is ~n levels deep; rules that climb ``node.parent`` per identifier are cubic there (issue 14 item 5:
a 6 KB function took minutes). Wide: ``n`` short statements, each binding a new local. Prints, per
language and size, the function's bytes and the seconds of one ``obfuscate_code`` call.

Usage: ``python perf/obfuscate.py [--sizes 1600 12000] [--languages python cpp …]``
"""

from __future__ import annotations

import argparse
import time

from codequarry.cleaners.obfuscate import obfuscate_code

DEEP = {
    "python": "def f(a, b):\n    x = {chain}\n    return f(x, b)\n",
    "java": "int f(int a, int b) {{\n    int x = {chain};\n    return f(x, b);\n}}\n",
    "c": "int f(int a, int b) {{\n    int x = {chain};\n    return f(x, b);\n}}\n",
    "cpp": "int f(int a, int b) {{\n    int x = {chain};\n    return f(x, b);\n}}\n",
    "c_sharp": "int f(int a, int b) {{\n    int x = {chain};\n    return f(x, b);\n}}\n",
    "javascript": "function f(a, b) {{\n    let x = {chain};\n    return f(x, b);\n}}\n",
    "typescript": "function f(a: number, b: number) {{\n    let x = {chain};\n    return f(x, b);\n}}\n",
    "go": "func f(a int, b int) int {{\n    x := {chain}\n    return f(x, b)\n}}\n",
    "ruby": "def f(a, b)\n    x = {chain}\n    f(x, b)\nend\n",
    "php": "function f($a, $b) {{\n    $x = {chain};\n    return f($x, $b);\n}}\n",
    "rust": "fn f(a: i32, b: i32) -> i32 {{\n    let x = {chain};\n    f(x, b)\n}}\n",
    "kotlin": "fun f(a: Int, b: Int): Int {{\n    val x = {chain}\n    return f(x, b)\n}}\n",
}


def deep(language: str, n: int) -> str:
    names = ["$a", "$b"] if language == "php" else ["a", "b"]
    return DEEP[language].format(chain=" + ".join(names * (n // 2)))


def wide(n: int) -> str:
    body = "".join(f"    v{i} = a + v{max(i - 1, 0)} * {i}\n    if v{i} > 3:\n        b = [v{i}, (a, b)]\n"
                   for i in range(n))
    return "def f(a, b):\n" + body + "    return b\n"


def _time(code: str, language: str) -> float:
    start = time.perf_counter()
    obfuscate_code(code, language)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1600, 12000], help="additions in the deep chain")
    parser.add_argument("--languages", nargs="+", default=list(DEEP), choices=list(DEEP))
    args = parser.parse_args()
    print(f"{'language':<11} {'shape':<5} {'bytes':>7} {'seconds':>8}")
    for language in args.languages:
        for n in args.sizes:
            code = deep(language, n)
            print(f"{language:<11} {'deep':<5} {len(code):>7} {_time(code, language):>8.3f}", flush=True)
    for n in (200, 2000):
        code = wide(n)
        print(f"{'python':<11} {'wide':<5} {len(code):>7} {_time(code, 'python'):>8.3f}", flush=True)


if __name__ == "__main__":
    main()
