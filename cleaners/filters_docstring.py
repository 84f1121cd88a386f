"""Filters on the query text: ``docstring_markup`` (URLs, HTML tags, special tokens) and
``param_only_docstring`` (only :param/@param/Args: lines, no summary)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from codequarry.cleaners.row_filter import RowFilter, Verdict, check_regexes
from codequarry.options import option

# Real HTML element names only, so Java generics such as ``<T>`` or ``List<String>`` are not "HTML".
HTML_TAGS = (
    "a abbr b big blockquote body br caption center cite code col colgroup dd del div dl dt em font footer form "
    "h1 h2 h3 h4 h5 h6 head header hr html i iframe img input ins kbd label li link meta nav ol option p pre q "
    "s samp script section small source span strike strong style sub sup table tbody td textarea tfoot th thead "
    "title tr tt u ul var video"
).split()
_HTML = re.compile(r"</?(?:" + "|".join(HTML_TAGS) + r")(?:\s[^<>]*)?/?>|&(?:nbsp|lt|gt|amp|quot|#\d+);",
                   re.IGNORECASE)
_URL = re.compile(r"\b(?:https?|ftp)://|\bhttps?:|\bwww\.[a-z0-9-]+\.[a-z]", re.IGNORECASE)


@dataclass(frozen=True)
class MarkupParams:
    urls: bool = option(True, help="exclude text with an http(s)/ftp URL, a bare https: or www.host")
    html: bool = option(True, help="exclude text with tags of real HTML elements or character entities")
    patterns: tuple[str, ...] = option((), help="more regular expressions whose match excludes the row")
    fields: tuple[str, ...] = option(("query",), help="columns searched")

    def __post_init__(self) -> None:
        check_regexes(self.patterns, "patterns")


class DocstringMarkup(RowFilter):
    """CodeXGLUE's cleaned CSN drops docstrings with special tokens such as ``<img …>`` or ``https:…``.

    ``urls`` matches http(s)/ftp URLs, a bare ``https:`` and ``www.host``; ``html`` matches tags of
    real HTML elements and character entities; ``patterns`` adds regular expressions.
    """

    name = "docstring_markup"
    description = "exclude queries with URLs, HTML tags or special tokens (e.g. <img ...>, https:...)"
    Params = MarkupParams

    def columns(self) -> tuple[str, ...]:
        return self.params.fields

    def required_columns(self) -> tuple[str, ...]:
        return self.params.fields

    @cached_property
    def _extra(self) -> list[re.Pattern[str]]:
        return [re.compile(x) for x in self.params.patterns]

    def reason(self, row: Mapping[str, Any]) -> Verdict:
        p = self.params
        for f in p.fields:
            text = row[f]
            if not isinstance(text, str):
                continue
            m = (p.urls and _URL.search(text)) or None
            if m:
                return f"url_in_{f}", m.group(0)
            m = (p.html and _HTML.search(text)) or None
            if m:
                return f"html_in_{f}", m.group(0)[:80]
            m = next((r.search(text) for r in self._extra if r.search(text)), None)
            if m:
                return f"special_token_in_{f}", m.group(0)[:80]
        return None


_TAG_LINE = re.compile(
    r"^\s*(?:"
    r":(?:param|parameter|arg|argument|key|keyword|type|returns?|rtype|raises?|except|exception|yields?|ytype|"
    r"var|ivar|cvar|vartype)\b"
    r"|@(?:param|returns?|throws?|exception|type|arg|argument|property|var|inheritdoc)\b"
    r"|\{@inheritDoc\}"
    r"|(?:Args|Arguments|Parameters|Params|Returns?|Raises|Yields|Keyword Arguments|Kwargs|Other Parameters)"
    r"\s*:?\s*$"
    r")",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ParamOnlyParams:
    field: str = option("query", help="column holding the docstring")


class ParamOnlyDocstring(RowFilter):
    """A docstring whose first non-blank line is already a parameter/return tag has no summary to search by."""

    name = "param_only_docstring"
    description = "exclude docstrings that are only :param/@param/Args: lines with no summary sentence"
    Params = ParamOnlyParams

    def columns(self) -> tuple[str, ...]:
        return (self.params.field,)

    def required_columns(self) -> tuple[str, ...]:
        return (self.params.field,)

    def reason(self, row: Mapping[str, Any]) -> Verdict:
        text = row[self.params.field]
        first = next((line for line in (text or "").splitlines() if line.strip()), None)
        if first is not None and _TAG_LINE.match(first):
            return "param_only_docstring", first.strip()[:80]
        return None
