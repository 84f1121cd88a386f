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
added in their own argument group and ``values_from_args`` builds it.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import types
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Union

from codequarry.errors import CodequarryError
from codequarry.option_types import check_param, jsonable, param_hints, type_label

__all__ = ["OptionMeta", "Spec", "add_arguments", "check", "check_param", "describe", "from_keywords", "from_mapping",
           "jsonable", "like", "option", "param_hints", "params_of", "specs", "type_label", "value_type",
           "values_from_args"]

_KEY = "codequarry.option"


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
        return dataclasses.field(default_factory=default_factory, metadata={_KEY: meta})
    return dataclasses.field(default=default, metadata={_KEY: meta})


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
    return dataclasses.field(default=default, metadata={_KEY: meta})


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
        inner = _strip_optional(self.hint)[0]
        if typing.get_origin(inner) is Literal:
            return typing.get_args(inner)
        return None

    @property
    def flag(self) -> str:
        """The CLI flag that sets this option (for a boolean that defaults to True, the one that turns it off)."""
        if self.default is True and _strip_optional(self.hint)[0] is bool:
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
        out.append(Spec(f.name, hints.get(f.name, Any), default, f.metadata.get(_KEY, OptionMeta())))
    return out


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
            what = "a positive integer" if s.meta.minimum == 1 and _is_int(s.hint) else f">= {s.meta.minimum:g}"
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


# --------------------------------------------------------------------------------------------
# the command line


def add_arguments(parser: argparse.ArgumentParser, cls: type, *, exclude: Sequence[str] = (), prefix: str = "",
                  unset: Sequence[str] = (), groups: dict[str | None, Any] | None = None) -> dict[str | None, Any]:
    """Add one CLI argument per option of ``cls``; ``values_from_args`` reads them back.

    Options sit in the ``--help`` section their ``group`` names (``groups`` maps titles to sections
    already made, and is returned so a command can add its own flags to them); ``unset`` options read
    back None when not given (for defaults the command decides, e.g. by model kind).
    """
    groups = groups if groups is not None else {}
    groups.setdefault(None, parser)
    for s in specs(cls):
        if not s.meta.cli or s.name in exclude:
            continue
        if _nested(s.hint):
            add_arguments(parser.add_argument_group(s.meta.help or s.name), _nested(s.hint), prefix=f"{prefix}{s.name}.")
            continue
        target = groups.get(s.meta.group)
        if target is None:
            target = groups[s.meta.group] = parser.add_argument_group(s.meta.group)
        _add_one(target, dataclasses.replace(s, default=None) if s.name in unset else s, prefix + s.name)
    return groups


def values_from_args(cls: type, args: argparse.Namespace, *, prefix: str = "") -> dict[str, Any]:
    """The keyword arguments (field name → value) that a parsed command line gives the options of ``cls``."""
    out: dict[str, Any] = {}
    for s in specs(cls):
        if not s.meta.cli:
            continue
        nested = _nested(s.hint)
        if nested is not None:
            out[s.name] = nested(**values_from_args(nested, args, prefix=f"{prefix}{s.name}."))
            continue
        dest = prefix + s.name
        if not hasattr(args, dest):
            continue
        value = getattr(args, dest)
        if value is None and s.meta.repeat and not s.required:
            value = s.default  # a repeatable flag that was not given
        if isinstance(value, list) and typing.get_origin(_strip_optional(s.hint)[0]) is tuple:
            value = tuple(value)
        out[s.name] = value
    return out


def _add_one(target: Any, s: Spec, dest: str) -> None:
    m = s.meta
    inner, optional = _strip_optional(s.hint)
    help_text = m.help
    default = None if s.required else s.default
    if (m.show_default and default is not None and default is not False and default != () and "default" not in help_text
            and not (inner is bool and default is True)):
        help_text += f" (default: {_show(default)})"
    kw: dict[str, Any] = {"help": help_text}
    if inner is bool and not optional:
        if default is True:  # the help says what the option does; its flag turns it off
            kw["help"] = "do not " + help_text
            target.add_argument(s.flag, dest=dest, action="store_false", **kw)
        else:
            target.add_argument(s.flag, dest=dest, action="store_true", **kw)
        return
    origin = typing.get_origin(inner)
    item = typing.get_args(inner)[0] if origin in (tuple, list) and typing.get_args(inner) else inner
    if origin in (tuple, list):
        if m.repeat:
            kw["action"] = "append"
        else:
            kw["nargs"] = m.nargs or "+"
    elif m.nargs is not None:
        kw["nargs"] = m.nargs
        if m.const is not None:
            kw["const"] = m.const
    choices = s.choices
    if choices is not None:
        kw["choices"] = choices
    converter = _converter(item, s)
    if converter is not None:
        kw["type"] = converter
    if m.metavar:
        kw["metavar"] = m.metavar
    elif choices is None and item in (int, float) and not m.positional:
        kw["metavar"] = "N" if item is int else "X"
    if m.positional:
        kw.pop("metavar", None)
        target.add_argument(dest, metavar=m.metavar or s.name.upper(), **kw)
        return
    if m.repeat:
        default = None  # argparse appends to a given default list; an absent flag reads back as None
    kw["default"] = default
    if m.required or (s.required and not m.positional):
        kw["required"] = True
    target.add_argument(s.flag, dest=dest, **kw)


def _converter(item: Any, s: Spec) -> Callable[[str], Any] | None:
    if typing.get_origin(item) is Literal:
        return None
    if item not in (int, float):
        return None
    lo, hi, below = s.meta.minimum, s.meta.maximum, s.meta.below

    def convert(text: str) -> Any:
        try:
            value = item(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an integer' if item is int else 'a number'}, got {text!r}") from None
        if lo is not None and not value >= lo:
            raise argparse.ArgumentTypeError(
                f"expected a positive integer, got {text!r}" if lo == 1 and item is int else f"expected >= {lo:g}, got {text!r}")
        if hi is not None and not value <= hi:
            raise argparse.ArgumentTypeError(f"expected <= {hi:g}, got {text!r}")
        if below is not None and not value < below:
            raise argparse.ArgumentTypeError(f"expected a value below {below:g}, got {text!r}")
        return value

    convert.__name__ = item.__name__  # argparse names the type in its "invalid value" message
    return convert


def _show(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return " ".join(map(str, value))
    if isinstance(value, int) and abs(value) >= 10_000:
        return f"{value:,}"
    return str(value)


def value_type(hint: Any) -> Any:
    """The scalar type a string value converts to: the annotation without ``| None`` (str for a ``Literal``)."""
    inner = _strip_optional(hint)[0]
    if typing.get_origin(inner) is Literal:
        return type(typing.get_args(inner)[0])
    return inner


def _nested(hint: Any) -> type | None:
    inner = _strip_optional(hint)[0]
    if isinstance(inner, type) and dataclasses.is_dataclass(inner):
        return inner
    return None


def _is_int(hint: Any) -> bool:
    return _strip_optional(hint)[0] is int


def _strip_optional(hint: Any) -> tuple[Any, bool]:
    """(the type without ``| None``, whether None was allowed)."""
    if typing.get_origin(hint) in (Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) < len(typing.get_args(hint)):
            if len(args) == 1:
                return args[0], True
            return typing.Union.__getitem__(tuple(args)), True
    return hint, False
