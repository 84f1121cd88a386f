"""Per-language rules for ``obfuscate``: which tree-sitter nodes define a function, bind a local name,
or must keep their name (attributes, keyword arguments, struct keys, imports …).

Each ``Rules`` object answers three questions about a function's subtree:
``functions`` (node types that are a function definition), ``bindings(fn)`` (the names the function
binds: parameters, assigned/declared locals, loop/catch/with variables, nested definitions) and
``occurrences(fn)`` (every identifier node whose name may be rewritten, in document order, with the
text to rewrite and how: a plain rename, or ``shorthand`` for ``{a}`` → ``{a: arg_0}``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from codequarry.languages.tokens import walk

if TYPE_CHECKING:  # pragma: no cover
    import tree_sitter

Node = "tree_sitter.Node"


def field_of(node: tree_sitter.Node) -> str | None:
    """The field name under which ``node`` hangs from its parent (None for unnamed positions)."""
    parent = node.parent
    if parent is None:
        return None
    for i, child in enumerate(parent.children):
        if child.id == node.id:
            return parent.field_name_for_child(i)
    return None


def targets(node: tree_sitter.Node | None, through: frozenset[str], ident: frozenset[str]) -> Iterator[tree_sitter.Node]:
    """Identifier nodes bound by an assignment target, descending only through pattern node types."""
    if node is None:
        return
    stack = [node]
    while stack:
        n = stack.pop()
        if n.type in ident:
            yield n
        elif n.type in through:
            stack.extend(reversed(n.named_children))


@dataclass(frozen=True)
class Occurrence:
    """A name in the code: the node whose bytes are rewritten, its current text, and the rewrite style."""

    node: tree_sitter.Node
    text: str
    style: str = "plain"  # plain | shorthand (JS ``{a}`` → ``{a: new}``) | func (a call: renamed only to Func)
    recursion: bool = False  # a plain name equal to the function's may refer to the function itself


@dataclass(frozen=True)
class Rules:
    language: str
    functions: frozenset[str]
    bindings: Callable[[tree_sitter.Node, bytes], tuple[set[str], set[str]]]  # (bound names, excluded names)
    occurrences: Callable[[tree_sitter.Node, bytes], Iterator[Occurrence]]
    name_of: Callable[[tree_sitter.Node], tree_sitter.Node | None] = field(default=lambda fn: fn.child_by_field_name("name"))
    is_method: Callable[[tree_sitter.Node, bytes], bool] = field(default=lambda fn, src: False)
    prefix: bytes = b""  # prepended before parsing a snippet (PHP's open tag)
    wrap: tuple[bytes, bytes] | None = None  # tried when the bare snippet does not parse cleanly (methods)


def _t(node: tree_sitter.Node | None, src: bytes) -> str:
    return "" if node is None else src[node.start_byte:node.end_byte].decode("utf-8", "replace")


def _inside(node: tree_sitter.Node, types: frozenset[str], stop: tree_sitter.Node) -> bool:
    n = node.parent
    while n is not None and n.id != stop.id:
        if n.type in types:
            return True
        n = n.parent
    return False


# --------------------------------------------------------------------------------------------
# Python

_PY_PATTERNS = frozenset({"pattern_list", "tuple_pattern", "list_pattern", "tuple", "list", "parenthesized_expression",
                          "list_splat_pattern", "list_splat", "expression_list", "as_pattern_target"})
_PY_ID = frozenset({"identifier"})
_PY_SCOPES = frozenset({"function_definition", "lambda", "class_definition"})
_PY_IMPORTS = frozenset({"import_statement", "import_from_statement", "future_import_statement", "aliased_import"})


def _py_scope(node: tree_sitter.Node, fn: tree_sitter.Node) -> str:
    n = node.parent
    while n is not None and n.id != fn.id:
        if n.type in _PY_SCOPES:
            return n.type
        n = n.parent
    return "function_definition"


def _py_bindings(fn: tree_sitter.Node, src: bytes) -> tuple[set[str], set[str]]:
    bound: list[tree_sitter.Node] = []
    excluded: set[str] = set()
    for n in walk(fn):
        t = n.type
        if t in ("parameters", "lambda_parameters"):
            for p in n.named_children:
                if p.type == "identifier":
                    bound.append(p)
                elif p.type in ("default_parameter", "typed_default_parameter"):
                    bound.extend(targets(p.child_by_field_name("name"), _PY_PATTERNS, _PY_ID))
                elif p.type in ("typed_parameter", "list_splat_pattern", "dictionary_splat_pattern"):
                    first = next((c for c in p.named_children if c.type in ("identifier", "list_splat_pattern",
                                                                               "dictionary_splat_pattern")), None)
                    bound.extend(targets(first, _PY_PATTERNS | {"dictionary_splat_pattern"}, _PY_ID))
        elif t in ("assignment", "augmented_assignment", "for_statement", "for_in_clause"):
            if _py_scope(n, fn) != "class_definition":
                bound.extend(targets(n.child_by_field_name("left"), _PY_PATTERNS, _PY_ID))
        elif t == "as_pattern_target" or (t == "named_expression"):
            node = n if t == "as_pattern_target" else n.child_by_field_name("name")
            bound.extend(targets(node, _PY_PATTERNS, _PY_ID))
        elif t in ("function_definition", "class_definition") and n.id != fn.id:
            if _py_scope(n, fn) != "class_definition":
                name = n.child_by_field_name("name")
                if name is not None:
                    bound.append(name)
        elif t in ("global_statement", "nonlocal_statement"):
            excluded.update(_t(c, src) for c in n.named_children if c.type == "identifier")
    return {_t(b, src) for b in bound}, excluded


def _py_occurrences(fn: tree_sitter.Node, src: bytes) -> Iterator[Occurrence]:
    for n in walk(fn):
        if n.type != "identifier":
            continue
        parent = n.parent
        f = field_of(n)
        if parent is not None and ((parent.type == "attribute" and f == "attribute")
                                   or (parent.type == "keyword_argument" and f == "name")
                                   or parent.type in ("global_statement", "nonlocal_statement")):
            continue
        if _inside(n, _PY_IMPORTS, fn):
            continue
        yield Occurrence(n, _t(n, src), recursion=True)


def _py_is_method(fn: tree_sitter.Node, src: bytes) -> bool:
    params = fn.child_by_field_name("parameters")
    first = params.named_children[0] if params is not None and params.named_children else None
    if first is not None and first.type != "identifier":
        first = next((c for c in first.named_children if c.type == "identifier"), None)
    return _t(first, src) in ("self", "cls")


PYTHON = Rules("python", frozenset({"function_definition"}), _py_bindings, _py_occurrences, is_method=_py_is_method)


# --------------------------------------------------------------------------------------------
# Java

_JAVA_ID = frozenset({"identifier"})


def _java_bindings(fn: tree_sitter.Node, src: bytes) -> tuple[set[str], set[str]]:
    bound: list[tree_sitter.Node] = []
    for n in walk(fn):
        t = n.type
        if t in ("formal_parameter", "catch_formal_parameter", "enhanced_for_statement", "resource",
                 "variable_declarator", "instanceof_expression"):
            name = n.child_by_field_name("name")
            if name is not None and name.type == "identifier":
                bound.append(name)
        elif t == "lambda_expression":
            params = n.child_by_field_name("parameters")
            if params is not None and params.type == "identifier":
                bound.append(params)
            elif params is not None and params.type == "inferred_parameters":
                bound.extend(c for c in params.named_children if c.type == "identifier")
        elif t in ("type_pattern", "record_pattern_component"):
            bound.extend(c for c in n.named_children if c.type == "identifier")
    return {_t(b, src) for b in bound}, set()


_JAVA_KEEP = {("field_access", "field"), ("method_invocation", "name"), ("method_declaration", "name"),
              ("constructor_declaration", "name"), ("class_declaration", "name"), ("interface_declaration", "name"),
              ("enum_declaration", "name"), ("method_reference", None), ("labeled_statement", None),
              ("break_statement", None), ("continue_statement", None), ("marker_annotation", "name"),
              ("annotation", "name"), ("element_value_pair", "key"), ("enum_constant", "name")}


def _java_occurrences(fn: tree_sitter.Node, src: bytes) -> Iterator[Occurrence]:
    for n in walk(fn):
        if n.type != "identifier" or n.parent is None:
            continue
        key = (n.parent.type, field_of(n))
        if key == ("method_invocation", "name"):
            obj = n.parent.child_by_field_name("object")
            if obj is None or obj.type == "this":
                yield Occurrence(n, _t(n, src), style="func")
            continue
        if key in _JAVA_KEEP or (n.parent.type, None) in _JAVA_KEEP:
            continue
        yield Occurrence(n, _t(n, src), recursion=False)


JAVA = Rules("java", frozenset({"method_declaration", "constructor_declaration"}), _java_bindings, _java_occurrences,
             wrap=(b"class __cq__ {\n", b"\n}"))


# --------------------------------------------------------------------------------------------
# Go

_GO_ID = frozenset({"identifier"})


def _go_bindings(fn: tree_sitter.Node, src: bytes) -> tuple[set[str], set[str]]:
    bound: list[tree_sitter.Node] = []
    for n in walk(fn):
        t = n.type
        if t in ("parameter_declaration", "variadic_parameter_declaration", "var_spec", "const_spec"):
            for i, c in enumerate(n.children):
                if n.field_name_for_child(i) == "name" and c.type == "identifier":
                    bound.append(c)
        elif t == "short_var_declaration" or (t == "range_clause" and any(c.type == ":=" for c in n.children)):
            bound.extend(targets(n.child_by_field_name("left"), frozenset({"expression_list"}), _GO_ID))
        elif t == "type_switch_statement":
            bound.extend(targets(n.child_by_field_name("alias"), frozenset({"expression_list"}), _GO_ID))
        elif t == "func_literal":
            continue
    return {_t(b, src) for b in bound} - {"_"}, set()


def _go_occurrences(fn: tree_sitter.Node, src: bytes) -> Iterator[Occurrence]:
    for n in walk(fn):
        if n.type != "identifier":
            continue
        parent = n.parent
        # struct literal keys: T{Name: v} keeps Name
        if parent is not None and parent.type == "literal_element" and field_of(parent) == "key":
            continue
        yield Occurrence(n, _t(n, src), recursion=True)


GO = Rules("go", frozenset({"function_declaration", "method_declaration"}), _go_bindings, _go_occurrences,
           is_method=lambda fn, src: fn.type == "method_declaration")


# --------------------------------------------------------------------------------------------
# JavaScript / TypeScript

_JS_PATTERNS = frozenset({"object_pattern", "array_pattern", "pair_pattern", "assignment_pattern", "rest_pattern",
                          "object_assignment_pattern", "required_parameter", "optional_parameter"})
_JS_ID = frozenset({"identifier", "shorthand_property_identifier_pattern"})
_JS_FUNCS = frozenset({"function_declaration", "generator_function_declaration", "function_expression", "function",
                       "generator_function", "arrow_function", "method_definition"})


def _js_pattern_targets(node: tree_sitter.Node | None) -> Iterator[tree_sitter.Node]:
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


def _js_bindings(fn: tree_sitter.Node, src: bytes) -> tuple[set[str], set[str]]:
    bound: list[tree_sitter.Node] = []
    for n in walk(fn):
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
    return {_t(b, src) for b in bound}, set()


def _js_occurrences(fn: tree_sitter.Node, src: bytes) -> Iterator[Occurrence]:
    for n in walk(fn):
        if n.type == "identifier":
            yield Occurrence(n, _t(n, src), recursion=True)
        elif n.type in ("shorthand_property_identifier", "shorthand_property_identifier_pattern"):
            yield Occurrence(n, _t(n, src), style="shorthand")


def _js_name(fn: tree_sitter.Node) -> tree_sitter.Node | None:
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


_CLASS_WRAP = (b"class __cq__ {\n", b"\n}")
JAVASCRIPT = Rules("javascript", _JS_FUNCS, _js_bindings, _js_occurrences, name_of=_js_name,
                   is_method=lambda fn, src: fn.type == "method_definition", wrap=_CLASS_WRAP)
TYPESCRIPT = Rules("typescript", _JS_FUNCS, _js_bindings, _js_occurrences, name_of=_js_name,
                   is_method=lambda fn, src: fn.type == "method_definition", wrap=_CLASS_WRAP)


# --------------------------------------------------------------------------------------------
# PHP

_PHP_SUPERGLOBALS = frozenset({"this", "GLOBALS", "_SERVER", "_GET", "_POST", "_FILES", "_COOKIE", "_SESSION",
                               "_REQUEST", "_ENV", "http_response_header", "argc", "argv"})


def _php_var_name(n: tree_sitter.Node) -> tree_sitter.Node | None:
    return next((c for c in n.named_children if c.type == "name"), None)


def _php_bindings(fn: tree_sitter.Node, src: bytes) -> tuple[set[str], set[str]]:
    bound: set[str] = set()
    excluded: set[str] = set(_PHP_SUPERGLOBALS)
    for n in walk(fn):
        if n.type == "variable_name" and not (n.parent is not None and n.parent.type == "scoped_property_access_expression"):
            name = _php_var_name(n)
            if name is not None:
                bound.add(_t(name, src))
        elif n.type == "global_declaration":
            for v in n.named_children:
                name = _php_var_name(v) if v.type == "variable_name" else None
                if name is not None:
                    excluded.add(_t(name, src))
    return bound, excluded


def _php_occurrences(fn: tree_sitter.Node, src: bytes) -> Iterator[Occurrence]:
    for n in walk(fn):
        if n.type == "variable_name":
            if n.parent is not None and n.parent.type == "scoped_property_access_expression":
                continue
            name = _php_var_name(n)
            if name is not None:
                yield Occurrence(name, _t(name, src))
        elif (n.type == "name" and n.parent is not None and n.parent.type == "function_call_expression"
              and fn.type == "function_definition"):
            yield Occurrence(n, _t(n, src), style="func")  # in a method, a bare call names a global function


PHP = Rules("php", frozenset({"function_definition", "method_declaration"}), _php_bindings, _php_occurrences,
            is_method=lambda fn, src: fn.type == "method_declaration", prefix=b"<?php\n", wrap=_CLASS_WRAP)


# --------------------------------------------------------------------------------------------
# Ruby

_RB_ID = frozenset({"identifier"})
_RB_PATTERNS = frozenset({"left_assignment_list", "destructured_left_assignment", "rest_assignment",
                          "destructured_parameter"})


def _rb_bindings(fn: tree_sitter.Node, src: bytes) -> tuple[set[str], set[str]]:
    bound: list[tree_sitter.Node] = []
    for n in walk(fn):
        t = n.type
        if t in ("method_parameters", "block_parameters", "lambda_parameters", "parameters"):
            for p in n.named_children:
                if p.type == "identifier":
                    bound.append(p)
                elif p.type in ("optional_parameter", "keyword_parameter", "splat_parameter", "hash_splat_parameter",
                                "block_parameter"):
                    name = p.child_by_field_name("name")
                    if name is not None:
                        bound.append(name)
                elif p.type == "destructured_parameter":
                    bound.extend(targets(p, _RB_PATTERNS, _RB_ID))
        elif t in ("assignment", "operator_assignment"):
            bound.extend(targets(n.child_by_field_name("left"), _RB_PATTERNS, _RB_ID))
        elif t == "for":
            bound.extend(targets(n.child_by_field_name("pattern"), _RB_PATTERNS, _RB_ID))
        elif t == "exception_variable":
            bound.extend(c for c in n.named_children if c.type == "identifier")
    return {_t(b, src) for b in bound}, set()


def _rb_occurrences(fn: tree_sitter.Node, src: bytes) -> Iterator[Occurrence]:
    for n in walk(fn):
        if n.type != "identifier" or n.parent is None:
            continue
        if n.parent.type == "call" and field_of(n) == "method":
            if n.parent.child_by_field_name("receiver") is None:
                yield Occurrence(n, _t(n, src), style="func")
            continue
        yield Occurrence(n, _t(n, src), recursion=True)


RUBY = Rules("ruby", frozenset({"method", "singleton_method"}), _rb_bindings, _rb_occurrences)


RULES: dict[str, Rules] = {r.language: r for r in (PYTHON, JAVA, GO, JAVASCRIPT, TYPESCRIPT, PHP, RUBY)}
