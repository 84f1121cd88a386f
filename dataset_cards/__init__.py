"""Dataset cards and Hugging Face Hub publishing for pairs dirs.

``render_card``/``write_card`` (card.py) and ``publish`` (publish.py); names resolve on first use so that
importing the package (e.g. for the CLI) stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "render_card": "codequarry.dataset_cards.card",
    "write_card": "codequarry.dataset_cards.card",
    "publish": "codequarry.dataset_cards.publish",
    "PublishReport": "codequarry.dataset_cards.publish",
    "Operation": "codequarry.dataset_cards.publish",
    "build_upload_folder": "codequarry.dataset_cards.upload",
    "UploadFolder": "codequarry.dataset_cards.upload",
    "compute_stats": "codequarry.dataset_cards.stats",
    "card_license": "codequarry.dataset_cards.licenses",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'codequarry.dataset_cards' has no attribute {name!r}")
