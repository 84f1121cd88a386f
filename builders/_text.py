"""Small text rules shared by the source builders: docstring summaries, token strings, CSN urls, names."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

_CSN_URL = re.compile(
    r"^https?://github\.com/(?P<repo>[^/]+/[^/]+)/blob/(?P<sha>[^/]+)/(?P<path>[^#]+)"
    r"(?:#L(?P<start>\d+)(?:-L(?P<end>\d+))?)?$"
)
_SPLIT_ALIASES = {"validation": "valid", "dev": "valid", "val": "valid"}
_NON_WORD = re.compile(r"\W+")


def docstring_summary(docstring: str | None) -> str | None:
    """CodeSearchNet's summary rule: text before the first blank line, else before the first ``@``, else all.

    The rule is ``get_docstring_summary`` in CodeSearchNet's function_parser (protocols.md §1b); the
    result is stripped of surrounding whitespace, and an empty summary is ``None``.
    """
    if not docstring:
        return None
    if "\n\n" in docstring:
        summary = docstring.split("\n\n", 1)[0]
    elif "@" in docstring:
        summary = docstring[: docstring.find("@")]
    else:
        summary = docstring
    return summary.strip() or None


def space_tokens(text: str | None) -> list[str] | None:
    """Tokens of a space-joined token string (CoSQA's ``code_tokens``/``docstring_tokens``), empty ones dropped."""
    if text is None:
        return None
    return [t for t in text.split(" ") if t]


def parse_csn_url(url: str | None) -> dict[str, Any] | None:
    """Split a CodeSearchNet-style GitHub url into repo, sha, path, start_line, end_line (None if not one)."""
    if not url:
        return None
    m = _CSN_URL.match(url)
    if not m:
        return None
    start = int(m["start"]) if m["start"] else None
    end = int(m["end"]) if m["end"] else start
    return {"repo": m["repo"], "sha": m["sha"], "path": m["path"], "start_line": start, "end_line": end}


@lru_cache(maxsize=1)
def _language_aliases() -> dict[str, str]:
    """The registry's ``aliases`` (codequarry/languages/data/languages.yaml) → dataset language names."""
    from codequarry.languages.spec import dataset_language_aliases

    return dataset_language_aliases()


def normalize_language(value: Any) -> str | None:
    """Lower-case CodeSearchNet-style language name (``Python`` → ``python``, ``C#`` → ``c_sharp``)."""
    if value is None:
        return None
    name = str(value).strip().lower()
    if not name:
        return None
    return _language_aliases().get(name, name)


def normalize_split(value: Any) -> str:
    """A split name in the pairs-dir vocabulary: ``validation``/``dev`` → ``valid``, other characters → ``_``."""
    name = _NON_WORD.sub("_", str(value).strip().lower()).strip("_")
    return _SPLIT_ALIASES.get(name, name)


def csv_list(values: Any) -> list[str] | None:
    """Options given as ``a,b`` or ``a b`` (or a list of either) as one flat list; None stays None."""
    if values is None:
        return None
    if isinstance(values, str):
        values = [values]
    out: list[str] = []
    for v in values:
        out.extend(p for p in re.split(r"[,\s]+", str(v)) if p)
    return out
