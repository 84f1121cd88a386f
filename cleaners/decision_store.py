"""A global step's decision saved as data (tagged JSON), never as pickle.

An unfinished clean keeps each resolved decision in its work dir so a rerun can resume. Anyone
who can write into that folder can edit the file, so loading it must not be able to run code:
the file is JSON, and decoding builds only plain values (None, bool, int, float, str, list,
tuple, dict, set, frozenset, bytes) and dataclasses *defined in the step's own module* (looked up
by name among that module's dataclasses, built through their constructor). A file that is not
valid, or names anything else, is a clear error telling the user to start over with --overwrite.

Encoding (``$``-tagged objects; a plain JSON object is a dict whose keys are strings not starting
with ``$``)::

    {"$t": [...]}                tuple          {"$s": [...]} / {"$fs": [...]}   set / frozenset
    {"$d": [[k, v], ...]}        other dict     {"$b": "<base64>"}               bytes
    {"$f": "nan"|"inf"|"-inf"}   float          {"$dc": "Name", "f": {...}}      the step's dataclass
    {"$map": i}                  a large dict saved with ``compact`` as the Arrow file ``map_path(path, i)``
                                 (``decision_map``; only a number, so the file can name nothing else)
"""

from __future__ import annotations

import base64
import dataclasses
import json
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from codequarry.cleaners import decision_map
from codequarry.errors import CodequarryError

FORMAT = "codequarry-decision/1"
_PLAIN = (str, int, bool, type(None))
_MAKERS = {"$t": tuple, "$s": set, "$fs": frozenset}
_MAX_MAPS = 64  # Arrow files one decision may refer to


def encode(value: Any, maps: list[Any] | None = None) -> Any:
    """``value`` as JSON-ready data (see the module docstring); raises TypeError for anything else.

    With ``maps`` (a list), a large regular dict at the top or in a dataclass field is appended to it and
    encoded as ``{"$map": index}``: ``save`` writes it as an Arrow file (``decision_map``) beside the JSON.
    """
    if maps is not None and decision_map.encodable(value):
        maps.append(value)
        return {"$map": len(maps) - 1}
    t = type(value)
    if t in _PLAIN:
        return value
    if t is dict:
        if all(type(k) is str and not k.startswith("$") for k in value):
            return {k: _item(v) for k, v in value.items()}
        return {"$d": [[encode(k), encode(v)] for k, v in value.items()]}
    if t is tuple:
        return {"$t": [_item(v) for v in value]}
    if t is list:
        return [_item(v) for v in value]
    if t is frozenset or t is set:
        return {"$fs" if t is frozenset else "$s": [_item(v) for v in value]}
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else {"$f": repr(float(value))}
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, str):
        return str(value)
    if type(value).__module__ == "numpy" and hasattr(value, "item"):  # numpy scalars: their Python value
        return encode(value.item())
    if isinstance(value, (bytes, bytearray)):
        return {"$b": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, (dict, list, tuple, set, frozenset)):  # subclasses: as their base type
        base = next(b for b in (dict, list, tuple, frozenset, set) if isinstance(value, b))
        return encode(base(value))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: encode(getattr(value, f.name), maps) for f in dataclasses.fields(value) if f.init}
        return {"$dc": type(value).__name__, "f": fields}
    raise TypeError(f"a decision may hold only plain data and dataclasses, not {type(value).__name__}")


def _item(v: Any) -> Any:
    """``encode`` with a fast path for the common members of big decisions: plain values and flat tuples."""
    tv = type(v)
    if tv in _PLAIN:
        return v
    if tv is tuple and all(type(x) in _PLAIN for x in v):
        return {"$t": list(v)}
    return encode(v)


def decoder(dataclasses_allowed: dict[str, type], map_at: Callable[[int], Any] | None = None) -> Any:
    """The ``object_hook`` that turns tagged JSON objects back into values (ValueError for anything else).

    A decision is loaded by every worker and can hold an entry per row whose values repeat (every
    dropped copy maps to the id it is a copy of; every member of a cluster to the same (kept id,
    size) tuple). The JSON parser makes a new object for each occurrence, so the hook hands back
    one shared object per distinct string value of a plain dict and per distinct flat tuple: equal
    values, far less memory (dict keys the parser already shares).
    """
    strings: dict[str, str] = {}
    tuples: dict[tuple[Any, ...], tuple[Any, ...]] = {}

    def shared_tuple(items: list[Any]) -> tuple[Any, ...]:
        value = tuple(items)
        if not all(type(x) in _PLAIN for x in value):
            return value
        key = (tuple(type(x) for x in value), value)  # the types too: (1,) and (True,) are equal but not alike
        return tuples.setdefault(key, value)

    def hook(obj: dict[str, Any]) -> Any:
        tag = next((k for k in obj if k.startswith("$")), None) if obj else None
        if tag is None:
            for k, v in obj.items():
                if type(v) is str:
                    obj[k] = strings.setdefault(v, v)
            return obj
        body = obj[tag]
        if tag == "$dc":
            cls = dataclasses_allowed.get(body) if isinstance(body, str) else None
            fields = obj.get("f")
            if cls is None or not isinstance(fields, dict) or len(obj) != 2:
                raise ValueError(f"unknown decision class {body!r}")
            return cls(**fields)
        if len(obj) != 1:
            raise ValueError(f"tagged value {tag!r} has extra keys")
        if tag == "$t" and isinstance(body, list):
            return shared_tuple(body)
        maker = _MAKERS.get(tag)
        if maker is not None and isinstance(body, list):
            return maker(body)
        if tag == "$d" and isinstance(body, list):
            if not all(isinstance(item, list) and len(item) == 2 for item in body):
                raise ValueError("a dict entry must be a [key, value] pair")
            return {k: v for k, v in body}
        if tag == "$map" and map_at is not None and type(body) is int and 0 <= body < _MAX_MAPS:
            return map_at(body)
        if tag == "$f" and body in ("nan", "inf", "-inf"):
            return float(body)
        if tag == "$b" and isinstance(body, str):
            return base64.b64decode(body.encode("ascii"), validate=True)
        raise ValueError(f"unknown tag {tag!r}")

    return hook


def step_dataclasses(step: Any) -> dict[str, type]:
    """The dataclasses a step's decision may contain: those defined in the step's own module."""
    module = sys.modules.get(type(step).__module__)
    if module is None:
        return {}
    return {name: obj for name, obj in vars(module).items()
            if isinstance(obj, type) and dataclasses.is_dataclass(obj) and obj.__module__ == module.__name__}


def map_path(path: Path, index: int) -> Path:
    """Where ``save(compact=True)`` puts the decision file's ``index``-th large dict (beside it, by number only)."""
    return path.with_name(f"{path.name}.m{index}.arrow")


def save(path: Path, step: Any, decision: Any, *, compact: bool = False) -> None:
    """Write ``decision`` atomically (temporary name, then rename).

    ``compact``: large regular dicts (at the top or in a dataclass field, see ``decision_map``) go into
    Arrow files beside the JSON, written first, and load back as read-only ``ArrowMap``s that workers
    memory-map, instead of a Python object per row in every worker.
    """
    maps: list[Any] | None = [] if compact else None
    try:
        payload = {"format": FORMAT, "step": step.name, "decision": encode(decision, maps)}
    except (TypeError, RecursionError) as exc:
        raise RuntimeError(f"step {step.name!r} returned a decision that cannot be saved: {exc}") from exc
    for i, value in enumerate(maps or []):
        decision_map.write(map_path(path, i), value)
    tmp = path.with_name(f"{path.name}.tmp.{os.getpid()}")
    tmp.write_text(json.dumps(payload, ensure_ascii=False, allow_nan=False, separators=(",", ":")), encoding="utf-8")
    os.replace(tmp, path)


def save_union(path: Path, step: Any, parts: list[Any]) -> None:
    """Save the union of disjoint dict decisions (``load``'s dicts or ``ArrowMap``s) as ``save(path, step, union,
    compact=True)`` would: a large union goes straight into one map file, column by column (``decision_map.
    write_union``), so a merging worker never holds a Python object per entry; a small or irregular one is merged
    as a dict."""
    total = sum(len(p) for p in parts)
    if total >= decision_map.MIN_ROWS and decision_map.write_union(map_path(path, 0), parts):
        payload = {"format": FORMAT, "step": step.name, "decision": {"$map": 0}}
        tmp = path.with_name(f"{path.name}.tmp.{os.getpid()}")
        tmp.write_text(json.dumps(payload, separators=(",", ":")), encoding="utf-8")
        os.replace(tmp, path)
        return
    union: dict[Any, Any] = {}
    for part in parts:
        if union.keys() & part.keys():
            raise RuntimeError(f"{path}: the parts' decisions of {step.name} share a key (they must be disjoint)")
        union.update(part.items())
    save(path, step, union, compact=True)


def load(path: Path, step: Any) -> Any:
    """Read a decision ``save`` wrote for ``step``; a clear error for anything else."""
    try:
        hook = decoder(step_dataclasses(step), lambda i: decision_map.read(map_path(path, i)))
        payload = json.loads(path.read_text(encoding="utf-8"), object_hook=hook, parse_constant=_refuse_constant)
        if not isinstance(payload, dict) or payload.get("format") != FORMAT or payload.get("step") != step.name \
                or "decision" not in payload:
            raise ValueError(f"not a {FORMAT} file for step {step.name!r}")
        return payload["decision"]
    except (OSError, UnicodeDecodeError, ValueError, TypeError, RecursionError) as exc:
        raise CodequarryError(
            f"{path}: the saved decision of step {step.name!r} is damaged or was not written by this codequarry "
            f"({exc}); pass --overwrite to start the clean over") from None


def _refuse_constant(token: str) -> Any:
    raise ValueError(f"non-standard JSON constant {token}")
