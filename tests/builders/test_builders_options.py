"""A source's options are declared once (its ``Options``): a new field reaches the CLI, ``--help``,
``build()`` and the manifest's ``params`` with no other edit."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from codequarry import builders
from codequarry.builders import files
from codequarry.cli import main
from codequarry.options import option
from codequarry.pairs_layout import MANIFEST_NAME


@dataclass(frozen=True)
class _Extended(files.Options):
    shiny: int = option(3, minimum=1, help="a brand-new knob")


def test_a_new_options_field_reaches_flags_help_build_and_manifest(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(files, "Options", _Extended)
    with pytest.raises(SystemExit) as exc:
        main(["build", "files", "--help"])
    assert exc.value.code == 0
    assert "--shiny N" in capsys.readouterr().out
    src = tmp_path / "x.jsonl"
    src.write_text('{"query": "q", "code": "c"}\n')
    argv = ["build", "files", "--path", str(src), "--language", "python", "--shiny", "9", "--out", str(tmp_path / "o")]
    assert main(argv) == 0
    recorded = json.loads((tmp_path / "o" / MANIFEST_NAME).read_text())["params"]
    assert recorded["shiny"] == 9
    with pytest.raises(SystemExit) as exc:  # its bound is checked too
        main([*argv[:-3], "0", "--out", str(tmp_path / "o0")])
    assert exc.value.code == 2
    assert "--shiny: expected a positive integer" in capsys.readouterr().err
    manifest = builders.build("files", tmp_path / "o2", path=src, mapping={"language": "python"})
    assert manifest["params"]["shiny"] == 3  # the declared default, written nowhere else


def test_manifest_params_are_the_resolved_options(tmp_path):
    src = tmp_path / "train.jsonl"
    src.write_text('{"query": "q", "code": "c"}\n')
    m = builders.build("files", tmp_path / "o", path=[src], fmt="jsonl", mapping={"language": "python"})
    assert m["params"] == {"path": [str(src)], "format": "jsonl", "split": None, "source_name": "files",
                           "license": None, "mapping": {**files.ColumnMap().to_dict(), "language": "python"}}
    assert list(m["params"]) == ["path", "format", "split", "source_name", "license", "mapping"]
