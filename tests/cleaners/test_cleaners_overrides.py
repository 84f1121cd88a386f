"""``clean --set STEP.PARAM=VALUE``: typed, validated overrides of a preset's or recipe's parameters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from codequarry.cleaners.overrides import apply_overrides, parse_override, recipe_with_overrides
from codequarry.cleaners.recipe import load_recipe
from codequarry.cli import main
from codequarry.errors import CodequarryError


def _params(recipe: Any, step: str) -> dict[str, Any]:
    return next(s.params for s in load_recipe(recipe).steps if s.step == step)


def test_values_are_typed_and_derived_parameters_follow():
    data, origin = recipe_with_overrides(None, None, ["near_dedup.threshold=0.8", "split.mode=file",
                                                      "split.ratios={train: 0.9, test: 0.1}", "leakage.verify=false",
                                                      "near_dedup.canonical_threshold=0.75"])
    assert origin == "preset 'default'"
    near = _params(data, "near_dedup")
    default = _params(None, "near_dedup")
    assert near["threshold"] == 0.8 and default["threshold"] == 0.7
    assert (near["bands"], near["rows"]) != (default["bands"], default["rows"])  # re-derived from 0.8
    assert near["canonical_threshold"] == 0.75
    split = _params(data, "split")
    assert split["mode"] == "file" and split["ratios"] == {"train": 0.9, "test": 0.1}
    assert _params(data, "leakage")["verify"] is False
    # every other step keeps the preset's parameters
    base = {s.step: s.params for s in load_recipe(None).steps}
    changed = {s.step for s in load_recipe(data).steps if s.params != base[s.step]}
    assert changed == {"near_dedup", "split", "leakage"}


def test_overrides_apply_to_a_recipe_file_and_keep_it_unchanged(tmp_path: Path):
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump({"name": "mine", "steps": ["not_null", {"step": "split"}]}))
    data, origin = recipe_with_overrides(path, None, ["split.seed=7", "split.seed=8", "split.assign=hash"])
    assert origin == str(path) and data["name"] == "mine"
    assert _params(data, "split")["seed"] == 8 and _params(data, "split")["assign"] == "hash"  # the last one wins
    assert yaml.safe_load(path.read_text())["steps"][1] == {"step": "split"}
    raw = {"steps": [{"step": "near_dedup", "params": {"column": "query"}}]}
    assert apply_overrides(raw, ["near_dedup.column=code"], "x")["steps"][0]["params"] == {"column": "code"}
    assert raw["steps"][0]["params"] == {"column": "query"}  # a copy


@pytest.mark.parametrize(("item", "message"), [
    ("near_dedup.treshold=0.8", "has no parameter 'treshold' (did you mean 'threshold'?); its parameters are"),
    ("near_dedup.threshold=high", "expects float, got 'high'"),
    ("near_dedup.threshold=1.5", "threshold must be between 0 and 1"),
    ("decontaminate.tasks=[x]", "has no step 'decontaminate'; its steps are not_null"),
    ("near_dedupe.threshold=0.8", "unknown step 'near_dedupe'. Did you mean 'near_dedup'"),
    ("split.ratios={train: 0.5}", "ratios must sum to 1"),
    ("near_dedup", "expected STEP.PARAM=VALUE"),
    ("near_dedup.=3", "expected STEP.PARAM=VALUE"),
])
def test_bad_overrides_are_clear_errors(item: str, message: str):
    with pytest.raises(CodequarryError) as info:
        load_recipe(recipe_with_overrides(None, None, [item])[0])
    assert message in str(info.value)


def test_string_parameters_take_the_text_as_written():
    assert parse_override("x.y=1").value == 1 and parse_override("x.y=1").raw == "1"
    data = apply_overrides({"steps": [{"step": "near_dedup"}]}, ["near_dedup.column=1"], "x")
    assert data["steps"][0]["params"]["column"] == "1"


def test_cli_set_shows_and_refuses(capsys: pytest.CaptureFixture[str]):
    assert main(["clean", "--show-recipe", "--preset", "csn", "--set", "split.seed=3"]) == 0
    shown = yaml.safe_load(capsys.readouterr().out)
    assert next(s for s in shown["steps"] if s["step"] == "split")["params"]["seed"] == 3
    assert main(["clean", "--show-recipe", "--set", "split.nope=1"]) == 2
    err = capsys.readouterr().err
    assert "--set split.nope=1: step 'split' has no parameter 'nope'" in err and "mode, ratios, seed" in err
    assert "Traceback" not in err
