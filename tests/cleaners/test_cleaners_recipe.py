"""Recipes and presets: loading, validation messages, resolved parameters, and the `clean` CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from codequarry.cleaners.recipe import list_presets, load_recipe, parse_recipe
from codequarry.cli import main
from codequarry.errors import CodequarryError


@pytest.mark.parametrize("name", ["csn", "codexglue", "default"])
def test_presets_load_with_every_parameter(name: str) -> None:
    recipe = load_recipe(preset=name)
    assert recipe.name == name and recipe.description
    resolved = recipe.resolved()
    assert all(isinstance(s["params"], dict) for s in resolved["steps"])
    again = load_recipe(resolved_to_plain(resolved))
    assert again.resolved() == resolved  # the resolved recipe is itself a valid recipe
    assert {n for n, _ in list_presets()} >= {"csn", "codexglue", "default"}


def resolved_to_plain(resolved: dict[str, Any]) -> dict[str, Any]:
    return {"name": resolved["name"], "description": resolved["description"],
            "steps": [{"step": s["step"], "params": s["params"]} for s in resolved["steps"]]}


def test_csn_preset_is_codesearchnet() -> None:
    steps = {s.step: s.params for s in load_recipe(preset="csn").steps}
    assert steps["query_length"]["min_tokens"] == 3 and steps["query_length"]["max_tokens"] is None
    assert steps["code_length"]["min_lines"] == 3
    nd = steps["near_dedup"]
    assert (nd["method"], nd["set_threshold"], nd["multiset_threshold"], nd["min_tokens"], nd["drop_short"]) == (
        "identifiers", 0.8, 0.7, 10, True)
    sp = steps["split"]
    assert sp == {"mode": "file", "ratios": {"train": 0.6, "valid": 0.15, "test": 0.15, "holdout": 0.1},
                  "seed": None, "assign": "hash", "fallback": True}
    assert "test_functions" in steps and steps["blacklist"]["names"] is True


def test_codexglue_and_default_presets() -> None:
    cg = {s.step: s.params for s in load_recipe(preset="codexglue").steps}
    assert cg["query_length"]["min_tokens"] == 3 and cg["query_length"]["max_tokens"] == 256
    assert {"parse_check", "docstring_markup", "english_only", "strip_comments"} <= set(cg)
    default = [s.step for s in load_recipe(preset="default").steps]
    assert default.index("exact_dedup") < default.index("near_dedup") < default.index("split") < default.index("leakage")
    d = {s.step: s.params for s in load_recipe(preset="default").steps}
    assert (d["near_dedup"]["num_perm"], d["near_dedup"]["ngram"], d["near_dedup"]["threshold"]) == (256, 5, 0.7)
    assert d["split"]["ratios"] == {"train": 0.8, "valid": 0.1, "test": 0.1} and d["split"]["seed"] == 0


@pytest.mark.parametrize(("text", "match"), [
    ("steps:\n  - step: parse_chek\n", r"steps\[0\].*unknown step 'parse_chek'.*Did you mean 'parse_check'"),
    ("steps:\n  - step: query_length\n    params: {min_tokenz: 3}\n", r"steps\[0\].*no parameter.*min_tokenz"),
    ("steps:\n  - step: query_length\n    params: {min_tokens: three}\n", r"min_tokens' expects int \| null"),
    ("steps:\n  - not_null\n  - not_null\n", r"steps\[1\].*already appears at steps\[0\]"),
    ("name: x\nstep: []\n", r"unknown key 'step' \(did you mean 'steps'\?\)"),
    ("steps: not_null\n", r"'steps' must be a non-empty list"),
    ("steps:\n  - step: not_null\n    parms: {}\n", r"unknown key 'parms' \(did you mean 'params'\?\)"),
    ("steps: [\n", r"not valid YAML"),
    ("- just\n- a list\n", r"a recipe is a mapping"),
])
def test_recipe_errors_name_the_file_and_step(text: str, match: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(CodequarryError, match=match) as info:
        load_recipe(path)
    assert "bad.yaml" in str(info.value)


def test_recipe_sources() -> None:
    with pytest.raises(CodequarryError, match="recipe file .* not found.*use --preset csn"):
        load_recipe("csn")
    with pytest.raises(CodequarryError, match="either a recipe or a preset"):
        load_recipe({"steps": ["not_null"]}, preset="csn")
    with pytest.raises(CodequarryError, match="unknown preset 'cns'. Did you mean 'csn'"):
        load_recipe(preset="cns")
    r = parse_recipe({"steps": ["not_null"]}, origin="x", default_name="fallback")
    assert r.name == "fallback" and r.steps[0].params == {"columns": ["query", "code"], "whitespace_is_empty": True}
    assert r.signature() != parse_recipe({"steps": [{"step": "not_null", "params": {"columns": ["code"]}}]},
                                         origin="x").signature()


def test_cli_lists_and_cleans(make_pairs: Any, h: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["clean", "--list-presets"]) == 0
    assert "csn " in capsys.readouterr().out
    assert main(["clean", "--list-steps"]) == 0
    listing = capsys.readouterr().out
    assert "parse_check" in listing and "max_errors: int = 0" in listing
    assert main(["clean", "--show-recipe", "--preset", "csn"]) == 0
    assert "multiset_threshold: 0.7" in capsys.readouterr().out

    pairs = make_pairs({"train": [h.row(1), h.row(2, query=None), h.row(3, func_name="test_x")]})
    recipe = tmp_path / "r.yaml"
    recipe.write_text("name: mini\nsteps:\n  - not_null\n  - test_functions\n")
    out = tmp_path / "out"
    assert main(["clean", str(pairs.path), "--out", str(out), "--recipe", str(recipe)]) == 0
    printed = capsys.readouterr().out
    assert "not_null" in printed and "1 rows kept, 2 excluded" in printed and "report.md" in printed
    assert (out / "report.md").exists() and (out / "exclusions").is_dir()

    assert main(["clean", str(pairs.path), "--out", str(tmp_path / "o2"), "--preset", "nope"]) == 2
    assert "unknown preset 'nope'" in capsys.readouterr().err
    assert main(["clean", str(pairs.path)]) == 2
    assert "--out" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["clean", str(pairs.path), "--out", "x", "--preset", "csn", "--recipe", str(recipe)])
