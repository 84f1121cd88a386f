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
"""

from __future__ import annotations

import base64
import dataclasses
import json
import math
import os
import sys
from pathlib import Path
from typing import Any

from codequarry.errors import CodequarryError

FORMAT = "codequarry-decision/1"
_MAX_DEPTH = 64


def encode(value: Any, *, _depth: int = 0) -> Any:
    """``value`` as JSON-ready data (see the module docstring); raises TypeError for anything else."""
    if _depth > _MAX_DEPTH:
        raise TypeError("decision nests too deeply to be stored")
    d = _depth + 1
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$f": repr(value)}
    if type(value).__module__ == "numpy" and hasattr(value, "item"):  # numpy scalars: their Python value
        return encode(value.item(), _depth=d)
    if isinstance(value, list):
        return [encode(v, _depth=d) for v in value]
    if isinstance(value, tuple):
        return {"$t": [encode(v, _depth=d) for v in value]}
    if isinstance(value, frozenset):
        return {"$fs": [encode(v, _depth=d) for v in value]}
    if isinstance(value, set):
        return {"$s": [encode(v, _depth=d) for v in value]}
    if isinstance(value, (bytes, bytearray)):
        return {"$b": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith("$") for k in value):
            return {k: encode(v, _depth=d) for k, v in value.items()}
        return {"$d": [[encode(k, _depth=d), encode(v, _depth=d)] for k, v in value.items()]}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: encode(getattr(value, f.name), _depth=d) for f in dataclasses.fields(value) if f.init}
        return {"$dc": type(value).__name__, "f": fields}
    raise TypeError(f"a decision may hold only plain data and dataclasses, not {type(value).__name__}")


def decode(data: Any, dataclasses_allowed: dict[str, type], *, _depth: int = 0) -> Any:
    """The value ``encode`` gave ``data`` for; ValueError on anything it could not have written."""
    if _depth > _MAX_DEPTH:
        raise ValueError("nesting too deep")
    d = _depth + 1
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if isinstance(data, list):
        return [decode(v, dataclasses_allowed, _depth=d) for v in data]
    if not isinstance(data, dict):
        raise ValueError(f"unexpected JSON value of type {type(data).__name__}")
    tag = next((k for k in data if k.startswith("$")), None)
    if tag is None:
        return {k: decode(v, dataclasses_allowed, _depth=d) for k, v in data.items()}
    body = data[tag]
    if tag == "$dc":
        cls = dataclasses_allowed.get(body) if isinstance(body, str) else None
        fields = data.get("f")
        if cls is None or not isinstance(fields, dict) or set(data) != {"$dc", "f"}:
            raise ValueError(f"unknown decision class {body!r}")
        return cls(**{k: decode(v, dataclasses_allowed, _depth=d) for k, v in fields.items()})
    if len(data) != 1:
        raise ValueError(f"tagged value {tag!r} has extra keys")
    if tag == "$f" and body in ("nan", "inf", "-inf"):
        return float(body)
    if tag == "$b" and isinstance(body, str):
        return base64.b64decode(body.encode("ascii"), validate=True)
    if tag == "$d" and isinstance(body, list):
        out = {}
        for item in body:
            if not isinstance(item, list) or len(item) != 2:
                raise ValueError("a dict entry must be a [key, value] pair")
            out[decode(item[0], dataclasses_allowed, _depth=d)] = decode(item[1], dataclasses_allowed, _depth=d)
        return out
    makers = {"$t": tuple, "$s": set, "$fs": frozenset}
    if tag in makers and isinstance(body, list):
        return makers[tag](decode(v, dataclasses_allowed, _depth=d) for v in body)
    raise ValueError(f"unknown tag {tag!r}")


def step_dataclasses(step: Any) -> dict[str, type]:
    """The dataclasses a step's decision may contain: those defined in the step's own module."""
    module = sys.modules.get(type(step).__module__)
    if module is None:
        return {}
    return {name: obj for name, obj in vars(module).items()
            if isinstance(obj, type) and dataclasses.is_dataclass(obj) and obj.__module__ == module.__name__}


def save(path: Path, step: Any, decision: Any) -> None:
    """Write ``decision`` atomically (temporary name, then rename)."""
    try:
        payload = {"format": FORMAT, "step": step.name, "decision": encode(decision)}
    except TypeError as exc:
        raise RuntimeError(f"step {step.name!r} returned a decision that cannot be saved: {exc}") from exc
    tmp = path.with_name(f"{path.name}.tmp.{os.getpid()}")
    tmp.write_text(json.dumps(payload, ensure_ascii=False, allow_nan=False, separators=(",", ":")), encoding="utf-8")
    os.replace(tmp, path)


def load(path: Path, step: Any) -> Any:
    """Read a decision ``save`` wrote for ``step``; a clear error for anything else."""
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(payload, dict) or payload.get("format") != FORMAT or payload.get("step") != step.name:
            raise ValueError(f"not a {FORMAT} file for step {step.name!r}")
        return decode(payload["decision"], step_dataclasses(step))
    except (OSError, UnicodeDecodeError, ValueError, TypeError, KeyError, RecursionError) as exc:
        raise CodequarryError(
            f"{path}: the saved decision of step {step.name!r} is damaged or was not written by this codequarry "
            f"({exc}); pass --overwrite to start the clean over") from None
