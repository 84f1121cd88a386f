"""JavaScript (CodeSearchNet's JavascriptParser) and TypeScript/TSX functions.

JavaScript, csn scope: every ``function`` node at any depth — function declarations and
expressions, generators included (the 2019 grammar's ``function`` type); not arrow functions or
class methods. Their docstring comes from the comment siblings before the function, or before its
``var``/``let``/``const`` declaration when the function is a declarator's value, or before its
object ``pair``. CSN takes the comment right before that node, then keeps walking back through
comments and stops once a blank line separates two of them (so the first two are always taken);
each comment's delimiters are stripped and the pieces are joined with spaces. Blacklist:
toString, toLocaleString, valueOf (tested on the function's own name). CSN leaves func_name empty
for anonymous functions; here they take the name they are bound to (variable, key, assignment
target) so that name-based filters work.

TypeScript/TSX (csn scope, in CSN's spirit) and JavaScript in the all scope: also class and
object methods and arrow functions bound to a name (all scope: every arrow function), with the
run of comments directly above the function, its declaration, its ``export`` or its pair
(decorators may sit in between), stopping at a blank line. Constructors only in the all scope.
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

    Node = tree_sitter.Node

_CSN_FUNCTIONS = frozenset({"function", "function_expression", "function_declaration", "generator_function",
                            "generator_function_declaration"})
_ARROW = "arrow_function"
_METHOD = "method_definition"
_BINDINGS = frozenset({"variable_declarator", "pair", "assignment_expression", "public_field_definition",
                       "field_definition"})
_DECORATORS = frozenset({"decorator"})


def _own_name(node: Node, src: bytes) -> str:
    return text(node.child_by_field_name("name"), src)


def _binding_name(parent: Node | None, src: bytes) -> str:
    if parent is None:
        return ""
    if parent.type == "variable_declarator":
        return text(parent.child_by_field_name("name"), src)
    if parent.type == "pair":
        return text(parent.child_by_field_name("key"), src).strip("'\"`")
    if parent.type == "assignment_expression":
        return text(parent.child_by_field_name("left"), src)
    if parent.type in ("public_field_definition", "field_definition"):
        return text(parent.child_by_field_name("name") or parent.child_by_field_name("property"), src)
    return ""


def _csn_docstring(base: Node, src: bytes, comment_types: frozenset[str]) -> tuple[str, str]:
    """CSN's get_docstring walk back from ``base`` (see the module docstring); returns (raw, cleaned)."""
    prev = base.prev_sibling
    if prev is None or prev.type not in comment_types:
        return "", ""
    comments = [prev]
    prev = prev.prev_sibling
    while prev is not None and prev.type in comment_types:
        comments.append(prev)
        last_start = prev.start_point[0]
        prev = prev.prev_sibling
        if prev is None or prev.end_point[0] + 1 < last_start:
            break
    comments.reverse()
    return "\n".join(text(c, src) for c in comments), " ".join(csn_strip_comment(text(c, src)) for c in comments)


def _csn_base(node: Node, ancestors: list[Node]) -> Node:
    """CSN's base node: the declaration of a variable declarator, the object pair, or the function itself."""
    parent = ancestors[-1] if ancestors else None
    if parent is not None and parent.type == "variable_declarator" and len(ancestors) >= 2:
        return ancestors[-2]
    if parent is not None and parent.type == "pair":
        return parent
    return node


def _base(node: Node, ancestors: list[Node]) -> Node:
    """The node whose preceding comments document ``node`` (declaration, export, pair, assignment …)."""
    base = node
    depth = len(ancestors)
    parent = ancestors[-1] if depth else None
    if parent is not None and parent.type == "variable_declarator" and depth >= 2:
        base = ancestors[-2]
        if depth >= 3 and ancestors[-3].type == "export_statement":
            base = ancestors[-3]
    elif parent is not None and parent.type in ("pair", "public_field_definition", "field_definition"):
        base = parent
    elif parent is not None and parent.type == "assignment_expression" and depth >= 2:
        base = ancestors[-2] if ancestors[-2].type == "expression_statement" else parent
    elif parent is not None and parent.type == "export_statement":
        base = parent
    return base


def _extended_docstring(node: Node, ancestors: list[Node], src: bytes, comment_types: frozenset[str]) -> tuple[str, str]:
    comments = comments_above(_base(node, ancestors), src, comment_types, _DECORATORS)
    raw = "\n".join(text(c, src) for c in comments)
    return raw, "\n".join(clean_doc_comment(text(c, src)) for c in comments)


def find(tree: tree_sitter.Tree, src: bytes, spec: LanguageSpec, rules: ExtractionRules) -> Iterator[Candidate]:
    csn = spec.name == "javascript" and rules.scope == "csn"
    everything = rules.scope == "all"
    for node, ancestors in walk_with_ancestors(tree.root_node):
        kind = node.type
        if kind in _CSN_FUNCTIONS:
            if not node.is_named or node.child_count == 0:  # the `function` keyword token
                continue
        elif csn:
            continue
        elif kind == _ARROW:
            if not everything and (not ancestors or ancestors[-1].type not in _BINDINGS):
                continue
        elif kind != _METHOD:
            continue
        parent = ancestors[-1] if ancestors else None
        own = _own_name(node, src)
        name = own or _binding_name(parent, src)
        if kind == _METHOD and name == "constructor" and not everything:
            continue
        owner = None
        if kind == _METHOD and parent is not None and parent.type == "class_body" and len(ancestors) >= 2:
            owner = _own_name(ancestors[-2], src) or _binding_name(ancestors[-3] if len(ancestors) >= 3 else None, src)
        if csn:
            raw, doc = _csn_docstring(_csn_base(node, ancestors), src, spec.comment_types)
        else:
            raw, doc = _extended_docstring(node, ancestors, src, spec.comment_types)
        yield Candidate(
            node=node,
            name=name,
            qualified_name=f"{owner}.{name}" if owner else name,
            class_name=owner,
            raw_docstring=raw,
            docstring=doc,
            params=node.child_by_field_name("parameters"),
            reject="blacklisted" if own and spec.is_blacklisted(own) else None,
        )
