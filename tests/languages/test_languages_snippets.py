"""Dataset snippets that need context to parse (PHP methods without `<?php`) are parsed wrapped, views windowed."""

from __future__ import annotations

from codequarry.languages import (
    count_nodes,
    error_count,
    identifiers,
    normalize_code,
    strip_comments,
    tokenize_code,
)
from codequarry.languages.spec import parse_snippet

METHOD = "public static function add($a, $b)\n{\n    // sum them\n    return $a + $b;\n}"


def test_php_method_snippet_parses_cleanly_inside_a_class():
    snip = parse_snippet(METHOD, "php")
    assert snip.wrapped and snip.code == METHOD.encode()
    assert error_count(METHOD, "php") == 0
    assert "method_declaration" in str(snip.tree.root_node)


def test_php_views_see_only_the_snippet():
    assert tokenize_code(METHOD, "php") == ["public", "static", "function", "add", "(", "$", "a", ",", "$", "b", ")",
                                            "{", "// sum them", "return", "$", "a", "+", "$", "b", ";", "}"]
    assert normalize_code(METHOD, "php") == "public static function add ( $ a , $ b ) { return $ a + $ b ; }"
    assert strip_comments(METHOD, "php") == "public static function add($a, $b)\n{\n    return $a + $b;\n}"
    assert identifiers(METHOD, "php") == ["add", "a", "b", "a", "b"]
    plain = "<?php\nclass K {\n" + METHOD + "\n}"
    assert count_nodes(METHOD, "php") < count_nodes(plain, "php")


def test_php_broken_snippet_still_counts_errors():
    assert error_count("public function add($a, {\n return $a;\n", "php") > 0


def test_php_statements_and_tagged_files_parse_as_they_are():
    assert error_count("echo strtoupper($name);", "php") == 0
    assert tokenize_code("echo 1;", "php") == ["echo", "1", ";"]
    tagged = "<?php\nfunction f() { return 1; }\n"
    assert not parse_snippet(tagged, "php").wrapped
    assert tokenize_code(tagged, "php")[0] == "<?php"


def test_other_languages_are_never_wrapped():
    for code, lang in (("def f(x):\n    return x\n", "python"), ("public int f() { return 1; }", "java")):
        snip = parse_snippet(code, lang)
        assert not snip.wrapped and snip.lo == 0 and snip.hi == len(code)
