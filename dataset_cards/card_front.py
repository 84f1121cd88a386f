"""The dataset card's front matter, as a ``huggingface_hub.DatasetCardData``.

``configs`` and ``dataset_info`` are the builders' own (``codequarry.pairs.hub_configs`` and
``hub_dataset_info``, the same blocks as the pairs dir's README stub), so ``datasets.load_dataset(DIR)``
keeps working and still checks the declared split sizes. The YAML is written by ``huggingface_hub``.
"""

from __future__ import annotations

import re
from typing import Any

from codequarry.pairs import hub_configs, hub_dataset_info

SIZE_CATEGORIES = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
                   (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B"),
                   (10_000_000_000, "1B<n<10B"), (100_000_000_000, "10B<n<100B"), (1_000_000_000_000, "100B<n<1T"))
_HUB_DATASET = re.compile(r"https?://huggingface\.co/datasets/([^/?#]+/[^/?#]+|[^/?#]+)/?$")


def size_category(n: int) -> str:
    """The Hub's ``size_categories`` bucket for ``n`` rows."""
    for bound, name in SIZE_CATEGORIES:
        if n < bound:
            return name
    return "n>1T"


def source_datasets(sources: list[Any], notes: Any) -> list[str]:
    """The Hub's ``source_datasets``: ``extended|ORG/NAME`` for a Hub source, else original/extended."""
    out: list[str] = []
    for s in sources:
        note = notes.get(str(s.get("name", ""))) or {}
        hub = None
        for key in ("url", "homepage"):
            m = _HUB_DATASET.match(str(s.get(key) or ""))
            if m:
                hub = m.group(1)
                break
        if hub:
            out.append(f"extended|{hub}")
        elif note.get("original"):
            out.append("original")
        else:
            out.append("extended")
    return list(dict.fromkeys(out)) or ["original"]


def front_matter(sections: Any) -> Any:
    """The card's metadata (a ``DatasetCardData``) for a ``CardSections``."""
    from huggingface_hub import DatasetCardData

    lic = sections.license
    return DatasetCardData(
        pretty_name=sections.pretty_name,
        license=lic.license,
        language=["en", "code"],
        task_categories=["text-retrieval"],
        task_ids=["document-retrieval"],
        size_categories=[size_category(sections.pairs.num_rows())],
        source_datasets=source_datasets(sections.sources, sections.notes),
        tags=list(dict.fromkeys(["code-search", "code", "codequarry", *sections.configs])),
        configs=hub_configs(sections.m),
        dataset_info=hub_dataset_info(sections.m, sections.pairs.schema),
        **{k: v for k, v in lic.front_matter().items() if k != "license"},
    )
