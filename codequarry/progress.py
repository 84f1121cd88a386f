"""Progress bars for long work (tqdm on stderr); CODEQUARRY_PROGRESS=0/1 forces them off/on.

Otherwise bars are off when the ``codequarry`` logger is quieter than warnings (``codequarry -q``) and
follow tqdm's own rule (off when stderr is not a terminal).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from tqdm.auto import tqdm


def _disabled() -> bool | None:
    flag = os.environ.get("CODEQUARRY_PROGRESS")
    if flag is None:
        if logging.getLogger("codequarry").getEffectiveLevel() > logging.WARNING:
            return True  # codequarry -q
        return None  # tqdm's own rule: off when stderr is not a terminal
    return flag.strip().lower() in {"0", "false", "no", "off"}


def progress(iterable: Any = None, *, total: int | None = None, desc: str = "", unit: str = "it", **kw: Any) -> tqdm:
    """A tqdm bar with codequarry's defaults; use as an iterator wrapper or with .update()."""
    return tqdm(iterable, total=total, desc=desc, unit=unit, disable=_disabled(), dynamic_ncols=True,
                leave=kw.pop("leave", False), **kw)
