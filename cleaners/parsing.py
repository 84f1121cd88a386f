"""Parse each code string once per batch: the tree-sitter views the steps need, from one cached parse.

A recipe's steps run one after another over the same batch (parse check, CSN tokens, exact-dedup
keys …); without a cache every step parses every row again. The cache holds the trees of the most
recent rows, bounded by their total source size, so memory stays bounded whatever the rows are.
Every function returns exactly what its ``codequarry.languages`` namesake returns (tested).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from codequarry.languages import get_language
from codequarry.languages.spec import Snippet, parse_snippet
from codequarry.languages.tokens import (
    IDENTIFIER_RE,
    atomic_ids,
    comment_ids,
    layout_ids,
    leaf_spans,
    node_tokens,
    snippet_node_count,
    tree_error_count,
)

CACHE_SOURCE_BYTES = 12 << 20  # ≈ 250 MB of trees at ~20 bytes of tree per byte of source
CACHE_MAX_ENTRY = 1 << 20  # sources larger than this are parsed but not kept

_CACHE: OrderedDict[tuple[str, str], Snippet] = OrderedDict()
_held = 0
VIEW_ENTRIES = 2048  # derived views (tokens, normalized code) of the most recent distinct sources, by count
_VIEWS: OrderedDict[tuple[str, str, str], Any] = OrderedDict()


def _view(kind: str, code: str, spec: Any, compute: Any) -> Any:
    """``compute()`` remembered for the most recent (kind, language, code): copies of a function (forks,
    vendored files) sit near each other in a corpus, and every step after the parse walks the same tree."""
    key = (kind, spec.name, code)
    hit = _VIEWS.get(key)
    if hit is not None:
        _VIEWS.move_to_end(key)
        return hit
    value = compute()
    if len(code) <= CACHE_MAX_ENTRY:
        _VIEWS[key] = value
        while len(_VIEWS) > VIEW_ENTRIES:
            _VIEWS.popitem(last=False)
    return value


def parsed(code: str, language: Any) -> Snippet:
    """The snippet parse of ``code`` (``parse_snippet``); the last ~12 MB of sources parsed here are cached."""
    global _held
    spec = get_language(language)
    key = (spec.name, code)
    hit = _CACHE.get(key)
    if hit is not None:
        _CACHE.move_to_end(key)
        return hit
    snip = parse_snippet(code, spec)
    if len(snip.src) <= CACHE_MAX_ENTRY:
        _CACHE[key] = snip
        _held += len(snip.src)
        while _held > CACHE_SOURCE_BYTES and _CACHE:
            _, old = _CACHE.popitem(last=False)
            _held -= len(old.src)
    return snip


def clear() -> None:
    global _held
    _CACHE.clear()
    _VIEWS.clear()
    _held = 0


def error_count(code: str, language: Any) -> int:
    """ERROR + MISSING nodes (as ``codequarry.languages.error_count``)."""
    return tree_error_count(parsed(code, language).tree.root_node)


def tokenize_code(code: str, language: Any) -> list[str]:
    """CodeSearchNet code tokens (as ``codequarry.languages.tokenize_code``)."""
    spec = get_language(language)

    def compute() -> tuple[str, ...]:
        snip = parsed(code, spec)
        return tuple(node_tokens(snip.tree.root_node, snip.src, spec, window=(snip.lo, snip.hi) if snip.wrapped
                                 else None))

    return list(_view("tokens", code, spec, compute))


def normalize_code(code: str, language: Any) -> str:
    """Non-comment tokens joined by single spaces (as ``codequarry.languages.normalize_code``)."""
    spec = get_language(language)
    return _view("normalized", code, spec, lambda: _normalize(code, spec))


def _normalize(code: str, spec: Any) -> str:
    snip = parsed(code, spec)
    ids = comment_ids(spec)
    spans = leaf_spans(snip.tree.root_node, atomic_ids(spec), layout=layout_ids(spec), window=(snip.lo, snip.hi))
    src = snip.src
    parts = [src[s:e] for s, e, k in spans if k not in ids]
    try:  # one decode of the joined bytes: valid UTF-8 only when every token is whole, then equal to decoding each
        return b" ".join(parts).decode("utf-8")
    except UnicodeDecodeError:
        return " ".join(part.decode("utf-8", "replace") for part in parts)


def identifiers(code: str, language: Any) -> list[str]:
    """Identifier tokens, keywords removed (as ``codequarry.languages.identifiers``)."""
    spec = get_language(language)
    match = IDENTIFIER_RE.match
    return [t for t in tokenize_code(code, spec) if match(t) and t not in spec.keywords]


def count_nodes(code: str, language: Any) -> int:
    """Named nodes in the parse (as ``codequarry.languages.count_nodes``)."""
    return snippet_node_count(parsed(code, language))
