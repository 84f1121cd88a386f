"""PHP methods, after CodeSearchNet's PhpParser.

csn scope: methods of root-level classes and traits (classes inside a braced ``namespace {}``
block are not root-level; files using ``namespace X;`` keep their classes at the root). The
docstring is the comment immediately before the method, with CSN's delimiters stripped (so
``#`` comments keep their ``#``). Every magic method is blacklisted. func_name is
``Class.method``; the code is the whole method declaration, modifiers included.
all scope: methods of every class, trait, interface and enum, and every named function.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from codequarry.languages._common import comments_above, walk_with_ancestors
from codequarry.languages.docstrings import clean_doc_comment, csn_strip_comment
from codequarry.languages.functions import Candidate, ExtractionRules, text

if TYPE_CHECKING:  # pragma: no cover
    import tree_sitter

    from codequarry.languages.spec import LanguageSpec

_CSN_OWNERS = frozenset({"class_declaration", "trait_declaration"})
_OWNERS = _CSN_OWNERS | {"interface_declaration", "enum_declaration"}


def _candidate(node: tree_sitter.Node, src: bytes, spec: LanguageSpec, owner: str | None, raw: str,
               docstring: str) -> Candidate:
    name = text(node.child_by_field_name("name"), src)
    return Candidate(node=node, name=name, qualified_name=f"{owner}.{name}" if owner else name, class_name=owner,
                     raw_docstring=raw, docstring=docstring,
                     params=node.child_by_field_name("parameters"),
                     reject="blacklisted" if spec.is_blacklisted(name) else None)


def find(tree: tree_sitter.Tree, src: bytes, spec: LanguageSpec, rules: ExtractionRules) -> Iterator[Candidate]:
    if rules.scope == "all":
        yield from _find_all(tree.root_node, src, spec)
        return
    for decl in tree.root_node.children:
        if decl.type not in _CSN_OWNERS:
            continue
        owner = text(decl.child_by_field_name("name"), src)
        body = decl.child_by_field_name("body")
        if body is None:
            continue
        children = body.children
        for idx, node in enumerate(children):
            if node.type != "method_declaration":
                continue
            raw = text(children[idx - 1], src) if idx > 0 and children[idx - 1].type in spec.comment_types else ""
            yield _candidate(node, src, spec, owner, raw, csn_strip_comment(raw) if raw else "")


def _find_all(root: tree_sitter.Node, src: bytes, spec: LanguageSpec) -> Iterator[Candidate]:
    for node, ancestors in walk_with_ancestors(root):
        if node.type not in ("method_declaration", "function_definition"):
            continue
        owners = [text(a.child_by_field_name("name"), src) for a in ancestors if a.type in _OWNERS]
        comments = comments_above(node, src, spec.comment_types)
        raw = "\n".join(text(c, src) for c in comments)
        doc = "\n".join(clean_doc_comment(text(c, src)) for c in comments)
        cand = _candidate(node, src, spec, ".".join(owners) or None, raw, doc)
        cand.class_name = owners[-1] if owners else None
        yield cand
