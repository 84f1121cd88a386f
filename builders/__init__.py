"""Builders: one module per source, each reading its source into a pairs dir.

``build("cosqa", "out/", path="cosqa-dev.json")`` is the library call behind
``codequarry build cosqa --path cosqa-dev.json --out out/``; the source module is imported only
when it is used, so importing this package stays cheap.
"""

from __future__ import annotations

import os
from typing import Any


def build(source: str, out: str | os.PathLike[str], **options: Any) -> dict[str, Any]:
    """Build ``source`` (a name from ``codequarry sources``) into the pairs dir ``out``; returns the manifest."""
    from codequarry.builders._io import check_out_apart
    from codequarry.builders.registry import source_module

    check_out_apart(out, options)  # before the source is read: --overwrite must never delete the input
    return source_module(source).build(out, **options)


__all__ = ["build"]
