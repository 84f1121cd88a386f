"""Filters on hand-checkable batches: which rows go, with which reason."""

from __future__ import annotations

from typing import Any

import pytest

from codequarry.cleaners.registry import step_class


def _run(name: str, rows: list[dict[str, Any]], h: Any, **params: Any) -> dict[str, str | None]:
    """id → reason (None when kept)."""
    step = step_class(name).from_config(params)
    out = step.process(h.batch(rows))
    assert out.kept.num_rows + out.num_dropped == len(rows)
    result: dict[str, str | None] = {i: None for i in out.kept["id"].to_pylist()}
    if out.dropped is not None:
        result.update(zip(out.dropped["id"].to_pylist(), out.reasons))
    return result


def test_not_null(h: Any) -> None:
    rows = [h.row(1), h.row(2, query=None), h.row(3, code="  \n "), h.row(4, code=None, query=None), h.row(5, query="")]
    assert _run("not_null", rows, h) == {"row-1": None, "row-2": "null_query", "row-3": "empty_code",
                                          "row-4": "null_query", "row-5": "empty_query"}
    assert _run("not_null", rows, h, whitespace_is_empty=False)["row-3"] is None
    assert _run("not_null", [h.row(6, func_name=None)], h, columns=["func_name"]) == {"row-6": "null_func_name"}


def test_parse_check_languages_and_errors(h: Any) -> None:
    rows = [h.row(lang, language=lang, code=code) for lang, code in h.SAMPLE_CODE.items()]
    rows += [h.row("broken", code="def f(:\n    return\n"), h.row("cobol", language="cobol"),
             h.row("nolang", language=None), h.row("nocode", code=None),
             h.row("java-broken", language="java", code="public int f( {")]
    got = _run("parse_check", rows, h)
    assert all(got[f"row-{lang}"] is None for lang in h.SAMPLE_CODE)
    assert got["row-broken"] == "parse_error" and got["row-java-broken"] == "parse_error"
    assert got["row-cobol"] == "unknown_language" and got["row-nolang"] == "unknown_language"
    assert got["row-nocode"] == "null_code"
    assert _run("parse_check", [h.row("broken", code="def f(:\n    return\n")], h, max_errors=5) == {"row-broken": None}


def test_parse_check_details_name_the_count(h: Any) -> None:
    out = step_class("parse_check").from_config({}).process(h.batch([h.row(1, code="def f(:\n  return\n")]))
    assert out.details is not None and "ERROR/MISSING" in out.details[0]


def test_query_length_csn_tokens(h: Any) -> None:
    rows = [h.row("two", query="Adds numbers"), h.row("three", query="Adds two numbers"),
            h.row("summary", query="Adds two.\n\nThe long part of the docstring has many many words in it."),
            h.row("tokens", query="x", query_tokens=["a", "b", "c"]), h.row("none", query=None)]
    got = _run("query_length", rows, h, min_tokens=3, max_tokens=5)
    assert got == {"row-two": "query_too_short", "row-three": None, "row-summary": None, "row-tokens": None,
                   "row-none": "query_too_short"}
    # "Adds two ." is 3 CSN tokens (the summary only); the full text is far over 5
    assert _run("query_length", rows[2:3], h, max_tokens=5, summary=False)["row-summary"] == "query_too_long"
    assert _run("query_length", rows[3:4], h, use_query_tokens=False)["row-tokens"] == "query_too_short"


def test_code_length_lines_tokens_chars(h: Any) -> None:
    big = "def f():\n" + "    x = 1\n" * 10
    rows = [h.row("one", code="def f(): return 1"), h.row("three", code="def f():\n\n    a = 1\n    return a\n"),
            h.row("big", code=big), h.row("huge", code="x" * 5000)]
    got = _run("code_length", rows, h, min_lines=3, max_lines=8)
    assert got == {"row-one": "code_too_short", "row-three": None, "row-big": "code_too_long", "row-huge": "code_too_short"}
    # blank lines count only when asked
    assert _run("code_length", rows[1:2], h, min_lines=4)["row-three"] == "code_too_short"
    assert _run("code_length", rows[1:2], h, min_lines=4, count_blank_lines=True)["row-three"] is None
    assert _run("code_length", rows, h, max_chars=1000)["row-huge"] == "code_too_long"
    # tokens: tree-sitter CSN tokens (`def f ( ) : return 1` = 7)
    assert _run("code_length", rows[:1], h, min_tokens=8)["row-one"] == "code_too_short"
    assert _run("code_length", rows[:1], h, min_tokens=7)["row-one"] is None
    cobol = [h.row("u", language="cobol", code="MOVE A TO B.")]  # no grammar: word/punctuation tokens (5)
    assert _run("code_length", cobol, h, min_tokens=5)["row-u"] is None
    assert _run("code_length", cobol, h, min_tokens=6)["row-u"] == "code_too_short"


def test_code_length_rejects_bad_ranges() -> None:
    from codequarry.errors import CodequarryError

    with pytest.raises(CodequarryError, match="max_lines"):
        step_class("code_length").from_config({"min_lines": 5, "max_lines": 2})


def test_test_functions(h: Any) -> None:
    rows = [h.row(1, func_name="test_add"), h.row(2, func_name="TestCase.run"), h.row(3, func_name="Foo.runTests"),
            h.row(4, func_name="attest"), h.row(5, func_name=None), h.row(6, func_name="add")]
    got = _run("test_functions", rows, h)
    assert got == {"row-1": "test_function", "row-2": None, "row-3": "test_function", "row-4": "test_function",
                   "row-5": None, "row-6": None}
    assert _run("test_functions", rows, h, qualified=True)["row-2"] == "test_function"
    assert _run("test_functions", rows[2:3], h, case_sensitive=True)["row-3"] is None


def test_blacklist_csn_lists(h: Any) -> None:
    rows = [h.row("j1", language="java", func_name="Foo.toString"), h.row("j2", language="java", func_name="Foo.bar"),
            h.row("js", language="javascript", func_name="valueOf"), h.row("php", language="php", func_name="A.__construct"),
            h.row("rb", language="ruby", func_name="Mod.Klass.initialize"), h.row("rb2", language="ruby", func_name="K.<=>"),
            h.row("py", language="python", func_name="Foo.__init__"), h.row("py2", language="python", func_name="Foo.__str__"),
            h.row("ctor", language="java", func_name="Foo.Foo")]
    got = _run("blacklist", rows, h)
    assert got == {"row-j1": "blacklisted_name", "row-j2": None, "row-js": "blacklisted_name",
                   "row-php": "blacklisted_name", "row-rb": "blacklisted_name", "row-rb2": "blacklisted_name",
                   "row-py": None, "row-py2": None, "row-ctor": None}
    more = _run("blacklist", rows, h, constructors=True, dunder=True, extra=["ba*"])
    assert more["row-py"] == "constructor" and more["row-ctor"] == "constructor" and more["row-py2"] == "dunder_method"
    assert more["row-j2"] == "blacklisted_name"


def test_docstring_markup(h: Any) -> None:
    rows = [h.row("url", query="Fetch it, see https://example.org/x for more."), h.row("bare", query="Uses https: links"),
            h.row("www", query="Docs at www.python.org today"), h.row("img", query='Shows <img src="a.png"> inline'),
            h.row("tag", query="Returns a <b>bold</b> value"), h.row("ent", query="Less&nbsp;than"),
            h.row("generic", query="Returns a List<String> of names for <T> values"), h.row("ok", query="Plain text here")]
    got = _run("docstring_markup", rows, h)
    assert got == {"row-url": "url_in_query", "row-bare": "url_in_query", "row-www": "url_in_query",
                   "row-img": "html_in_query", "row-tag": "html_in_query", "row-ent": "html_in_query",
                   "row-generic": None, "row-ok": None}
    assert _run("docstring_markup", rows[:1], h, urls=False)["row-url"] is None
    assert _run("docstring_markup", rows[-1:], h, patterns=[r"\bhere\b"])["row-ok"] == "special_token_in_query"


def test_param_only_docstring(h: Any) -> None:
    rows = [h.row("rst", query=":param x: the value\n:returns: nothing"), h.row("jd", query="@param x the value"),
            h.row("google", query="Args:\n    x: the value"), h.row("np", query="\n  Parameters\n  ----------\n  x : int"),
            h.row("ok", query="Compute a value.\n\n:param x: the value"), h.row("inherit", query="{@inheritDoc}"),
            h.row("dep", query="@deprecated: Convenience function for printing a value")]
    got = _run("param_only_docstring", rows, h)
    assert got == {"row-rst": "param_only_docstring", "row-jd": "param_only_docstring",
                   "row-google": "param_only_docstring", "row-np": "param_only_docstring", "row-ok": None,
                   "row-inherit": "param_only_docstring", "row-dep": None}


def test_autogenerated(h: Any) -> None:
    rows = [h.row("proto", code="# Generated by the protocol buffer compiler.  DO NOT EDIT!\ndef f():\n    pass\n"),
            h.row("banner", code="// Code generated by mockgen. DO NOT EDIT.\nfunc F() {}", language="go"),
            h.row("swig", code="def f():\n    # This file was automatically generated by SWIG\n    return 1\n"),
            h.row("q", query="Auto-generated getter for the name field."),
            h.row("ok", query="Return the id generated by the database for this row."),
            h.row("ok2", code="def generated_by(x):\n    return x\n")]
    got = _run("autogenerated", rows, h)
    assert got == {"row-proto": "autogenerated_code", "row-banner": "autogenerated_code", "row-swig": "autogenerated_code",
                   "row-q": "autogenerated_query", "row-ok": None, "row-ok2": None}
    assert _run("autogenerated", rows[3:4], h, fields=["code"])["row-q"] is None


def test_restated_name(h: Any) -> None:
    rows = [h.row("same", query="Get user name.", func_name="Api.getUserName"),
            h.row("plural", query="Gets the user names", func_name="get_user_name"),
            h.row("more", query="Get the user name from the session cache", func_name="getUserName"),
            h.row("ok", query="Add two numbers.", func_name="add"),
            h.row("noname", query="Get user name.", func_name=None)]
    assert _run("restated_name", rows, h) == {"row-same": "restated_name", "row-plural": "restated_name",
                                               "row-more": None, "row-ok": None, "row-noname": None}
