"""Filters on the query text: ``docstring_markup`` (URLs, HTML tags, special tokens) and
``param_only_docstring`` (only :param/@param/Args: lines, no summary)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pyarrow as pa

from codequarry.cleaners.base import Step, StepOutput, keep_mask
from codequarry.cleaners.step_utils import column

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
    urls: bool = True
    html: bool = True
    patterns: tuple[str, ...] = ()
    fields: tuple[str, ...] = ("query",)

    def __post_init__(self) -> None:
        for p in self.patterns:
            re.compile(p)


class DocstringMarkup(Step):
    """CodeXGLUE's cleaned CSN drops docstrings with special tokens such as ``<img …>`` or ``https:…``.

    ``urls`` matches http(s)/ftp URLs, a bare ``https:`` and ``www.host``; ``html`` matches tags of
    real HTML elements and character entities; ``patterns`` adds regular expressions.
    """

    name = "docstring_markup"
    description = "exclude queries with URLs, HTML tags or special tokens (e.g. <img ...>, https:...)"
    kind = "filter"
    Params = MarkupParams

    def process(self, batch: pa.Table) -> StepOutput:
        p = self.params
        extra = [re.compile(x) for x in p.patterns]
        cols = [(f, column(batch, f)) for f in p.fields]
        keep, reasons, details = [], [], []
        for i in range(batch.num_rows):
            why = None
            for f, values in cols:
                text = values[i]
                if not isinstance(text, str):
                    continue
                m = (p.urls and _URL.search(text)) or None
                if m:
                    why = (f"url_in_{f}", m.group(0))
                    break
                m = (p.html and _HTML.search(text)) or None
                if m:
                    why = (f"html_in_{f}", m.group(0)[:80])
                    break
                m = next((r.search(text) for r in extra if r.search(text)), None)
                if m:
                    why = (f"special_token_in_{f}", m.group(0)[:80])
                    break
            keep.append(why is None)
            reasons.append(why and why[0])
            details.append(why and why[1])
        return keep_mask(batch, keep, reasons, details)


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
    field: str = "query"


class ParamOnlyDocstring(Step):
    """A docstring whose first non-blank line is already a parameter/return tag has no summary to search by."""

    name = "param_only_docstring"
    description = "exclude docstrings that are only :param/@param/Args: lines with no summary sentence"
    kind = "filter"
    Params = ParamOnlyParams

    def process(self, batch: pa.Table) -> StepOutput:
        keep, reasons, details = [], [], []
        for text in column(batch, self.params.field):
            first = next((line for line in (text or "").splitlines() if line.strip()), None)
            hit = first is not None and bool(_TAG_LINE.match(first))
            keep.append(not hit)
            reasons.append("param_only_docstring" if hit else None)
            details.append(first.strip()[:80] if hit and first else None)
        return keep_mask(batch, keep, reasons, details)
