"""Rust functions, in CodeSearchNet's spirit (CSN had no Rust).

csn scope: ``fn`` items at the top level, in ``mod`` blocks, and in ``impl`` and ``trait`` blocks
(with a body; not functions nested in function bodies). The docstring is the run of outer doc
comments (``///`` lines or ``/** */``) directly above the item; attributes such as ``#[inline]``
may sit between. Inner doc comments (``//!``) document the enclosing module and plain ``//``
comments are not documentation, so neither counts. func_name is ``Type.method`` for impl and
trait items (generic arguments dropped), else the bare name. Blacklist: the std-trait plumbing
(fmt, clone, eq, hash, cmp, drop …).
all scope: every ``fn`` with a body at any depth.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from codequarry.languages._common import comments_above, walk_with_ancestors
from codequarry.languages.docstrings import clean_doc_comment
from codequarry.languages.functions import Candidate, ExtractionRules, text

if TYPE_CHECKING:  # pragma: no cover
    import tree_sitter

    from codequarry.languages.spec import LanguageSpec

    Node = tree_sitter.Node

_ATTRIBUTES = frozenset({"attribute_item"})
_CONTAINERS = frozenset({"mod_item", "impl_item", "trait_item"})


def _is_outer_doc(comment: Node) -> bool:
    return comment.child_by_field_name("outer") is not None


def _owner_name(node: Node, src: bytes) -> str | None:
    if node.type == "trait_item":
        return text(node.child_by_field_name("name"), src)
    if node.type == "impl_item":
        typ = node.child_by_field_name("type")
        while typ is not None and typ.type in ("generic_type", "reference_type", "scoped_type_identifier"):
            typ = typ.child_by_field_name("type") or typ.child_by_field_name("name")
        return text(typ, src) if typ is not None else None
    return None


def _candidate(node: Node, src: bytes, spec: LanguageSpec, owner: str | None) -> Candidate:
    name = text(node.child_by_field_name("name"), src)
    comments = comments_above(node, src, spec.comment_types, _ATTRIBUTES, _is_outer_doc)
    return Candidate(
        node=node, name=name, qualified_name=f"{owner}.{name}" if owner else name, class_name=owner,
        raw_docstring="".join(text(c, src) for c in comments),
        docstring="\n".join(clean_doc_comment(text(c, src)) for c in comments),
        params=node.child_by_field_name("parameters"),
        reject="blacklisted" if spec.is_blacklisted(name) else None,
    )


def find(tree: tree_sitter.Tree, src: bytes, spec: LanguageSpec, rules: ExtractionRules) -> Iterator[Candidate]:
    if rules.scope == "all":
        for node, ancestors in walk_with_ancestors(tree.root_node):
            if node.type == "function_item":
                owner = next((_owner_name(a, src) for a in reversed(ancestors) if a.type in ("impl_item", "trait_item")),
                             None)
                yield _candidate(node, src, spec, owner)
        return
    stack: list[tuple[Node, str | None]] = [(tree.root_node, None)]
    while stack:
        container, owner = stack.pop()
        body = container if container.type == "source_file" else container.child_by_field_name("body")
        if body is None:
            continue
        nested = []
        for child in body.children:
            if child.type == "function_item":
                yield _candidate(child, src, spec, owner)
            elif child.type in _CONTAINERS:
                nested.append((child, _owner_name(child, src)))
        stack.extend(reversed(nested))
