"""Every registered source: INFO with license and citation, its CLI options, and `codequarry build SOURCE --help`."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import re

import pytest

from codequarry import options
from codequarry.builders.cli import add_common_arguments
from codequarry.builders.registry import SOURCES
from codequarry.cli import main
from codequarry.errors import CodequarryError
from codequarry.pairs import SourceInfo

#: sources that read whatever the user points them at: license and citation come per build
GENERIC = {"hub", "files", "repos"}


def _module(name: str):
    module = SOURCES.get(name)
    assert importlib.util.find_spec(module) is not None, f"source {name!r} is registered but {module} is missing"
    return importlib.import_module(module)


def _balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


@pytest.mark.parametrize("name", SOURCES.names())
def test_source_contract(name):
    mod = _module(name)
    info = mod.INFO
    assert isinstance(info, SourceInfo) and info.name == name
    assert info.description and (info.homepage or info.url)
    if name not in GENERIC:
        assert info.license and info.url and info.revision
        assert re.match(r"^@\w+\{[\w:-]+,\n", info.citation) and _balanced(info.citation)
        assert re.search(r"\btitle\s*=", info.citation) and re.search(r"\byear\s*=", info.citation)
    # the Options declaration gives a fresh parser its flags and every option is explained
    parser = argparse.ArgumentParser(prog=f"codequarry build {name}")
    options.add_arguments(parser, mod.Options)
    add_common_arguments(parser)
    for action in parser._actions:
        if not isinstance(action, argparse._HelpAction):
            assert action.help, f"{name}: option {action.dest} has no help"
    # ... and build() takes exactly those options as keywords: an unknown one is refused, naming the valid ones
    with pytest.raises(CodequarryError, match=rf"source '{name}' has no option\(s\) \['no_such_option'\]; "
                                              rf"its options are \[.*'{options.specs(mod.Options)[0].name}'"):
        mod.build("unused-out", no_such_option=1)
    assert mod.__doc__ and len(mod.__doc__) > 200  # the format notes users read in --help


@pytest.mark.parametrize("name", SOURCES.names())
def test_build_source_help_exits_zero(name, capsys):
    _module(name)
    with pytest.raises(SystemExit) as exc:
        main(["build", name, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert f"codequarry build {name}" in out and "--out DIR" in out


def test_sources_lists_every_source(capsys):
    assert main(["sources"]) == 0
    out = capsys.readouterr().out
    for name in SOURCES.names():
        assert re.search(rf"^{name}\s", out, re.M), name
    assert "CC-BY-4.0" in out and "C-UDA-1.0" in out


def test_a_missing_source_module_is_reported_not_a_crash(monkeypatch, capsys):
    from codequarry.builders import cli

    monkeypatch.setattr(SOURCES, "_items", {**SOURCES._items, "ghost": "codequarry.builders.no_such_module"})
    assert main(["sources"]) == 0
    assert re.search(r"^ghost .*not available: module codequarry\.builders\.no_such_module", capsys.readouterr().out, re.M)
    rows = {r["name"]: r for r in cli.sources_table()}
    assert rows["ghost"]["license"] == "-"
    code = main(["build", "ghost", "--path", "x", "--out", "y"])
    assert code == 2
    assert "source 'ghost' is not available" in capsys.readouterr().err


def test_library_entry_point(tmp_path):
    from codequarry import builders

    p = tmp_path / "x.jsonl"
    p.write_text('{"query": "q", "code": "c"}\n')
    m = builders.build("files", tmp_path / "o", path=p, mapping={"language": "python"})
    assert m["splits"] == {"python": {"train": 1}}
    assert m["created_by"] == "codequarry.builders.build('files')"
