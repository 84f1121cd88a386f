"""Progress bars for long work (tqdm on stderr); CODEQUARRY_PROGRESS=0/1 forces them off/on.

Otherwise bars are off when the ``codequarry`` logger is quieter than warnings (``codequarry -q``) and
follow tqdm's own rule (off when stderr is not a terminal), except ``always=True`` bars (long encodes):
those also report to a log file or pipe, at most every ``LOG_INTERVAL_S`` seconds.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from tqdm.auto import tqdm


def _disabled() -> bool | None:
    flag = os.environ.get("CODEQUARRY_PROGRESS")
    if flag is None:
        if logging.getLogger("codequarry").getEffectiveLevel() > logging.WARNING:
            return True  # codequarry -q
        return None  # tqdm's own rule: off when stderr is not a terminal
    return flag.strip().lower() in {"0", "false", "no", "off"}


LOG_INTERVAL_S = 10.0


def progress(iterable: Any = None, *, total: int | None = None, desc: str = "", unit: str = "it",
             always: bool = False, **kw: Any) -> tqdm:
    """A tqdm bar with codequarry's defaults; use as an iterator wrapper or with .update().

    ``always``: shown whether or not stderr is a terminal (still off with -q or CODEQUARRY_PROGRESS=0).
    """
    disable = _disabled()
    if always and disable is None:
        disable = False
        if not sys.stderr.isatty():  # a log: a line every LOG_INTERVAL_S and the final count, no redrawn bar
            kw.setdefault("mininterval", LOG_INTERVAL_S)
            kw.setdefault("ascii", True)
            kw.setdefault("leave", True)
    return tqdm(iterable, total=total, desc=desc, unit=unit, disable=disable, dynamic_ncols=True,
                leave=kw.pop("leave", False), **kw)


def bars_off() -> bool:
    """Whether codequarry's bars are off now (``-q``, ``CODEQUARRY_PROGRESS=0``, or stderr not a terminal), so that
    another library's bars (huggingface_hub's upload bars) can follow the same rule."""
    disable = _disabled()
    return not sys.stderr.isatty() if disable is None else disable
