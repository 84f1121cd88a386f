"""Map the licenses a pairs dir records (sources, rows) to the card's ``license`` front matter.

Rules (also stated in the card's "Licenses" section):

* the dataset's license comes from its sources' licenses; where a source records none, or only
  ``other``/``unknown`` (CodeSearchNet: code under each repository's own license; local files and
  repos), the licenses of the rows (``license`` column; a row without one → ``unknown``) count too;
  if nothing is known, ``other`` when a source said so, else ``unknown``;
* one license the Hub knows → ``license: <id>``; several, all known → a list of ids (the Hub accepts
  a list, e.g. Wikipedia's ``[cc-by-sa-3.0, gfdl]``): every part of the data is under one of them;
* any license the Hub does not know → ``license: other`` with ``license_name`` (its slug, or
  ``multiple`` when there are several) and ``license_link`` when one link is known.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

UNKNOWN = "unknown"
OPEN = frozenset({"other", "unknown"})  # a source saying only "other"/"unknown" leaves the license open


@lru_cache(maxsize=1)
def _table() -> dict[str, Any]:
    text = resources.files("codequarry.dataset_cards").joinpath("hub_licenses.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def hub_license_ids() -> frozenset[str]:
    """Every license id the Hub accepts."""
    return frozenset(_table()["ids"])


def hub_license(name: str | None) -> str | None:
    """The Hub id for a license spelling (``MIT``, ``Apache-2.0``, ``GPL-3.0-or-later`` …), or None."""
    if name is None:
        return None
    key = re.sub(r"\s+", " ", str(name).strip().lower())
    if not key:
        return None
    ids = hub_license_ids()
    aliases: Mapping[str, str] = _table()["aliases"]
    for candidate in (key, re.sub(r"(-only|-or-later|\+)$", "", key)):
        if candidate in ids:
            return candidate
        if candidate in aliases:
            return aliases[candidate]
    return None


def license_title(hub_id: str) -> tuple[str, str | None]:
    """A readable name and a link for a Hub license id (the id itself when not listed)."""
    entry = _table()["names"].get(hub_id)
    return (entry[0], entry[1]) if entry else (hub_id, None)


def slug(text: str) -> str:
    """A license name usable as ``license_name`` (lower-case letters, digits and dashes)."""
    out = re.sub(r"[^a-z0-9.]+", "-", text.lower()).strip("-.")
    return out[:64] or "other"


@dataclass(frozen=True)
class CardLicense:
    """The card's license front matter plus the facts the prose explains."""

    license: str | list[str]
    license_name: str | None = None
    license_link: str | None = None
    basis: str = "sources"  # "sources", "rows" or "override"
    names: tuple[str, ...] = ()  # the distinct licenses as recorded

    def front_matter(self) -> dict[str, Any]:
        out: dict[str, Any] = {"license": self.license}
        if self.license_name:
            out["license_name"] = self.license_name
        if self.license_link:
            out["license_link"] = self.license_link
        return out


def card_license(
    source_licenses: Iterable[str | None],
    row_licenses: Iterable[str | None] = (),
    *,
    override: str | None = None,
    links: Mapping[str, str] | None = None,
) -> CardLicense:
    """Decide the card's license from sources (plus rows where a source leaves it open), or a user override."""
    links = dict(links or {})
    if override:
        hub = hub_license(override)
        if hub:
            return CardLicense(hub, basis="override", names=(override,))
        return CardLicense("other", slug(override), links.get(override), basis="override", names=(override,))
    sources = [str(n).strip() if n is not None else "" for n in source_licenses]
    specified = sorted({n for n in sources if n and hub_license(n) not in OPEN})
    said_other = any(hub_license(n) == "other" for n in sources if n)
    open_ended = not sources or len(specified) < len(sources)
    names = set(specified)
    if open_ended:  # a source without a specific license: its rows' licenses (from their repositories) apply
        names |= {str(n).strip() if n and str(n).strip() else UNKNOWN for n in row_licenses}
    basis = "rows" if not specified else ("sources+rows" if open_ended and names - set(specified) else "sources")
    if not names or names == {UNKNOWN}:
        return CardLicense("other" if said_other else UNKNOWN, basis=basis, names=tuple(sorted(names)))
    ordered = sorted(names)
    mapped = {n: hub_license(n) for n in ordered}
    if all(mapped.values()):
        ids = sorted({v for v in mapped.values() if v})
        return CardLicense(ids[0] if len(ids) == 1 else ids, basis=basis, names=tuple(ordered))
    unknown = [n for n, v in mapped.items() if not v]
    if len(ordered) == 1:
        return CardLicense("other", slug(unknown[0]), links.get(unknown[0]), basis=basis, names=tuple(ordered))
    return CardLicense("other", "multiple", None, basis=basis, names=tuple(ordered))


NO_LICENSE_NOTE = ("Each code snippet stays under the license of the repository it comes from; the dataset's license "
                   "covers the compilation and the text the sources wrote, and does not relicense the code.")
