"""Checking option values against their type annotations (recipes are YAML, the CLI gives strings).

``check_param`` accepts a value that fits the annotation (``int``, ``float``, ``bool``, ``str``, ``Literal``,
unions, ``tuple``/``list`` and ``dict`` of those), turning YAML lists into tuples where a tuple is declared;
``type_label`` names a type for messages and ``--list-steps``. Used through ``codequarry.options``.
"""

from __future__ import annotations

import types
import typing
from typing import Any, Literal, Union

from codequarry.errors import CodequarryError


def param_hints(params_cls: type) -> dict[str, Any]:
    """The resolved type annotations of an options dataclass."""
    try:
        return typing.get_type_hints(params_cls)
    except Exception:  # an annotation that cannot be resolved is simply not checked
        return {}


def type_label(hint: Any) -> str:
    """A short human-readable name for a parameter type (``int``, ``list[str]``, ``'a' | 'b'`` …)."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint is Any:
        return "any"
    if origin is Literal:
        return " | ".join(repr(a) for a in args)
    if origin in (Union, types.UnionType):
        return " | ".join(type_label(a) for a in args)
    if hint is type(None):
        return "null"
    if origin in (tuple, list):
        inner = args[0] if args else Any
        return f"list[{type_label(inner)}]"
    if origin is dict:
        k, v = args if args else (Any, Any)
        return f"map[{type_label(k)}, {type_label(v)}]"
    return getattr(hint, "__name__", str(hint))


def check_param(value: Any, hint: Any, where: str) -> Any:
    """Check one value against its annotation; YAML lists become tuples where a tuple is declared."""
    ok, coerced = _check(value, hint)
    if not ok:
        raise CodequarryError(f"{where} expects {type_label(hint)}, got {value!r:.80} ({type(value).__name__})")
    return coerced


def _check(value: Any, hint: Any) -> tuple[bool, Any]:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint is Any:
        return True, value
    if origin is Literal:
        return value in args and not (isinstance(value, bool) and not any(isinstance(a, bool) for a in args)), value
    if origin in (Union, types.UnionType):
        for a in args:
            ok, coerced = _check(value, a)
            if ok:
                return True, coerced
        return False, value
    if hint is type(None):
        return value is None, value
    if hint is bool:
        return isinstance(value, bool), value
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool), value
    if hint is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return ok, float(value) if ok else value
    if hint is str:
        return isinstance(value, str), value
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            return False, value
        inner = args[0] if args else Any
        out = []
        for v in value:
            ok, c = _check(v, inner)
            if not ok:
                return False, value
            out.append(c)
        return True, tuple(out) if origin is tuple else out
    if origin is dict:
        if not isinstance(value, dict):
            return False, value
        kt, vt = args if args else (Any, Any)
        out_d = {}
        for k, v in value.items():
            ok_k, ck = _check(k, kt)
            ok_v, cv = _check(v, vt)
            if not (ok_k and ok_v):
                return False, value
            out_d[ck] = cv
        return True, out_d
    if isinstance(hint, type):
        return isinstance(value, hint), value
    return True, value


def jsonable(value: Any) -> Any:
    """Tuples → lists, recursively, so parameters print as JSON/YAML."""
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    return value
