"""One way to declare options: a frozen dataclass whose fields carry their help, flag and bounds.

Cleaning steps (``Params``), sources (a builder's ``Options``), model kinds and training (``TrainConfig``)
declare their options the same way: one frozen dataclass, where a field's annotation is the option's
type, its default the default, and ``option(...)`` adds what a person needs to use it (help text, CLI
flag, metavar, choices, bounds). Everything else is derived from that one declaration, so an option is
written once:

- ``from_mapping``: build the dataclass from a recipe or keyword arguments, refusing unknown names and
  values of the wrong type with a message that names the option;
- ``check``: the declared choices and bounds of every field (call it from ``__post_init__`` or a ``check``);
- ``add_arguments`` / ``values_from_args``: the argparse flags (``--help`` included) and the keyword
  arguments a parsed command line asks for;
- ``describe``: a JSON-ready description (name, type, default, help, choices) for ``codequarry steps``,
  documentation and cards;
- ``from_keywords`` / ``params_of``: a library call's keyword arguments as the dataclass (unknown names refused
  with the valid ones listed, missing required ones named), and the value as the JSON-ready ``params`` a
  pairs dir's manifest records, so a builder's defaults and recorded parameters are its ``Options``.

A field whose type is itself an options dataclass (a builder's column mapping) is nested: its flags are
added in their own argument group and ``values_from_args`` builds it. What an option is (``OptionMeta``,
``Spec``, ``specs``) and the value checks live in ``option_types``, the command line in ``option_cli``;
this module is the one to import.
"""

from __future__ import annotations

import dataclasses
import os
import typing
from collections.abc import Callable, Sequence
from typing import Any, Literal

from codequarry.errors import CodequarryError
from codequarry.option_cli import add_arguments, values_from_args
from codequarry.option_types import (
    OPTION_KEY,
    OptionMeta,
    Spec,
    check_param,
    is_int,
    jsonable,
    param_hints,
    specs,
    strip_optional,
    type_label,
)

__all__ = ["OptionMeta", "Spec", "add_arguments", "check", "check_param", "describe", "from_keywords", "from_mapping",
           "jsonable", "like", "option", "param_hints", "params_of", "specs", "type_label", "value_type",
           "values_from_args"]


def option(default: Any = dataclasses.MISSING, *, default_factory: Callable[[], Any] | None = None, help: str = "",
           flag: str | None = None, metavar: str | None = None,
           choices: Sequence[Any] | None = None, minimum: float | None = None, maximum: float | None = None,
           below: float | None = None, positional: bool = False, required: bool = False, repeat: bool = False,
           nargs: str | None = None, const: Any = None, negate: str | None = None, group: str | None = None,
           cli: bool = True, show_default: bool = True, record: bool = True, param: str | None = None) -> Any:
    """A dataclass field declaring one option.

    ``default_factory``: builds a mutable default (a dict) for each value, as ``dataclasses.field``'s;
    ``flag``: the CLI flag (default ``--`` + the name with dashes); ``negate``: for a boolean that defaults to
    True, the flag that turns it off (default ``--no-NAME``); ``minimum``/``maximum`` (inclusive) and
    ``below`` (exclusive) bound numbers; ``choices`` restrict values (a ``Literal`` annotation does too);
    ``positional``: a positional CLI argument; ``required``: a CLI flag that must be given (a field without
    a default is required everywhere); ``repeat``: a repeatable flag (``--path A --path B``) instead of one
    flag taking several values; ``nargs``/``const``: argparse's, for the rare flag that needs them;
    ``group``: the ``--help`` section; ``cli=False``: a library-only option; ``show_default=False``: the
    help text explains the default itself; ``record=False``: left out of the ``params`` a manifest records
    (an option that cannot change the output, e.g. a worker count); ``param``: its key there (default: the name).
    """
    meta = OptionMeta(help=help, flag=flag, metavar=metavar, choices=tuple(choices) if choices is not None else None,
                      minimum=minimum, maximum=maximum, below=below, positional=positional, required=required,
                      repeat=repeat, nargs=nargs, const=const, negate=negate, group=group, cli=cli,
                      show_default=show_default, record=record, param=param)
    if isinstance(default, (list, dict, set)):
        raise TypeError("an option's default must be immutable (use a tuple, or default_factory for a dict)")
    if default_factory is not None:
        if default is not dataclasses.MISSING:
            raise TypeError("give an option a default or a default_factory, not both")
        return dataclasses.field(default_factory=default_factory, metadata={OPTION_KEY: meta})
    return dataclasses.field(default=default, metadata={OPTION_KEY: meta})


def like(cls: type, name: str, default: Any = dataclasses.MISSING, **changes: Any) -> Any:
    """A field declaring the same option as ``cls.name`` (help, flag, bounds) with another default.

    For two option sets that share options, e.g. bi-encoder and cross-encoder training: the shared
    options are written once, and the CLI flag is the same, so one command line can fill either set.
    """
    source = next((s for s in specs(cls) if s.name == name), None)
    if source is None:
        raise TypeError(f"{cls.__name__} has no option {name!r}")
    meta = dataclasses.replace(source.meta, flag=source.flag, **changes)
    if default is dataclasses.MISSING:
        default = source.default
    return dataclasses.field(default=default, metadata={OPTION_KEY: meta})


# --------------------------------------------------------------------------------------------
# checking values


def from_mapping(cls: type, values: typing.Mapping[str, Any] | None, where: str) -> Any:
    """``cls(**values)`` after refusing unknown names and values of the wrong type (YAML lists become tuples)."""
    values = dict(values or {})
    known = [s.name for s in specs(cls)]
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise CodequarryError(f"{where} has no parameter(s) {unknown}; its parameters are {sorted(known) or 'none'}")
    hints = param_hints(cls)
    for key, value in list(values.items()):
        values[key] = check_param(value, hints.get(key, Any), f"{where}: parameter {key!r}")
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise CodequarryError(f"{where}: {exc}") from exc


def from_keywords(cls: type, values: typing.Mapping[str, Any], where: str) -> Any:
    """``cls(**values)`` for a library call, whose values may be looser than the CLI's (a path, a dict).

    Unknown names are refused listing the valid ones, and missing required ones are named, as one
    ``CodequarryError``; the class's own ``__post_init__`` checks and normalizes the values.
    """
    known = specs(cls)
    unknown = sorted(set(values) - {s.name for s in known})
    if unknown:
        raise CodequarryError(f"{where} has no option(s) {unknown}; its options are {sorted(s.name for s in known)}")
    missing = [s.name for s in known if s.required and s.name not in values]
    if missing:
        raise CodequarryError(f"{where} needs the option(s) {missing}")
    return cls(**values)


def params_of(obj: Any, **resolved: Any) -> dict[str, Any]:
    """The JSON-ready parameters a manifest records for an options value: every option not declared
    ``record=False``, under its ``param`` name, in declaration order.

    ``resolved`` gives, by option name, the value a build actually used where it differs from the one given
    (a default filled in, a path normalized, ``auto`` decided), so the manifest says what was done.
    """
    names = {s.name for s in specs(type(obj))}
    stray = sorted(set(resolved) - names)
    if stray:
        raise TypeError(f"{type(obj).__name__} has no option(s) {stray}")
    out: dict[str, Any] = {}
    for s in specs(type(obj)):
        if not s.meta.record:
            continue
        value = resolved[s.name] if s.name in resolved else getattr(obj, s.name)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            value = params_of(value)
        out[s.meta.param or s.name] = _recorded(value)
    return out


def _recorded(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_recorded(v) for v in value]
    if isinstance(value, dict):
        return {k: _recorded(v) for k, v in value.items()}
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value


def check(obj: Any, where: str) -> None:
    """Refuse a value outside its declared choices or bounds, naming the option."""
    for s in specs(type(obj)):
        value = getattr(obj, s.name)
        if value is None:
            continue
        choices = s.choices
        if choices is not None and value not in choices:
            raise CodequarryError(f"{where}: {s.name} must be one of {', '.join(map(str, choices))}, got {value!r}")
        if s.meta.minimum is None and s.meta.maximum is None and s.meta.below is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise CodequarryError(f"{where}: {s.name} must be a number, got {value!r}")
        if s.meta.minimum is not None and not value >= s.meta.minimum:
            what = "a positive integer" if s.meta.minimum == 1 and is_int(s.hint) else f">= {s.meta.minimum:g}"
            raise CodequarryError(f"{where}: {s.name} must be {what}, got {value!r}")
        if s.meta.maximum is not None and not value <= s.meta.maximum:
            raise CodequarryError(f"{where}: {s.name} must be <= {s.meta.maximum:g}, got {value!r}")
        if s.meta.below is not None and not value < s.meta.below:
            raise CodequarryError(f"{where}: {s.name} must be below {s.meta.below:g}, got {value!r}")


def describe(cls: type) -> list[dict[str, Any]]:
    """Name, type, default, help and choices of every option, JSON-ready."""
    out = []
    for s in specs(cls):
        entry: dict[str, Any] = {"name": s.name, "type": type_label(s.hint),
                                 "default": None if s.required else jsonable(s.default)}
        if s.meta.help:
            entry["help"] = s.meta.help
        if s.meta.choices is not None:
            entry["choices"] = list(s.meta.choices)
        out.append(entry)
    return out


def value_type(hint: Any) -> Any:
    """The scalar type a string value converts to: the annotation without ``| None`` (str for a ``Literal``)."""
    inner = strip_optional(hint)[0]
    if typing.get_origin(inner) is Literal:
        return type(typing.get_args(inner)[0])
    return inner
