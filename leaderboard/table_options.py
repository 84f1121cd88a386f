"""The options of a leaderboard table (kept light: ``codequarry leaderboard --help`` builds its flags from it).

Declared once with ``codequarry.options``: the library default, the CLI flag and its help all come
from the field below; ``leaderboard.tables`` uses the values.
"""

from __future__ import annotations

from dataclasses import dataclass

from codequarry.options import option


@dataclass(frozen=True)
class Options:
    """Table settings: display unit ("auto", 1 or 100), significance level and randomization resamples."""

    unit: str | int = option("auto", choices=("auto", "1", "100"),
                             help="display unit per table: 1 (fractions), 100 (percent), or auto = 100 when a "
                                  "reported number in the table is given in percent (default: auto)")
    alpha: float = option(0.05, help="significance level after Holm correction (default 0.05)")
    resamples: int = option(10_000, help="sign flips of the paired randomization test (default 10000)")
    seed: int = option(0, cli=False, help="seed of the randomization test and the bootstrap")
    bootstrap_resamples: int = option(1000, cli=False, help="bootstrap resamples of each reproduced cell's CI")
