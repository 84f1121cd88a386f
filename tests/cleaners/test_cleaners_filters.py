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


# --------------------------------------------------------------------------------------------
# RowFilter: one method per filter; parameter-named columns must exist; regexes checked up front


ROW_FILTERS = ("not_null", "parse_check", "query_length", "code_length", "test_functions", "blacklist",
               "restated_name", "docstring_markup", "param_only_docstring", "autogenerated", "english_only")


def test_every_row_filter_is_one_reason_method() -> None:
    from codequarry.cleaners.row_filter import RowFilter

    for name in ROW_FILTERS:
        cls = step_class(name)
        assert issubclass(cls, RowFilter), name
        assert cls.kind == "filter"
        assert "process" not in vars(cls), f"{name} repeats the keep/reasons loop instead of defining reason()"
        assert "reason" in vars(cls), name


def test_a_new_row_filter_is_one_method(h: Any) -> None:
    from codequarry.cleaners.row_filter import RowFilter

    class NoTodo(RowFilter):
        name = "no_todo"
        description = "exclude code containing TODO"
        reads = ("code", "func_name")

        def reason(self, row):  # noqa: ANN001, ANN202
            if "TODO" in (row["code"] or ""):
                return "todo_in_code", f"in {row['func_name']}"
            return "no_name" if row["func_name"] is None else None

    out = NoTodo().process(h.batch([h.row(1), h.row(2, code="x = 1  # TODO"), h.row(3, func_name=None)]))
    assert out.kept["id"].to_pylist() == ["row-1"]
    assert out.reasons == ("todo_in_code", "no_name") and out.details == ("in add_numbers", None)


@pytest.mark.parametrize(("name", "params"), [
    ("not_null", {"columns": ["query", "docstring"]}),
    ("docstring_markup", {"fields": ["qurey"]}),
    ("autogenerated", {"fields": ["code", "cdoe"]}),
    ("param_only_docstring", {"field": "docstring"}),
    ("english_only", {"column": "summary"}),
])
def test_a_column_that_does_not_exist_is_a_clear_error(h: Any, name: str, params: dict[str, Any]) -> None:
    from codequarry.errors import CodequarryError

    step = step_class(name).from_config(params)
    with pytest.raises(CodequarryError, match=rf"step {name!r}: column\(s\) .* do not exist in the input"):
        step.process(h.batch([h.row(1), h.row(2)]))


def test_not_null_on_a_missing_column_fails_the_clean_with_exit_2(h: Any, tmp_path: Any,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from codequarry.cli import main
    from codequarry.pairs import dump_yaml

    pairs = h.write_pairs(tmp_path / "in", {"train": [h.row(i, id=f"r{i}") for i in range(4)]})
    recipe = tmp_path / "r.yaml"
    recipe.write_text(dump_yaml({"name": "typo", "steps": [{"step": "not_null", "params": {"columns": ["qurey"]}}]}))
    assert main(["clean", str(pairs.path), "--out", str(tmp_path / "out"), "--recipe", str(recipe)]) == 2
    err = capsys.readouterr().err.strip()
    assert "'qurey'" in err and "do not exist" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "out" / "codequarry.json").exists()


@pytest.mark.parametrize(("name", "param"), [("autogenerated", "markers"), ("docstring_markup", "patterns")])
def test_an_invalid_regex_names_the_step_and_parameter(name: str, param: str, tmp_path: Any,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from codequarry.cleaners.recipe import load_recipe
    from codequarry.errors import CodequarryError

    recipe = {"name": "bad-regex", "steps": [{"step": name, "params": {param: ["ok", "(unclosed"]}}]}
    with pytest.raises(CodequarryError, match=rf"step {name!r}: parameter {param!r}: '\(unclosed' is not a valid"):
        load_recipe(recipe).build()


def test_batch_rows_zero_is_refused(h: Any, tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from codequarry.cli import main

    pairs = h.write_pairs(tmp_path / "in", {"train": [h.row(1)]})
    for bad in ("0", "-3"):
        assert main(["clean", str(pairs.path), "--out", str(tmp_path / "out"), "--batch-rows", bad]) == 2
        assert "--batch-rows must be a positive integer" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
