"""The options a user sets for a dataset card (kept light: ``codequarry card --help`` builds its flags from it)."""

from __future__ import annotations

from dataclasses import dataclass

from codequarry.options import option


@dataclass(frozen=True)
class CardOptions:
    """What the user chose for the card; everything else is computed (``codequarry card``'s flags come from here).

    Options given once are recorded in the card's marker and reused by later runs and by ``publish``.
    """

    pretty_name: str | None = option(None, help="human-readable dataset name for the card (default: the one the "
                                                "card recorded, else from the sources and languages)")
    license: str | None = option(None, help="override the license derived from the sources: a Hub license id (mit, "
                                            "apache-2.0, cc-by-4.0, c-uda, …) or any name (then `license: other`)")
    year: int | None = option(None, cli=False, help="year in the BibTeX entry (default: the dataset's creation year)")
    repo_id: str | None = option(None, metavar="ORG/NAME", help="Hub repo the dataset will live at (used in the "
                                                                "loading example and BibTeX)")
