"""What an option is (``OptionMeta``, ``Spec``, ``specs``) and checking its values against its annotation.

``check_param`` accepts a value that fits the annotation (``int``, ``float``, ``bool``, ``str``, ``Literal``,
unions, ``tuple``/``list`` and ``dict`` of those), turning YAML lists into tuples where a tuple is declared;
``type_label`` names a type for messages and ``--list-steps``. Used through ``codequarry.options``.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from typing import Any, Literal, Union

from codequarry.errors import CodequarryError

OPTION_KEY = "codequarry.option"  # the dataclass field metadata key holding an option's OptionMeta


@dataclass(frozen=True)
class OptionMeta:
    """What a field declares besides its type and default (see ``option``)."""

    help: str = ""
    flag: str | None = None
    metavar: str | None = None
    choices: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    below: float | None = None
    positional: bool = False
    required: bool = False
    repeat: bool = False
    nargs: str | None = None
    const: Any = None
    negate: str | None = None
    group: str | None = None
    cli: bool = True
    show_default: bool = True
    record: bool = True
    param: str | None = None


@dataclass(frozen=True)
class Spec:
    """One option as derived from its field: name, type hint, default (MISSING when required) and metadata."""

    name: str
    hint: Any
    default: Any
    meta: OptionMeta

    @property
    def required(self) -> bool:
        return self.default is dataclasses.MISSING

    @property
    def choices(self) -> tuple[Any, ...] | None:
        if self.meta.choices is not None:
            return self.meta.choices
        inner = strip_optional(self.hint)[0]
        if typing.get_origin(inner) is Literal:
            return typing.get_args(inner)
        return None

    @property
    def flag(self) -> str:
        """The CLI flag that sets this option (for a boolean that defaults to True, the one that turns it off)."""
        if self.default is True and strip_optional(self.hint)[0] is bool:
            return self.meta.negate or "--no-" + self.name.replace("_", "-")
        return self.meta.flag or "--" + self.name.replace("_", "-")


def specs(cls: type) -> list[Spec]:
    """Every option of an options dataclass, in declaration order (fields without ``option`` get empty help)."""
    hints = param_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            default: Any = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = dataclasses.MISSING
        out.append(Spec(f.name, hints.get(f.name, Any), default, f.metadata.get(OPTION_KEY, OptionMeta())))
    return out


def nested_options(hint: Any) -> type | None:
    inner = strip_optional(hint)[0]
    if isinstance(inner, type) and dataclasses.is_dataclass(inner):
        return inner
    return None


def is_int(hint: Any) -> bool:
    return strip_optional(hint)[0] is int


def strip_optional(hint: Any) -> tuple[Any, bool]:
    """(the type without ``| None``, whether None was allowed)."""
    if typing.get_origin(hint) in (Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) < len(typing.get_args(hint)):
            if len(args) == 1:
                return args[0], True
            return typing.Union.__getitem__(tuple(args)), True
    return hint, False


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
