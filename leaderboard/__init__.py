"""Leaderboard: papers' reported numbers, protocol-aware tables (md/csv/tex/json), the static HTML board and plots.

``build_leaderboard(result_paths, out_dir, formats=..., compare_reported=False)`` is imported lazily so that
importing this package (and ``codequarry --help``) stays light.
"""

from __future__ import annotations

from typing import Any

__all__ = ["build_leaderboard"]


def __getattr__(name: str) -> Any:
    if name == "build_leaderboard":
        from codequarry.leaderboard.build import build_leaderboard

        return build_leaderboard
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
