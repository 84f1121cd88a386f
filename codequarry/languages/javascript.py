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

from codequarry.languages import obfuscation as ob
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


# --------------------------------------------------------------------------------------------
# Obfuscation rules (the ``obfuscate`` step; codequarry.languages.obfuscation); TypeScript and TSX share them
#
# Locals: parameters (patterns, defaults, rest, TypeScript's required/optional parameters), a bare
# arrow parameter, ``var``/``let``/``const`` declarators, ``for … in/of`` declarations, catch
# parameters and nested function/class declarations. Shorthand properties ``{a}`` become
# ``{a: arg_0}``; lower-case JSX tags (``<div>``) are HTML elements, never variables. An anonymous
# function takes the name it is bound to (variable, assignment target, object key).

_JS_PATTERNS = frozenset({"object_pattern", "array_pattern", "pair_pattern", "assignment_pattern", "rest_pattern",
                          "object_assignment_pattern", "required_parameter", "optional_parameter"})
_JS_ID = frozenset({"identifier", "shorthand_property_identifier_pattern"})
_JS_FUNCS = frozenset({"function_declaration", "generator_function_declaration", "function_expression", "function",
                       "generator_function", "arrow_function", "method_definition"})
_JSX_TAGS = frozenset({"jsx_opening_element", "jsx_closing_element", "jsx_self_closing_element"})


def _js_pattern_targets(node: Node | None) -> Iterator[Node]:
    """Names bound by a JS binding pattern (keys of pair patterns and default values are not)."""
    if node is None:
        return
    stack = [node]
    while stack:
        n = stack.pop()
        if n.type in _JS_ID:
            yield n
        elif n.type == "pair_pattern":
            stack.append(n.child_by_field_name("value"))
        elif n.type in ("assignment_pattern", "object_assignment_pattern"):
            stack.append(n.child_by_field_name("left"))
        elif n.type in ("required_parameter", "optional_parameter"):
            stack.append(n.child_by_field_name("pattern"))
        elif n.type in _JS_PATTERNS:
            stack.extend(reversed(n.named_children))


def _js_bindings(fn: Node, src: bytes) -> tuple[set[str], set[str]]:
    bound: list[Node] = []
    for path in ob.walk_path(fn):
        n = path.node
        t = n.type
        if t == "formal_parameters":
            for p in n.named_children:
                bound.extend(_js_pattern_targets(p))
        elif t == "arrow_function":
            p = n.child_by_field_name("parameter")
            if p is not None:
                bound.append(p)
        elif t == "variable_declarator":
            bound.extend(_js_pattern_targets(n.child_by_field_name("name")))
        elif t == "for_in_statement" and n.child_by_field_name("kind") is not None:
            bound.extend(_js_pattern_targets(n.child_by_field_name("left")))
        elif t == "catch_clause":
            bound.extend(_js_pattern_targets(n.child_by_field_name("parameter")))
        elif t in ("function_declaration", "generator_function_declaration", "class_declaration") and n.id != fn.id:
            name = n.child_by_field_name("name")
            if name is not None and name.type == "identifier":
                bound.append(name)
    return {ob.text(b, src) for b in bound}, set()


def _js_occurrences(fn: Node, src: bytes) -> Iterator[ob.Occurrence]:
    for path in ob.walk_path(fn):
        n = path.node
        if n.type == "identifier":
            parent = path.parent
            if parent is not None and parent.type in _JSX_TAGS and n.text is not None and n.text[:1].islower():
                continue  # `<div>`, `<a>`: a lower-case JSX tag is an HTML element, not a variable
            yield ob.Occurrence(n, ob.text(n, src), recursion=True)
        elif n.type in ("shorthand_property_identifier", "shorthand_property_identifier_pattern"):
            yield ob.Occurrence(n, ob.text(n, src), style="shorthand")


def _js_name(fn: Node) -> Node | None:
    name = fn.child_by_field_name("name")
    if name is not None:
        return name
    parent = fn.parent
    if parent is not None and parent.type == "variable_declarator":
        return parent.child_by_field_name("name")
    if parent is not None and parent.type == "assignment_expression":
        left = parent.child_by_field_name("left")
        return left if left is not None and left.type == "identifier" else None
    if parent is not None and parent.type == "pair":
        return parent.child_by_field_name("key")
    return None


def _js_is_method(fn: Node, src: bytes) -> bool:
    return fn.type == "method_definition"


def obfuscation(spec: LanguageSpec) -> ob.Rules:
    # a TypeScript row from a .tsx file (rows say `typescript`) parses only with the TSX grammar
    return ob.Rules(spec.name, _JS_FUNCS, _js_bindings, _js_occurrences, name_of=_js_name, is_method=_js_is_method,
                    wrap=ob.CLASS_WRAP, dialect="tsx" if spec.name == "typescript" else None)
