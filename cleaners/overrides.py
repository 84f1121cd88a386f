"""``clean --set STEP.PARAM=VALUE``: change one parameter of a preset or recipe without writing a recipe.

A value is read as YAML (``0.8`` a number, ``true`` a boolean, ``[a, b]`` a list, ``{train: 0.9, test:
0.1}`` a mapping, ``null`` None; anything else a string) and checked against the parameter's declared
type in the step's ``Params``; a string parameter takes the text as written (``--set x.name=1`` is the
string ``"1"``). Overrides apply to the recipe *as written*, before its derived values are filled in, so
``--set near_dedup.threshold=0.8`` also re-derives the bands and rows from the new threshold. The
recipe then goes through the same validation as any recipe. An unknown step or parameter is a clear
error that lists the valid ones.
"""

from __future__ import annotations

import copy
import difflib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codequarry.errors import CodequarryError


@dataclass(frozen=True)
class Override:
    """One ``STEP.PARAM=VALUE`` as given (``text``), split and with its YAML value."""

    step: str
    param: str
    value: Any
    raw: str
    text: str


def parse_override(text: str) -> Override:
    """``STEP.PARAM=VALUE`` → an Override (VALUE read as YAML); a malformed item is a clear error."""
    import yaml

    target, sep, raw = text.partition("=")
    step, dot, param = target.strip().partition(".")
    if not sep or not dot or not step or not param:
        raise CodequarryError(f"--set {text!r}: expected STEP.PARAM=VALUE, e.g. --set near_dedup.threshold=0.8")
    try:
        value = yaml.safe_load(raw) if raw.strip() else raw
    except yaml.YAMLError:
        value = raw
    return Override(step=step, param=param.strip(), value=value, raw=raw, text=text)


def _hint(step: str, param: str, where: str) -> Any:
    """The declared type of a step's parameter; an unknown step or parameter lists the valid ones."""
    from codequarry import options
    from codequarry.cleaners.registry import step_class

    cls = step_class(step)
    hints = options.param_hints(cls.Params)
    names = [s.name for s in options.specs(cls.Params)]
    if param not in names:
        close = difflib.get_close_matches(param, names, n=1, cutoff=0.5)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise CodequarryError(f"{where}: step {step!r} has no parameter {param!r}{hint}; its parameters are "
                              f"{', '.join(names) or 'none'}")
    return hints.get(param, Any)


def _typed(o: Override, hint: Any, where: str) -> Any:
    """The override's value checked against the parameter's type (the text as written when a string fits)."""
    from codequarry import options

    try:
        return options.check_param(o.value, hint, where)
    except CodequarryError:
        if isinstance(o.value, str):
            raise
    return options.check_param(o.raw, hint, where)  # e.g. a string parameter given "1" or "true"


def apply_overrides(data: Mapping[str, Any], overrides: Sequence[str | Override], origin: str) -> dict[str, Any]:
    """A copy of recipe data (as loaded from YAML) with every override set in its step's ``params``."""
    if not isinstance(data, Mapping) or not isinstance(data.get("steps"), list):
        raise CodequarryError(f"{origin}: not a recipe (a mapping with a list of steps); --set needs one")
    out = copy.deepcopy(dict(data))
    steps = out["steps"]
    names = [s if isinstance(s, str) else s.get("step") if isinstance(s, Mapping) else None for s in steps]
    for item in overrides:
        o = item if isinstance(item, Override) else parse_override(item)
        where = f"--set {o.text}"
        if o.step not in names:
            from codequarry.cleaners.registry import step_class

            try:
                step_class(o.step)  # an unregistered step: the registry's error names the known steps
            except CodequarryError as exc:
                raise CodequarryError(f"{where}: {exc}") from None
            listed = ", ".join(str(n) for n in names)
            raise CodequarryError(f"{where}: {origin} has no step {o.step!r}; its steps are {listed} "
                                  "(to add a step, write a recipe: codequarry clean --show-recipe > my.yaml)")
        value = _typed(o, _hint(o.step, o.param, where), where)
        i = names.index(o.step)
        entry = steps[i]
        entry = {"step": entry} if isinstance(entry, str) else dict(entry)
        params = dict(entry.get("params") or {})
        params[o.param] = list(value) if isinstance(value, tuple) else value
        entry["params"] = params
        steps[i] = entry
    return out


def recipe_with_overrides(recipe: str | os.PathLike[str] | Mapping[str, Any] | None, preset: str | None,
                          overrides: Sequence[str]) -> tuple[dict[str, Any], str]:
    """(recipe data with the overrides applied, where it came from) for a recipe file or dict, or a preset."""
    import yaml

    from codequarry.cleaners.recipe import DEFAULT_PRESET, preset_path

    if recipe is not None and preset is not None:
        raise CodequarryError("give either a recipe or a preset, not both")
    if isinstance(recipe, Mapping):
        data, origin, name = recipe, "<recipe dict>", "recipe"
    else:
        path = preset_path(preset or DEFAULT_PRESET) if recipe is None else Path(recipe)
        if not path.is_file():
            raise CodequarryError(f"recipe file {path} not found")
        origin = f"preset {path.stem!r}" if recipe is None else str(path)
        name = path.stem
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise CodequarryError(f"{path} is not valid YAML: {exc}") from exc
    out = apply_overrides(data, overrides, origin)
    out.setdefault("name", name)
    return out, origin
