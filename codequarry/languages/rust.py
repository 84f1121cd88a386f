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

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from codequarry.languages import obfuscation as ob
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


# --------------------------------------------------------------------------------------------
# Obfuscation rules (the ``obfuscate`` step; codequarry.languages.obfuscation)
#
# ``fn`` items (free, in ``impl``/``trait`` blocks) are renamed to Func; generics and lifetimes
# keep their names. Locals: parameter patterns (``self`` stays ``self``), closure parameters,
# ``let``/``if let``/``while let``/``let … else`` patterns, ``for`` patterns, match-arm bindings and
# nested ``fn`` items; a pattern binds the identifiers inside tuple, slice, struct, tuple-struct,
# ``ref``/``mut``/``&``, ``|`` and ``x @ …`` patterns. By Rust's naming convention an identifier
# pattern that starts with an upper-case letter is a constant or unit variant (``None``, ``MAX``),
# not a binding. Shadowing (``let x = …; let x = …;``) keeps one placeholder per name, as every
# language here does: one name, one ``arg_i``. Kept: fields after ``.`` (``self.x``), struct field
# names in literals and patterns (``S { field: v }``; the shorthand ``S { x }`` becomes ``S { x: arg_0 }``),
# ``a::b`` paths, types, lifetimes, labels, macro names (``println!``), ``use`` items and attributes.
# Inside a macro's tokens a name is renamed unless it follows ``.`` or ``::`` (``self.x``,
# ``a::b``) or precedes ``::``/``!``; in a format string a macro receives, ``{name}`` and
# ``{name:…}`` are renamed with the local they capture. In a method (a ``self`` parameter, or an
# ``impl``/``trait`` item) a bare call of the same name is a free function and keeps its name.

_RS_PATTERNS = frozenset({"tuple_pattern", "slice_pattern", "or_pattern", "ref_pattern", "mut_pattern",
                          "reference_pattern", "captured_pattern", "match_pattern", "tuple_struct_pattern",
                          "struct_pattern", "field_pattern", "parameter", "closure_parameters"})
_RS_SKIP_PARENTS = frozenset({"lifetime", "label", "scoped_identifier", "scoped_type_identifier", "scoped_use_list",
                              "use_list", "use_as_clause", "use_wildcard", "type_binding", "type_parameter",
                              "const_parameter", "trait_bounds", "higher_ranked_trait_bound"})
_RS_SKIP_INSIDE = frozenset({"attribute_item", "inner_attribute_item", "use_declaration", "macro_definition",
                             "visibility_modifier"})
_RS_FORMAT_NAME = re.compile(rb"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)(?=[}:])")


def _rs_pattern_names(node: tree_sitter.Node | None) -> Iterator[tree_sitter.Node]:
    """Identifier (and shorthand field) nodes a pattern binds."""
    stack = [node] if node is not None else []
    while stack:
        n = stack.pop()
        t = n.type
        if t in ("identifier", "shorthand_field_identifier"):
            name = n.text.decode("utf-8", "replace") if n.text is not None else ""
            if name and not name[0].isupper():
                yield n
        elif t in _RS_PATTERNS:
            kids = []
            for i, c in enumerate(n.children):
                f = n.field_name_for_child(i)
                if not c.is_named or f in ("type", "condition") or (t == "parameter" and f != "pattern"):
                    continue
                if t == "field_pattern" and f == "name" and n.child_by_field_name("pattern") is not None:
                    continue  # `S { field: pat }`: `field` is the struct's, `pat` binds
                kids.append(c)
            stack.extend(reversed(kids))


def _rs_bindings(fn: tree_sitter.Node, src: bytes) -> tuple[set[str], set[str]]:
    bound: list[tree_sitter.Node] = []
    for path in ob.walk_path(fn):
        n = path.node
        t = n.type
        if t == "parameters":
            for p in n.named_children:
                if p.type == "parameter":
                    bound.extend(_rs_pattern_names(p.child_by_field_name("pattern")))
        elif t == "closure_parameters":
            bound.extend(_rs_pattern_names(n))
        elif t in ("let_declaration", "let_condition", "for_expression", "match_arm"):
            bound.extend(_rs_pattern_names(n.child_by_field_name("pattern")))
        elif t == "function_item" and n.id != fn.id:
            name = n.child_by_field_name("name")
            if name is not None:
                bound.append(name)
    return {ob.text(b, src) for b in bound}, set()


def _rs_format_names(node: tree_sitter.Node, src: bytes) -> Iterator[ob.Occurrence]:
    """``{name}`` / ``{name:?}`` captures in a string literal a macro receives."""
    for c in node.named_children:
        if c.type != "string_content":
            continue
        for m in _RS_FORMAT_NAME.finditer(src, c.start_byte, c.end_byte):
            if m.group(1) is not None:
                yield ob.Occurrence(c, m.group(1).decode("utf-8"), span=(m.start(1), m.end(1)))


def _rs_occurrences(fn: tree_sitter.Node, src: bytes) -> Iterator[ob.Occurrence]:
    siblings: dict[int, dict[int, tuple[str | None, str | None]]] = {}
    for path in ob.walk_path(fn, ob.inside(_RS_SKIP_INSIDE), False):
        n, parent = path.node, path.parent
        t = n.type
        if parent is None:
            continue
        if t == "shorthand_field_identifier" and parent.type == "field_pattern":
            name = ob.text(n, src)  # `S { ref mut x }` → `S { x: ref mut arg_0 }`
            yield ob.Occurrence(parent, name,
                                before=f"{name}: {src[parent.start_byte:n.start_byte].decode('utf-8', 'replace')}")
            continue
        if t == "string_literal" and parent.type == "token_tree":
            yield from _rs_format_names(n, src)
            continue
        if t != "identifier":
            continue
        pt, f = parent.type, path.field
        if pt in _RS_SKIP_PARENTS or f == "type" or (pt == "macro_invocation" and f == "macro") or path.above:
            continue
        if pt == "token_tree":
            # inside a macro's tokens: a name after `.`/`::`/`'` or before `::`/`!` is no local's
            if parent.id not in siblings:
                siblings[parent.id] = ob.sibling_types(parent)
            prev_type, next_type = siblings[parent.id][n.id]
            if prev_type in (".", "::", "'") or next_type in ("::", "!"):
                continue
        if pt == "shorthand_field_initializer":
            yield ob.Occurrence(n, ob.text(n, src), style="shorthand")
            continue
        yield ob.Occurrence(n, ob.text(n, src), recursion=True)


def _rs_is_method(fn: tree_sitter.Node, src: bytes) -> bool:
    """A method or associated function: a bare call of its name inside would name a free function."""
    params = fn.child_by_field_name("parameters")
    if params is not None and any(c.type == "self_parameter" for c in params.named_children):
        return True
    parent = fn.parent
    return parent is not None and parent.type == "declaration_list" and parent.parent is not None \
        and parent.parent.type in ("impl_item", "trait_item")


def obfuscation(spec: LanguageSpec) -> ob.Rules:
    return ob.Rules(spec.name, frozenset({"function_item"}), _rs_bindings, _rs_occurrences, is_method=_rs_is_method,
                    wrap=(b"impl __Cq {\n", b"\n}"), doc_between=frozenset({"attribute_item"}))
