"""Token-level views of code with tree-sitter: CSN code tokens, identifiers, comment stripping, normalization.

Every traversal here is an iterative TreeCursor walk (no Python recursion), so code nested
10,000 levels deep is handled like any other.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from typing import TYPE_CHECKING

from codequarry.languages.spec import LanguageSpec, Snippet, get_language, parse_snippet

if TYPE_CHECKING:  # pragma: no cover
    import tree_sitter

IDENTIFIER_RE = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*")


@cache
def _kind_ids(name: str, kind: str) -> frozenset[int]:
    """Node kind ids of a spec's atomic/comment/string types (every alias id, named kinds only)."""
    spec = get_language(name)
    wanted = {"atomic": spec.atomic_types, "comment": spec.comment_types, "string": spec.string_types,
              "layout": spec.layout_types}[kind]
    lang = spec.language
    return frozenset(i for i in range(lang.node_kind_count)
                     if lang.node_kind_is_named(i) and lang.node_kind_for_id(i) in wanted)


def atomic_ids(spec: LanguageSpec) -> frozenset[int]:
    """Kind ids whose nodes are one token each (strings and comments)."""
    return _kind_ids(spec.name, "atomic")


def comment_ids(spec: LanguageSpec) -> frozenset[int]:
    return _kind_ids(spec.name, "comment")


def layout_ids(spec: LanguageSpec) -> frozenset[int]:
    """Kind ids of leaves that are layout rather than code (never tokens)."""
    return _kind_ids(spec.name, "layout")


def walk(node: tree_sitter.Node) -> Iterator[tree_sitter.Node]:
    """Every node under ``node`` (itself included) in document order, iteratively."""
    cursor = node.walk()
    while True:
        yield cursor.node
        if cursor.goto_first_child():
            continue
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent():
                return


def leaf_spans(node: tree_sitter.Node, atomic: frozenset[int], exclude: tuple[int, int] | None = None,
               layout: frozenset[int] = frozenset(), window: tuple[int, int] | None = None) -> list[tuple[int, int, int]]:
    """(start_byte, end_byte, kind_id) of the CSN token leaves under ``node``; ``exclude`` drops one atomic span.

    Hot path of extraction: one cursor step and one Node per visited node, nothing else.
    """
    out: list[tuple[int, int, int]] = []
    append = out.append
    lo, hi = window if window is not None else (0, 1 << 62)
    cursor = node.walk()
    first, following, up = cursor.goto_first_child, cursor.goto_next_sibling, cursor.goto_parent
    while True:
        n = cursor.node
        kind = n.kind_id
        if kind in atomic or not first():
            s, e = n.start_byte, n.end_byte
            if e > s and (exclude is None or (s, e) != exclude) and kind not in layout and lo <= s and e <= hi:
                append((s, e, kind))
        else:
            continue
        while not following():
            if not up():
                return out


def node_tokens(node: tree_sitter.Node, src: bytes, spec: LanguageSpec,
                exclude: tuple[int, int] | None = None, window: tuple[int, int] | None = None) -> list[str]:
    """CSN code tokens of a node: tree-sitter leaves, strings and comments one token each (zero-width leaves dropped).

    The same walk as ``leaf_spans``, producing the strings directly (extraction's hot path): ASCII
    code is decoded once and sliced, other code decodes each token's bytes.
    """
    if window is not None:  # a wrapped snippet: only the leaves inside the snippet itself
        return [src[s:e].decode("utf-8", "replace")
                for s, e, _ in leaf_spans(node, atomic_ids(spec), exclude, layout_ids(spec), window)]
    atomic = atomic_ids(spec)
    layout = layout_ids(spec)
    base = node.start_byte
    chunk = src[base:node.end_byte]
    ascii_code = chunk.decode("ascii") if chunk.isascii() else None
    ex_s, ex_e = exclude if exclude is not None else (-1, -1)
    out: list[str] = []
    append = out.append
    cursor = node.walk()
    first, following, up = cursor.goto_first_child, cursor.goto_next_sibling, cursor.goto_parent
    while True:
        n = cursor.node
        kind = n.kind_id
        if kind in atomic or not first():
            s, e = n.start_byte, n.end_byte
            if e > s and (s != ex_s or e != ex_e) and kind not in layout:
                if ascii_code is not None:
                    append(ascii_code[s - base:e - base])
                else:
                    append(src[s:e].decode("utf-8", "replace"))
        else:
            continue
        while not following():
            if not up():
                return out


def tokenize_code(code: str | bytes, language: str | LanguageSpec) -> list[str]:
    """CodeSearchNet code_tokens of a snippet: the leaves of its parse, each string and comment one token."""
    spec = get_language(language)
    snip = parse_snippet(code, spec)
    return node_tokens(snip.tree.root_node, snip.src, spec, window=(snip.lo, snip.hi) if snip.wrapped else None)


def identifiers(code: str | bytes, language: str | LanguageSpec) -> list[str]:
    """Identifier tokens in order, keywords removed (dpu-utils DuplicateDetector: ``IDENTIFIER_RE.match``)."""
    spec = get_language(language)
    keywords = spec.keywords
    match = IDENTIFIER_RE.match
    return [t for t in tokenize_code(code, spec) if match(t) and t not in keywords]


def error_count(code: str | bytes, language: str | LanguageSpec) -> int:
    """Number of ERROR and MISSING nodes in the parse (0 for code that parses cleanly)."""
    return tree_error_count(parse_snippet(code, language).tree.root_node)


def tree_error_count(root: tree_sitter.Node) -> int:
    """ERROR + MISSING nodes under ``root``, visiting only subtrees that contain an error."""
    if not root.has_error:
        return 0
    count = 0
    cursor = root.walk()
    while True:
        n = cursor.node
        if n.is_error or n.is_missing:
            count += 1
        if n.has_error and cursor.goto_first_child():
            continue
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent():
                return count


def count_nodes(code: str | bytes, language: str | LanguageSpec) -> int:
    """Number of named AST nodes (a size measure that ignores punctuation and formatting)."""
    return snippet_node_count(parse_snippet(code, language))


def snippet_node_count(snip: Snippet) -> int:
    """Named nodes of a snippet's parse; for a wrapped snippet, those lying inside the snippet's window."""
    cursor = snip.tree.walk()
    lo, hi = snip.lo, snip.hi
    whole = not snip.wrapped
    count = 0
    while True:
        n = cursor.node
        if n.is_named and (whole or (lo <= n.start_byte and n.end_byte <= hi)):
            count += 1
        if cursor.goto_first_child():
            continue
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent():
                return count


def _docstring_statement_spans(root: tree_sitter.Node) -> list[tuple[int, int]]:
    """Byte spans of the docstring statements of a module and of every class and function in it (python's
    node types: the one language whose spec declares ``docstring_statements``)."""
    spans = []
    for n in walk(root):
        if n.type == "module":
            body = n
        elif n.type in ("function_definition", "class_definition"):
            body = n.child_by_field_name("body")
        else:
            continue
        first = next((c for c in (body.named_children if body is not None else []) if c.type != "comment"), None)
        if (first is not None and first.type == "expression_statement" and first.named_child_count == 1
                and first.named_children[0].type in ("string", "concatenated_string")):
            spans.append((first.start_byte, first.end_byte))
    return spans


def strip_comments(code: str | bytes, language: str | LanguageSpec, keep_docstring: bool = True) -> str:
    """Code with its comments removed by tree-sitter (CodeXGLUE's "comments removed from code").

    A comment alone on its line(s) takes its line with it; a trailing comment takes the spaces
    before it. Everything else, strings included, is kept byte for byte. Python docstrings are
    strings, kept unless ``keep_docstring=False`` (a language spec's ``docstring_statements``); in other
    languages doc comments are comments.
    """
    spec = get_language(language)
    snip = parse_snippet(code, spec)
    ids = comment_ids(spec)
    window = (snip.lo, snip.hi)
    spans = [(s - snip.lo, e - snip.lo) for s, e, k in leaf_spans(snip.tree.root_node, atomic_ids(spec), window=window)
             if k in ids]
    if not keep_docstring and spec.docstring_statements:
        spans = sorted(spans + _docstring_statement_spans(snip.tree.root_node))
    return _remove_spans(snip.code, spans).decode("utf-8", "replace")


def _remove_spans(src: bytes, spans: list[tuple[int, int]]) -> bytes:
    out = bytearray()
    pos = 0
    for s, e in spans:
        if s < pos:  # nested in a span already removed
            continue
        if e > s and src[e - 1:e] == b"\n":  # a line comment that owns its newline (rust)
            e -= 1
        line_start = src.rfind(b"\n", 0, s) + 1
        line_end = src.find(b"\n", e)
        line_end = len(src) if line_end < 0 else line_end
        before = src[max(line_start, pos):s]
        after = src[e:line_end]
        if not before.strip() and not after.strip() and line_start >= pos:
            out += src[pos:line_start]  # the whole line(s) go, newline included
            pos = line_end + 1 if line_end < len(src) else line_end
        else:
            out += src[pos:s].rstrip(b" \t") if not after.strip() else src[pos:s]
            pos = e
    out += src[pos:]
    return bytes(out)


def normalize_code(code: str | bytes, language: str | LanguageSpec) -> str:
    """Code without comments and whitespace differences: its non-comment tokens joined by single spaces."""
    spec = get_language(language)
    snip = parse_snippet(code, spec)
    ids = comment_ids(spec)
    spans = leaf_spans(snip.tree.root_node, atomic_ids(spec), layout=layout_ids(spec), window=(snip.lo, snip.hi))
    return " ".join(snip.src[s:e].decode("utf-8", "replace") for s, e, k in spans if k not in ids)
