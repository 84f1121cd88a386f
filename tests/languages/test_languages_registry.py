"""The language registry: names, extensions, lazy grammars, and one check per registered language."""

from __future__ import annotations

import dataclasses
import importlib
import pickle
import subprocess
import sys

import pytest

from codequarry.errors import CodequarryError
from codequarry.languages import (
    LANGUAGES,
    count_nodes,
    error_count,
    extract_file,
    get_language,
    identifiers,
    language_for_path,
    normalize_code,
    parse,
    strip_comments,
    tokenize_code,
)
from codequarry.languages.obfuscation import Rules, rules_for
from codequarry.languages.spec import _alias_table, dataset_language_aliases
from codequarry.registry import Registry

# One documented function per language, its expected func_name and summary, and a string literal
# that must come out as a single code token.
SAMPLES = {
    "python": ('class Box:\n    def area(self, w):\n        """Area of the box.\n\n        More."""\n'
               '        return w * "x y"  # note\n', "Box.area", "Area of the box.", '"x y"'),
    "java": ('public class Box {\n    /**\n     * Area of the box.\n     * @param w width\n     */\n'
             '    public int area(int w) {\n        return w + "x y".length();\n    }\n}\n', "Box.area",
             "Area of the box.", '"x y"'),
    "go": ('package box\n\n// Area of the box.\nfunc Area(w int) string {\n\treturn "x y"\n}\n', "Area",
           "Area of the box.", '"x y"'),
    "javascript": ('/** Area of the box. */\nfunction area(w) {\n  return w + "x y";\n}\n', "area",
                   "Area of the box.", '"x y"'),
    "php": ('<?php\nclass Box {\n    /**\n     * Area of the box.\n     */\n    public function area($w) {\n'
            '        return $w . \'x y\';\n    }\n}\n', "Box.area", "Area of the box.", "'x y'"),
    "ruby": ('module Shapes\n  class Box\n    # Area of the box.\n    def area(w)\n      w.to_s + "x y"\n'
             '    end\n  end\nend\n', "Shapes.Box.area", "Area of the box.", '"x y"'),
    "typescript": ('/** Area of the box. */\nexport function area(w: number): string {\n  return w + "x y";\n}\n',
                   "area", "Area of the box.", '"x y"'),
    "tsx": ('/** Area of the box. */\nexport function Area(p: Props) {\n  return <div title="x y">{p.w}</div>;\n}\n',
            "Area", "Area of the box.", '"x y"'),
    "rust": ('/// Area of the box.\npub fn area(w: u32) -> String {\n    format!("{}", w) + "x y"\n}\n', "area",
             "Area of the box.", '"x y"'),
    "c": ('/* Area of the box. */\nconst char *area(int w) {\n    return "x y";\n}\n', "area", "Area of the box.",
          '"x y"'),
    "cpp": ('class Box {\n public:\n  /// Area of the box.\n  std::string area(int w) {\n    return "x y";\n  }\n};\n',
            "Box.area", "Area of the box.", '"x y"'),
    "c_sharp": ('namespace Shapes {\n  public class Box {\n    /// <summary>Area of the box.</summary>\n'
                '    public string Area(int w) {\n      return "x y";\n    }\n  }\n}\n', "Box.Area", "Area of the box.",
                '"x y"'),
    "kotlin": ('class Box {\n    /** Area of the box. */\n    fun area(w: Int): String {\n'
               '        return w.toString() + "x y"\n    }\n}\n', "Box.area", "Area of the box.", '"x y"'),
    "sql": ("-- Area of the box.\nCREATE FUNCTION area(w integer) RETURNS text AS $$\n  SELECT 'x y' || w;\n"
            "$$ LANGUAGE SQL;\n", "area", "Area of the box.", "'x y'"),
}


def test_registry_lists_the_required_languages():
    assert set(LANGUAGES.names()) >= {"python", "java", "go", "javascript", "php", "ruby", "typescript", "rust", "c",
                                      "cpp", "c_sharp"}
    assert set(SAMPLES) == set(LANGUAGES.names()), "every registered language needs a sample in this test"


def test_unknown_language_suggests_a_name():
    with pytest.raises(CodequarryError, match="did you mean 'python'|Did you mean 'python'"):
        get_language("pyhton")
    assert get_language("C#").name == "c_sharp" and get_language("js").name == "javascript"


@pytest.mark.parametrize("path,expected", [
    ("a/b.py", "python"), ("X.java", "java"), ("m.go", "go"), ("a.js", "javascript"), ("a.jsx", "javascript"),
    ("a.mjs", "javascript"), ("a.cjs", "javascript"), ("i.php", "php"), ("r.rb", "ruby"), ("t.ts", "typescript"),
    ("t.tsx", "tsx"), ("l.rs", "rust"), ("x.c", "c"), ("x.h", "c"), ("x.cc", "cpp"), ("x.cpp", "cpp"),
    ("x.cxx", "cpp"), ("x.hpp", "cpp"), ("x.hh", "cpp"), ("P.cs", "c_sharp"), ("A.PY", "python"),
    ("README.md", None), ("Makefile", None), (".py", None), ("archive.tar.gz", None),
])
def test_language_for_path(path, expected):
    assert language_for_path(path) == expected


def test_grammars_load_lazily_and_specs_pickle_by_name():
    code = ("import sys, codequarry.languages as L\n"
            "assert not any(m.startswith('tree_sitter_') for m in sys.modules), sorted(sys.modules)\n"
            "L.parse('x = 1', 'python')\n"
            "loaded = sorted(m for m in sys.modules if m.startswith('tree_sitter_') and '.' not in m)\n"
            "print(loaded)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['tree_sitter_python']"
    spec = get_language("rust")
    assert pickle.loads(pickle.dumps(spec)) is spec


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_language_end_to_end(name):
    code, func_name, summary, literal = SAMPLES[name]
    spec = get_language(name)
    tree = parse(code, name)
    assert tree.root_node.type and error_count(code, name) == 0, tree.root_node
    functions = extract_file(code, name).functions
    assert [f.qualified_name for f in functions] == [func_name]
    f = functions[0]
    assert f.summary == summary and f.language == name
    lines = code.split("\n")
    code_lines = f.code.split("\n")
    # the code is the exact source at its line range: it starts on start_line and ends on end_line
    assert code.encode()[f.start_byte:f.end_byte].decode() == f.code
    assert len(code_lines) == f.end_line - f.start_line + 1
    assert lines[f.start_line - 1].endswith(code_lines[0]) and lines[f.end_line - 1].startswith(code_lines[-1])
    assert literal in f.code_tokens, f.code_tokens  # a string literal is one token
    assert "".join(f.code_tokens).replace(" ", "") == "".join(f.code.split()).replace(" ", "").replace(
        "".join(f.raw_docstring.split()) if name == "python" else "\0", "")
    toks = tokenize_code(code, name)
    assert literal in toks and len(toks) > 5
    ids = identifiers(code, name)
    assert ids and not set(ids) & spec.keywords and all(i[0].isalpha() or i[0] == "_" for i in ids)
    assert count_nodes(code, name) > 5
    assert normalize_code(code + "\n\n", name) == normalize_code(code, name)
    stripped = strip_comments(code, name)
    assert "Area of the box" not in stripped or name == "python"
    assert error_count(stripped, name) == 0


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_broken_code_counts_errors_without_crashing(name):
    code = SAMPLES[name][0]
    broken = code[: len(code) // 2] + " ) ( } { ] [ "
    assert error_count(broken, name) >= 1
    extract_file(broken, name)  # whatever it finds, it must not raise


@pytest.mark.parametrize("name", LANGUAGES.names())
def test_every_registered_module_and_grammar_loads(name):
    """The registry contract: a registered language whose module or grammar wheel is missing fails here
    (an ImportError or CodequarryError), it is never skipped."""
    spec = get_language(name)
    module = importlib.import_module(spec.extractor)
    assert callable(getattr(module, "find", None)), f"{spec.extractor} has no find()"
    assert spec.language is not None  # imports the grammar wheel
    rules = rules_for(name)
    assert rules is None or (isinstance(rules, Rules) and rules.functions and rules.language == name)
    assert spec.comment_syntax is not None and spec.comment_syntax.line, f"{name} has no comment_syntax"


def test_a_missing_module_or_grammar_is_an_error_not_a_skip():
    spec = get_language("python")
    with pytest.raises(ModuleNotFoundError):
        rules_for(dataclasses.replace(spec, extractor="codequarry.languages.no_such_language"))
    with pytest.raises(CodequarryError, match="grammar is not installed; install it with: pip install tree-sitter-nope"):
        _ = dataclasses.replace(spec, grammar_module="tree_sitter_nope").language


def test_aliases_are_one_table_for_the_cli_and_the_builders():
    from codequarry.builders._text import normalize_language

    assert get_language("C#").name == "c_sharp" and get_language("golang").name == "go"
    assert get_language("KT").name == "kotlin" and get_language("c++").name == "cpp"
    assert dataset_language_aliases()["python3"] == "python"
    assert [normalize_language(x) for x in ("C#", "Python3", "golang", "c-sharp", "SQL", "cobol")] == [
        "c_sharp", "python", "go", "c_sharp", "sql", "cobol"]
    clash = Registry("language")
    clash.register("a", dataclasses.replace(get_language("go"), name="a", aliases=("x",)))
    clash.register("b", dataclasses.replace(get_language("go"), name="b", aliases=("x",)))
    with pytest.raises(CodequarryError, match="alias 'x' of b is already an alias of a"):
        _alias_table(clash)
    shadow = Registry("language")
    shadow.register("go", dataclasses.replace(get_language("go"), aliases=("go",)))
    with pytest.raises(CodequarryError, match="alias 'go' of go is already a language"):
        _alias_table(shadow)


def test_python_only_rules_are_facts_of_the_python_entry():
    """The dunder rule and docstring statements are declared in languages.yaml, not tested by name in code."""
    import re

    py = get_language("python")
    assert py.docstring_statements and re.match(py.special_methods, "__str__") and not re.match(py.special_methods, "_x")
    others = [spec for name, spec in LANGUAGES.items() if name != "python"]
    assert others and not any(s.docstring_statements or s.special_methods for s in others)
    # strip_comments reads the spec's field: the same spec without it keeps its docstrings
    assert strip_comments('def f():\n    """Doc."""\n    return 1\n', py, keep_docstring=False) == "def f():\n    return 1\n"
    plain = dataclasses.replace(py, docstring_statements=False)
    assert '"""Doc."""' in strip_comments('def f():\n    """Doc."""\n    return 1\n', plain, keep_docstring=False)
