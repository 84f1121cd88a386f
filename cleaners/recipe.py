"""Recipes: YAML lists of steps with parameters, validated up front; presets live in ``presets/*.yaml``.

```yaml
name: my-recipe
description: what this recipe is for
steps:
  - step: parse_check
  - step: query_length
    params: {min_tokens: 3, max_tokens: 256}
```

A recipe is checked before any data is read: unknown steps (with a did-you-mean), unknown
parameters, wrong types and repeated steps are errors that name the file and the step. The
*resolved* recipe (every parameter of every step, defaults filled in) is what goes into the
manifest, the report and the dataset card.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codequarry.errors import CodequarryError

PRESETS_DIR = Path(__file__).resolve().parent / "presets"
DEFAULT_PRESET = "default"
_TOP_KEYS = ("name", "description", "steps")
_STEP_KEYS = ("step", "params")


@dataclass(frozen=True)
class RecipeStep:
    """One step of a recipe with its full parameters (defaults filled in)."""

    step: str
    kind: str
    params: dict[str, Any]


@dataclass(frozen=True)
class Recipe:
    """A validated recipe: name, description, steps in order, and where it came from."""

    name: str
    description: str
    steps: tuple[RecipeStep, ...]
    origin: str = "<dict>"

    def resolved(self) -> dict[str, Any]:
        """Every step with every parameter: what the manifest, report and card record."""
        return {"name": self.name, "description": self.description,
                "steps": [{"step": s.step, "kind": s.kind, "params": s.params} for s in self.steps]}

    def build(self) -> list:
        """Fresh Step instances, in order."""
        from codequarry.cleaners.registry import step_class

        return [step_class(s.step).from_config(s.params) for s in self.steps]

    def signature(self) -> str:
        """A hash of the resolved recipe (resumable runs refuse to mix recipes)."""
        data = json.dumps(self.resolved(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(data.encode("utf-8")).hexdigest()

    def to_yaml(self) -> str:
        """The resolved recipe as YAML, loadable again with ``load_recipe``."""
        from codequarry.pairs import dump_yaml

        data = {"name": self.name, "description": self.description,
                "steps": [{"step": s.step, "params": s.params} for s in self.steps]}
        return dump_yaml(data)


def list_presets() -> list[tuple[str, str]]:
    """Every preset shipped with codequarry: (name, description)."""
    import yaml

    out = []
    for path in sorted(PRESETS_DIR.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        out.append((path.stem, " ".join(str(data.get("description", "")).split())))
    return out


def preset_path(name: str) -> Path:
    """The YAML file of preset ``name`` (unknown names get a did-you-mean error)."""
    names = [n for n, _ in list_presets()]
    if name not in names:
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise CodequarryError(f"unknown preset {name!r}.{hint} Known presets: {', '.join(names)}.")
    return PRESETS_DIR / f"{name}.yaml"


def load_recipe(recipe: Recipe | Mapping[str, Any] | str | os.PathLike[str] | None = None,
                preset: str | None = None) -> Recipe:
    """A validated recipe from a Recipe, a dict, a YAML file, or a preset name (default: ``default``)."""
    if recipe is not None and preset is not None:
        raise CodequarryError("give either a recipe or a preset, not both")
    if isinstance(recipe, Recipe):
        return recipe
    if recipe is None:
        path = preset_path(preset or DEFAULT_PRESET)
        return parse_recipe(_read_yaml(path), origin=f"preset {path.stem!r}", default_name=path.stem)
    if isinstance(recipe, Mapping):
        return parse_recipe(recipe, origin="<recipe dict>")
    path = Path(recipe)
    if not path.is_file():
        hint = ""
        if path.suffix == "" and any(n == str(recipe) for n, _ in list_presets()):
            hint = f" ({recipe!r} is a preset: use --preset {recipe})"
        raise CodequarryError(f"recipe file {path} not found{hint}")
    return parse_recipe(_read_yaml(path), origin=str(path), default_name=path.stem)


def _read_yaml(path: Path) -> Any:
    import yaml

    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise CodequarryError(f"{path} is not valid YAML: {exc}") from exc


def _unknown_keys(keys: list[str], allowed: tuple[str, ...], where: str) -> None:
    unknown = [k for k in keys if k not in allowed]
    if unknown:
        k = unknown[0]
        close = difflib.get_close_matches(str(k), allowed, n=1, cutoff=0.5)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise CodequarryError(f"{where}: unknown key {k!r}{hint}; allowed keys: {', '.join(allowed)}")


def parse_recipe(data: Any, *, origin: str, default_name: str = "recipe") -> Recipe:
    """Validate recipe data (as loaded from YAML) and resolve every step's parameters."""
    from codequarry.cleaners.registry import step_class

    if not isinstance(data, Mapping):
        raise CodequarryError(f"{origin}: a recipe is a mapping with keys name, description, steps; got {type(data).__name__}")
    _unknown_keys(list(data), _TOP_KEYS, origin)
    name = data.get("name", default_name)
    description = data.get("description", "") or ""
    if not isinstance(name, str) or not name:
        raise CodequarryError(f"{origin}: 'name' must be a non-empty string")
    if not isinstance(description, str):
        raise CodequarryError(f"{origin}: 'description' must be a string")
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise CodequarryError(f"{origin}: 'steps' must be a non-empty list of {{step: NAME, params: {{...}}}}")
    steps: list[RecipeStep] = []
    seen: dict[str, int] = {}
    for i, entry in enumerate(raw_steps):
        where = f"{origin}: steps[{i}]"
        if isinstance(entry, str):
            entry = {"step": entry}
        if not isinstance(entry, Mapping):
            raise CodequarryError(f"{where}: expected {{step: NAME, params: {{...}}}}, got {entry!r:.60}")
        _unknown_keys(list(entry), _STEP_KEYS, where)
        step_name = entry.get("step")
        if not isinstance(step_name, str):
            raise CodequarryError(f"{where}: 'step' must be a step name (see `codequarry clean --list-steps`)")
        params = entry.get("params") or {}
        if not isinstance(params, Mapping):
            raise CodequarryError(f"{where} ({step_name}): 'params' must be a mapping, got {type(params).__name__}")
        odd = [k for k in params if not isinstance(k, str)]
        if odd:
            raise CodequarryError(f"{where} ({step_name}): parameter names must be strings, got {odd[0]!r} "
                                  "(YAML reads bare on/off/yes/no as booleans: quote them)")
        if step_name in seen:
            raise CodequarryError(f"{where}: step {step_name!r} already appears at steps[{seen[step_name]}]; "
                                  "a recipe runs each step once")
        seen[step_name] = i
        try:
            cls = step_class(step_name)
            step = cls.from_config(dict(params))
        except CodequarryError as exc:
            raise CodequarryError(f"{where}: {exc}") from None
        steps.append(RecipeStep(step=step_name, kind=cls.kind, params=step.param_dict()))
    return Recipe(name=name, description=" ".join(description.split()), steps=tuple(steps), origin=origin)
