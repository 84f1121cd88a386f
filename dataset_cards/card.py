"""Render a pairs dir's dataset card: Hub front matter plus prose computed from the manifest and the rows.

Modules: ``card_front`` (the front matter, a ``huggingface_hub.DatasetCardData``), ``card_sections`` (the
prose: summary, structure, provenance, statistics, licenses, uses, limitations, citation) and
``card_text`` (Markdown helpers); the template ``templates/card.md`` orders the sections.

The card's first line is a marker comment that records the options it was rendered with
(``pretty_name``, ``license``, ``year``), so a later ``codequarry card`` or ``publish`` keeps them.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import re
from pathlib import Path
from string import Template

from codequarry.dataset_cards.card_front import front_matter
from codequarry.dataset_cards.card_options import CardOptions
from codequarry.dataset_cards.card_sections import CardSections
from codequarry.dataset_cards.card_text import README, package_data
from codequarry.dataset_cards.stats import DatasetStats, compute_stats
from codequarry.errors import CodequarryError
from codequarry.pairs import PairsDir

CARD_MARKER = "<!-- codequarry-card v1"
log = logging.getLogger(__name__)


def read_card_options(pairs_dir: str | os.PathLike[str]) -> CardOptions:
    """Options recorded in the marker of an existing codequarry card in the dir (empty when none)."""
    path = Path(pairs_dir) / README
    if not path.exists():
        return CardOptions()
    text = path.read_text(encoding="utf-8")
    m = re.search(re.escape(CARD_MARKER) + r"[ \t]+(\{[^\n]*\})[ \t]*-->", text)
    if not m:
        return CardOptions()
    try:
        raw = json.loads(m.group(1))
    except json.JSONDecodeError:
        return CardOptions()
    year = raw.get("year")
    return CardOptions(pretty_name=raw.get("pretty_name"), license=raw.get("license"),
                       year=int(year) if isinstance(year, int) else None, repo_id=raw.get("repo_id"))


def _merge_options(pairs: PairsDir, pretty_name: str | None, license: str | None, year: int | None,
                   repo_id: str | None) -> CardOptions:
    previous = read_card_options(pairs.path)
    created = pairs.manifest.get("created")
    default_year = int(str(created)[:4]) if created and str(created)[:4].isdigit() else _dt.datetime.now(_dt.timezone.utc).year
    return CardOptions(
        pretty_name=pretty_name or previous.pretty_name,
        license=license or previous.license,
        year=year or previous.year or default_year,
        repo_id=repo_id or previous.repo_id,
    )


# --------------------------------------------------------------------------------------------
# public API


def render_card(
    pairs_dir: str | os.PathLike[str] | PairsDir,
    *,
    pretty_name: str | None = None,
    license: str | None = None,
    repo_id: str | None = None,
    year: int | None = None,
    stats: DatasetStats | None = None,
) -> str:
    """The full dataset card (README.md text) of a pairs dir."""
    pairs = pairs_dir if isinstance(pairs_dir, PairsDir) else PairsDir(pairs_dir)
    opts = _merge_options(pairs, pretty_name, license, year, repo_id)
    if stats is None:
        log.info("computing the statistics of %s", pairs.path)
        stats = compute_stats(pairs)
    return _render(CardSections(pairs, opts, stats))


def write_card(
    pairs_dir: str | os.PathLike[str],
    *,
    pretty_name: str | None = None,
    license: str | None = None,
    repo_id: str | None = None,
    year: int | None = None,
) -> Path:
    """Overwrite the dir's README.md with the full card; returns its path."""
    pairs = PairsDir(pairs_dir)
    text = render_card(pairs, pretty_name=pretty_name, license=license, repo_id=repo_id, year=year)
    path = pairs.path / README
    tmp = pairs.path / f".{README}.tmp"
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def marker(opts: CardOptions) -> str:
    """The card's first lines: the options it was rendered with (JSON in an HTML comment) and a warning."""
    recorded = {k: v for k, v in (("pretty_name", opts.pretty_name), ("license", opts.license),
                                  ("year", opts.year), ("repo_id", opts.repo_id)) if v}
    # "<" and ">" escaped so that no value can close the HTML comment
    data = json.dumps(recorded, ensure_ascii=False, sort_keys=True).replace("<", "\\u003c").replace(">", "\\u003e")
    return (f"{CARD_MARKER} {data} -->\n"
            "<!-- Written by `codequarry card` from codequarry.json and the data; rerun it rather than editing by hand. -->")


def _render(s: CardSections) -> str:
    if not s.configs:
        raise CodequarryError(f"{s.pairs.path} holds no rows: there is nothing to describe or publish")
    sections = {
        "marker": marker(s.opts),
        "pretty_name": s.pretty_name,
        "summary": s.summary(),
        "structure": s.structure(),
        "provenance": s.provenance(),
        "statistics": s.statistics(),
        "licenses": s.licenses(),
        "uses": s.uses(),
        "limitations": s.limitations(),
        "citation": s.citation(),
    }
    body = Template(package_data("templates/card.md")).substitute(sections)
    body = re.sub(r"\n{3,}", "\n\n", body).strip() + "\n"
    return "---\n" + front_matter(s).to_yaml() + "\n---\n\n" + body
