"""CSN tokenization, identifiers, comment stripping, normalization, and input that tries to break them."""

from __future__ import annotations

import time

import pytest

from codequarry.languages import (
    count_nodes,
    docstring_summary,
    error_count,
    extract_file,
    extract_functions,
    identifiers,
    normalize_code,
    parse,
    strip_comments,
    tokenize_code,
    tokenize_docstring,
    tokenize_function,
)


@pytest.mark.parametrize("text,tokens", [
    ("Returns the value.", ["Returns", "the", "value", "."]),
    ("Call f() then g({}) or h([])", ["Call", "f", "()", "then", "g", "(", "{}", ")", "or", "h", "(", "[]", ")"]),
    ("a.b.c = d[0]", ["a", ".", "b", ".", "c", "=", "d", "[", "0", "]"]),
    ("x >= y; z += 1 -> w // v \\ u", ["x", ">", "=", "y", ";", "z", "+", "=", "1", "-", ">", "w", "//", "v", "\\", "u"]),
    ("Don't use \"quotes\" or `ticks`, ok", ["Don", "t", "use", "quotes", "or", "ticks", "ok"]),
    ("((nested)) ... **kw** ::", ["((", "nested", "))", "...", "**", "kw", "**", "::"]),
    ("@param x the <b>bold</b> #tag 50% $v", ["@param", "x", "the", "<b", ">", "bold<", "/", "b", ">", "#tag", "50%", "$v"]),
    ("", []),
])
def test_tokenize_docstring_is_csn_regex(text, tokens):
    assert tokenize_docstring(text) == tokens


@pytest.mark.parametrize("doc,summary", [
    ("First para.\n\nSecond para.", "First para."),
    ("One line @param x y", "One line "),
    ("Line one\nline two @see z\n\nmore", "Line one\nline two @see z"),
    ("No break, no tag", "No break, no tag"),
    ("", ""),
])
def test_docstring_summary(doc, summary):
    assert docstring_summary(doc) == summary


def test_code_tokens_strings_and_comments_are_single_tokens():
    code = 'def f(x):\n    # a comment here\n    return x + "two words" + f\'{x} y\' + b"\\x00"\n'
    toks = tokenize_code(code, "python")
    assert toks == ["def", "f", "(", "x", ")", ":", "# a comment here", "return", "x", "+", '"two words"', "+",
                    "f'{x} y'", "+", 'b"\\x00"']
    js = tokenize_code("let s = 'a b' + `t ${v}`; // c\n", "javascript")
    assert "'a b'" in js and "// c" in js and "`" in js and "v" in js  # template strings are not CSN strings
    go = tokenize_code('package p\nvar s = "x y" + `raw text`\n', "go")
    assert '"x y"' in go and "`raw text`" in go


def test_line_continuations_are_layout_not_tokens():
    assert tokenize_code("x = 1 + \\\n    2\n", "python") == ["x", "=", "1", "+", "2"]


def test_tokenize_function_excludes_the_python_docstring():
    code = 'def f(a):\n    """Doc here."""\n    return a\n'
    (f,) = extract_functions(code, "python")
    assert tokenize_function(f) == ["def", "f", "(", "a", ")", ":", "return", "a"]
    (rejected, why), = extract_file(code, "python", rules=__import__("codequarry.languages").languages.ExtractionRules(
        min_code_tokens=50)).rejected
    assert why == "too_few_code_tokens" and tokenize_function(rejected) == list(f.code_tokens)


def test_identifiers_remove_keywords_per_language():
    assert identifiers("def f(self, x=None):\n    return not x and True", "python") == ["f", "self", "x", "x", "True"]
    assert identifiers("public static int f(int x) { return this.y + x; }", "java") == ["f", "x", "y", "x"]
    assert identifiers("func F(ctx context.Context) error { return nil }", "go") == ["F", "ctx", "context", "Context",
                                                                                      "error", "nil"]
    assert "let" not in identifiers("let a = function () { return b; };", "javascript")


def test_strip_comments_keeps_code_and_strings():
    py = 'x = 1  # trailing\n# full line\ns = "# not a comment"\n\ndef f():\n    """Doc."""\n    return x\n'
    assert strip_comments(py, "python") == 'x = 1\ns = "# not a comment"\n\ndef f():\n    """Doc."""\n    return x\n'
    assert strip_comments(py, "python", keep_docstring=False) == 'x = 1\ns = "# not a comment"\n\ndef f():\n    return x\n'
    java = "/** Doc. */\nint f() {\n  // gone\n  return 1; /* tail */\n}\n"
    assert strip_comments(java, "java") == "int f() {\n  return 1;\n}\n"
    rust = "/// Doc\nfn f() -> u8 { 1 } // tail\n"
    assert strip_comments(rust, "rust") == "fn f() -> u8 { 1 }\n"


def test_normalize_code_ignores_layout_and_comments():
    a = "def f(a,b):\n    # c\n    return a+b\n"
    b = "def f( a , b ) :\n\n    return   a + b   # other\n"
    assert normalize_code(a, "python") == normalize_code(b, "python") == "def f ( a , b ) : return a + b"
    assert normalize_code("def f(a, b):\n    return a - b\n", "python") != normalize_code(a, "python")


def test_count_nodes_and_error_count():
    assert count_nodes("x = 1", "python") == 5  # module, expression_statement, assignment, identifier, integer
    assert error_count("x = 1", "python") == 0
    assert error_count("def f(:\n    pass\n", "python") >= 1
    assert error_count("int main( {", "c") >= 1


def test_bytes_and_invalid_utf8_are_parsed_not_rejected():
    code = b'def f():\n    """Caf\xe9 \xff."""\n    return "\xc3\xa9"\n'
    (f,) = extract_functions(code, "python")
    assert f.docstring == "Caf\ufffd \ufffd." and '"é"' in f.code_tokens


DEPTH = 10_000


@pytest.mark.parametrize("lang,code", [
    ("python", "x = " + "(" * DEPTH + "1" + ")" * DEPTH + "\n"),
    ("python", "def f():\n    '''Deep.'''\n    return " + "[" * DEPTH + "]" * DEPTH + "\n"),
    ("javascript", "/** Deep. */\nfunction f() {" + "{" * DEPTH + "}" * DEPTH + "}\n"),
    ("javascript", "/** d */\n" + "function f() {" * 2000 + "}" * 2000 + "\n"),
    ("java", "class A { /** d */ void f() {\n" + "{" * DEPTH + "}" * DEPTH + "\n} }\n"),
    ("c", "/* d */\nint f(void) {\n" + "{" * DEPTH + "}" * DEPTH + "\nreturn 0; }\n"),
])
def test_nesting_ten_thousand_levels_deep(lang, code):
    start = time.perf_counter()
    tree = parse(code, lang)
    ex = extract_file(code, lang)
    for f in ex.functions:
        assert len(f.code_tokens) > DEPTH / 5 or lang == "javascript"
    tokenize_code(code, lang)
    normalize_code(code, lang)
    strip_comments(code, lang)
    identifiers(code, lang)
    count_nodes(code, lang)
    error_count(code, lang)
    extract_file(code, lang, rules=__import__("codequarry.languages").languages.ExtractionRules(scope="all"))
    assert tree.root_node.end_byte == len(code.encode())
    assert time.perf_counter() - start < 60


def test_huge_single_line_and_binary_input():
    line = "var a=" + "+".join(f"f{i}(x)" for i in range(60_000)) + ";\n"  # ~0.6 MB on one line
    code = "/** Big. */\nfunction big(x) { return 1; }\n" + line
    (f,) = extract_functions(code, "javascript")
    assert f.qualified_name == "big" and f.start_line == 2
    assert len(tokenize_code(line, "javascript")) > 300_000
    junk = bytes(range(256)) * 64
    extract_file(junk, "python")  # binary garbage: errors in the tree, but no exception
    assert error_count(junk, "python") >= 1
