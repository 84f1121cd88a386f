"""The one keep rule every deduplicating step uses: which member of a duplicate cluster survives.

Rule: the row in the *most held-out* split survives, then the smallest ``id``. Split rank:
``test`` (0) < ``valid``/``validation``/``dev`` (1) < any other named split, e.g. ``holdout`` (2)
< ``train`` (3) < no split (4). Keeping the held-out copy leaves evaluation sets intact and
removes the leaked copy from training data (Allamanis 2019: duplicates across splits inflate
metrics). Ties inside a rank break on the split name, then on the row id, so the survivor never
depends on row order, batching, engine or worker count (unlike dpu-utils' ``set.pop``).

Use it as ``min(members, key=lambda m: keep_order_key(m.split, m.id))``: the minimum is kept.
"""

from __future__ import annotations

HELD_OUT_RANK: dict[str, int] = {"test": 0, "valid": 1, "validation": 1, "dev": 1, "train": 3}
OTHER_SPLIT_RANK = 2
NO_SPLIT_RANK = 4


def split_rank(split: str | None) -> int:
    """How held-out a split is: 0 for test … 3 for train, 4 when the row has no split."""
    if split is None or split == "":
        return NO_SPLIT_RANK
    return HELD_OUT_RANK.get(split, OTHER_SPLIT_RANK)


def keep_order_key(split: str | None, row_id: str) -> tuple[int, str, str]:
    """Sort key of a cluster member; the member with the smallest key is the one kept."""
    return (split_rank(split), split or "", row_id)
