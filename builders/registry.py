"""The registry of sources: name → module path, imported only when the source is used.

A source module defines ``INFO`` (a ``SourceInfo``), ``Options`` (a frozen dataclass declaring its
options with ``codequarry.options.option``: the CLI flags, ``--help``, the defaults and the manifest's
``params`` all come from it) and ``build(out, *, overwrite=False, created_by=None, **values) -> manifest``
(the library call), which reads ``values`` as ``options.from_keywords(Options, values, ...)`` and records
``options.params_of(...)``. Adding a source is one module plus one line below.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from codequarry.registry import Registry

SOURCES: Registry[str] = Registry("source")
for _name, _module in (
    ("codesearchnet", "codequarry.builders.codesearchnet"),
    ("staqc", "codequarry.builders.staqc"),
    ("cosqa", "codequarry.builders.cosqa"),
    ("advtest", "codequarry.builders.advtest"),
    ("webquery", "codequarry.builders.webquery"),
    ("hub", "codequarry.builders.hub"),
    ("files", "codequarry.builders.files"),
    ("repos", "codequarry.builders.repos"),
):
    SOURCES.register(_name, _module)


def source_module(name: str) -> ModuleType:
    """The module implementing source ``name`` (unknown names get a did-you-mean error)."""
    return importlib.import_module(SOURCES.get(name))

