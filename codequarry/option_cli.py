"""The command line of an options dataclass: argparse flags (``--help`` included) and the values read back.

``add_arguments`` adds one argument per option of a ``codequarry.options`` dataclass (nested ones in
their own group), with converters that check types and bounds as the value is parsed;
``values_from_args`` gives the keyword arguments a parsed command line asks for. Used through
``codequarry.options``.
"""

from __future__ import annotations

import argparse
import dataclasses
import typing
from collections.abc import Callable, Sequence
from typing import Any, Literal

from codequarry.option_types import Spec, nested_options, specs, strip_optional


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
        if nested_options(s.hint):
            add_arguments(parser.add_argument_group(s.meta.help or s.name), nested_options(s.hint), prefix=f"{prefix}{s.name}.")
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
        nested = nested_options(s.hint)
        if nested is not None:
            out[s.name] = nested(**values_from_args(nested, args, prefix=f"{prefix}{s.name}."))
            continue
        dest = prefix + s.name
        if not hasattr(args, dest):
            continue
        value = getattr(args, dest)
        if value is None and s.meta.repeat and not s.required:
            value = s.default  # a repeatable flag that was not given
        if isinstance(value, list) and typing.get_origin(strip_optional(s.hint)[0]) is tuple:
            value = tuple(value)
        out[s.name] = value
    return out


def _add_one(target: Any, s: Spec, dest: str) -> None:
    m = s.meta
    inner, optional = strip_optional(s.hint)
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
