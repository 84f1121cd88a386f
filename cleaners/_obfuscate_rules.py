"""Per-language rules for ``obfuscate``: which tree-sitter nodes define a function, bind a local name,
or must keep their name (attributes, keyword arguments, struct keys, imports …).

Each ``Rules`` object answers three questions about a function's subtree:
``functions`` (node types that are a function definition), ``bindings(fn)`` (the names the function
binds: parameters, assigned/declared locals, loop/catch/with variables, nested definitions) and
``occurrences(fn)`` (every identifier node whose name may be rewritten, in document order, with the
text to rewrite and how: a plain rename, ``shorthand`` for ``{a}`` → ``{a: arg_0}``, a fixed text
``before`` the new name, or a ``span`` inside the node, such as a name in a Rust format string).
"""

from __future__ import annotations

import re
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
    before: str = ""  # written before the new name (Rust ``Point { ref x }`` → ``x: ref arg_0``)
    span: tuple[int, int] | None = None  # the bytes to rewrite when not the whole node (a name inside a string)

    @property
    def start(self) -> int:
        return self.span[0] if self.span is not None else self.node.start_byte

    @property
    def end(self) -> int:
        return self.span[1] if self.span is not None else self.node.end_byte


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
    dialect: str | None = None  # another registry grammar tried when this one gives errors (typescript → tsx)


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


_JSX_TAGS = frozenset({"jsx_opening_element", "jsx_closing_element", "jsx_self_closing_element"})


def _js_occurrences(fn: tree_sitter.Node, src: bytes) -> Iterator[Occurrence]:
    for n in walk(fn):
        if n.type == "identifier":
            if n.parent is not None and n.parent.type in _JSX_TAGS and n.text is not None and n.text[:1].islower():
                continue  # `<div>`, `<a>`: a lower-case JSX tag is an HTML element, not a variable
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
                   is_method=lambda fn, src: fn.type == "method_definition", wrap=_CLASS_WRAP, dialect="tsx")
TSX = Rules("tsx", _JS_FUNCS, _js_bindings, _js_occurrences, name_of=_js_name,
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


# --------------------------------------------------------------------------------------------
# C / C++
#
# The function name sits inside declarators (``int *f(int a)``, ``int (*f(int a))(int)``); qualifiers
# are kept and the last identifier is renamed (``ns::Box<T>::merge`` → ``ns::Box<T>::Func``), as is
# a method name in a class body. Constructors, destructors, operator overloads and conversion
# operators keep their name: it is a type name or an operator, and renaming it would turn the
# definition into another kind of function (a member-initializer list is legal only in a
# constructor); their parameters and locals are still renamed. Locals are declared names
# (``declaration`` declarators through pointer/array/reference/structured-binding declarators,
# range-for, ``if``/``switch`` init statements, catch parameters, K&R parameter declarations,
# lambda parameters and init captures, function-pointer variables ``int (*fp)(int)``); names in
# nested parameter lists of function-pointer types are not, nor is a local prototype
# ``int helper(int);`` (it names a global function). C++ parses ``T x(a);`` as a function
# declarator (the most vexing parse): when a "parameter" is a lone name it is taken as a variable
# and that name (``a``) as an expression. Kept: ``a.b``/``a->b`` fields, ``A::b`` paths (both
# sides, so a qualified recursive call ``Box::merge(…)`` keeps its name), types, labels, macro
# names and preprocessor conditions, attributes, a local class's own fields used bare in its
# methods, and every name not declared in the function. A macro argument that happens to share a
# local's name is renamed with it (macros are not expanded).

_C_DECLARATORS = frozenset({"pointer_declarator", "reference_declarator", "array_declarator", "init_declarator",
                            "parenthesized_declarator", "attributed_declarator", "variadic_declarator",
                            "structured_binding_declarator"})
_C_PARAMS = frozenset({"parameter_declaration", "optional_parameter_declaration", "variadic_parameter_declaration"})
_C_OWN_CLIMB = frozenset({"pointer_declarator", "reference_declarator", "parenthesized_declarator",
                          "attributed_declarator", "operator_cast"})
_C_SKIP_INSIDE = frozenset({"attribute_declaration", "attribute", "preproc_def", "preproc_function_def",
                            "preproc_call", "preproc_defined", "preproc_include", "preproc_params",
                            "using_declaration", "namespace_alias_definition", "alias_declaration"})


def _c_vexing(decl: tree_sitter.Node) -> bool:
    """A C++ ``T x(a);`` parsed as a function declarator: some "parameter" is a lone name, not a type + name."""
    params = decl.child_by_field_name("parameters")
    return params is not None and any(
        p.type == "parameter_declaration" and p.child_by_field_name("declarator") is None
        and (t := p.child_by_field_name("type")) is not None and t.type == "type_identifier"
        for p in params.named_children)


def _c_declared(node: tree_sitter.Node | None, functions: bool, cpp: bool = False) -> Iterator[tree_sitter.Node]:
    """Names a declarator declares; ``functions``: also the name of a function declarator (a function-pointer
    parameter), never its parameters; ``cpp``: a local ``T x(a);`` (see ``_c_vexing``) declares ``x``."""
    stack = [node] if node is not None else []
    while stack:
        n = stack.pop()
        if n.type == "identifier":
            yield n
        elif n.type == "function_declarator":
            inner = n.child_by_field_name("declarator")
            # `int (*fp)(int)` declares a pointer variable; `int g(int);` declares a function
            if inner is not None and (functions or inner.type == "parenthesized_declarator" or (cpp and _c_vexing(n))):
                stack.append(inner)
        elif n.type in ("init_declarator", "array_declarator", "pointer_declarator", "attributed_declarator"):
            inner = n.child_by_field_name("declarator")
            if inner is not None:
                stack.append(inner)
        elif n.type in _C_DECLARATORS:
            stack.extend(reversed(n.named_children))


def _c_binding_params(plist: tree_sitter.Node) -> bool:
    """Whether a parameter list declares names of a function body: a definition's, a lambda's or a catch's."""
    owner = plist.parent
    if owner is None:
        return False
    if owner.type == "catch_clause":
        return True
    if owner.type not in ("function_declarator", "abstract_function_declarator"):
        return False
    n = owner
    while n.parent is not None and (n.parent.type in _C_OWN_CLIMB or (
            n.parent.type == "function_declarator" and field_of(n) == "declarator")):
        n = n.parent
    return n.parent is not None and n.parent.type in ("function_definition", "lambda_expression")


def _c_in_local_declaration(node: tree_sitter.Node, fn: tree_sitter.Node) -> bool:
    """Whether a (vexing-parse) function declarator sits in a declaration inside the function body."""
    n = node.parent
    while n is not None and n.id != fn.id:
        if n.type == "declaration":
            return True
        if n.type in _C_PARAMS or n.type == "function_definition":
            return False
        n = n.parent
    return False


def _c_bindings_for(cpp: bool) -> Callable[[tree_sitter.Node, bytes], tuple[set[str], set[str]]]:
    def bindings(fn: tree_sitter.Node, src: bytes) -> tuple[set[str], set[str]]:
        bound: list[tree_sitter.Node] = []
        for n in walk(fn):
            t = n.type
            if t in _C_PARAMS and n.parent is not None and n.parent.type == "parameter_list" \
                    and _c_binding_params(n.parent):
                bound.extend(_c_declared(n.child_by_field_name("declarator"), True))
            elif t == "declaration" and n.id != fn.id:
                for i, c in enumerate(n.children):
                    if n.field_name_for_child(i) == "declarator":
                        bound.extend(_c_declared(c, False, cpp))
            elif t == "for_range_loop":
                bound.extend(_c_declared(n.child_by_field_name("declarator"), False))
            elif t == "lambda_capture_initializer":
                left = n.child_by_field_name("left")
                if left is not None and left.type == "identifier":
                    bound.append(left)
        return {_t(b, src) for b in bound}, set()
    return bindings


def _c_skipped(n: tree_sitter.Node, fn: tree_sitter.Node) -> bool:
    """An identifier that names no variable: a path part, a destructor's class, a macro or preprocessor name."""
    parent = n.parent
    if parent is None:
        return True
    if parent.type in ("qualified_identifier", "destructor_name", "dependent_name"):
        return True
    if parent.type == "template_function" and parent.parent is not None \
            and parent.parent.type == "qualified_identifier":
        return True
    child, p = n, parent
    while p is not None and p.id != fn.id:
        if p.type in _C_SKIP_INSIDE:
            return True
        if p.type in ("preproc_if", "preproc_elif") and field_of(child) == "condition":
            return True
        if p.type in ("preproc_ifdef", "preproc_elifdef") and field_of(child) == "name":
            return True
        child, p = p, p.parent
    return False


def _c_member_of_local_class(n: tree_sitter.Node, fn: tree_sitter.Node, src: bytes,
                             fields: dict[int, set[str]]) -> bool:
    """Inside a class defined in the function, a bare name of one of its fields is the member, not a local."""
    p = n.parent
    while p is not None and p.id != fn.id:
        if p.type == "field_declaration_list":
            if p.id not in fields:
                fields[p.id] = {_t(c, src) for d in p.named_children if d.type == "field_declaration"
                                for c in walk(d) if c.type == "field_identifier"}
            if _t(n, src) in fields[p.id]:
                return True
        p = p.parent
    return False


def _c_occurrences_for(cpp: bool) -> Callable[[tree_sitter.Node, bytes], Iterator[Occurrence]]:
    def occurrences(fn: tree_sitter.Node, src: bytes) -> Iterator[Occurrence]:
        fields: dict[int, set[str]] = {}
        for n in walk(fn):
            if n.type == "identifier":
                if not _c_skipped(n, fn) and not (cpp and _c_member_of_local_class(n, fn, src, fields)):
                    yield Occurrence(n, _t(n, src), recursion=True)
            elif cpp and n.type == "type_identifier" and field_of(n) == "type" and n.parent is not None \
                    and n.parent.type == "parameter_declaration" \
                    and n.parent.child_by_field_name("declarator") is None \
                    and n.parent.parent is not None and n.parent.parent.parent is not None \
                    and n.parent.parent.parent.type == "function_declarator" \
                    and _c_vexing(n.parent.parent.parent) and _c_in_local_declaration(n.parent.parent.parent, fn):
                yield Occurrence(n, _t(n, src))  # `T x(a);`: `a` is an argument, not a type
    return occurrences


def _c_name_for(cpp: bool) -> Callable[[tree_sitter.Node], tree_sitter.Node | None]:
    def name_of(fn: tree_sitter.Node) -> tree_sitter.Node | None:
        decl = fn.child_by_field_name("declarator")
        while decl is not None and decl.type != "function_declarator":
            if decl.type not in ("pointer_declarator", "reference_declarator", "parenthesized_declarator",
                                 "attributed_declarator"):
                return None  # operator_cast (conversion operator) or no declarator
            decl = decl.child_by_field_name("declarator") or next(
                (c for c in decl.named_children if c.type.endswith("declarator")), None)
        # `int (*f(int a))(int)`: the named function declarator is the innermost one
        while decl is not None:
            inner = decl.child_by_field_name("declarator")
            while inner is not None and inner.type in ("pointer_declarator", "parenthesized_declarator",
                                                       "reference_declarator", "attributed_declarator"):
                inner = inner.child_by_field_name("declarator") or next(
                    (c for c in inner.named_children if c.type.endswith("declarator")), None)
            if inner is not None and inner.type == "function_declarator":
                decl = inner
                continue
            break
        target = decl.child_by_field_name("declarator") if decl is not None else None
        while target is not None and target.type == "qualified_identifier":
            target = target.child_by_field_name("name")
        if target is not None and target.type == "template_function":
            target = target.child_by_field_name("name")
        if target is None or target.type not in ("identifier", "field_identifier"):
            return None  # operator overloads and destructors keep their name
        if cpp and fn.child_by_field_name("type") is None:
            return None  # a constructor (C++ has no implicit int): its name is its class's
        return target
    return name_of


_C_WRAP = (b"struct __cq__ {\n", b"\n};")
C = Rules("c", frozenset({"function_definition"}), _c_bindings_for(False), _c_occurrences_for(False),
          name_of=_c_name_for(False))
CPP = Rules("cpp", frozenset({"function_definition"}), _c_bindings_for(True), _c_occurrences_for(True),
            name_of=_c_name_for(True), wrap=_C_WRAP)


# --------------------------------------------------------------------------------------------
# C#
#
# Methods and local functions are renamed to Func; constructors, destructors and operators keep
# their name (as in C++: it is the type's name or an operator). Locals: parameters (of the method,
# lambdas, anonymous methods, local functions), implicit lambda parameters, variable declarators
# (``var``, ``using``, ``fixed``, deconstruction ``var (a, b)``), foreach variables, ``out var``
# declarations, catch variables, pattern variables (``is T x``, ``case T x``, property/list/positional
# patterns), LINQ range variables (``from``, ``let``, ``join``, ``into``) and nested local functions.
# Kept: member names after ``.``/``?.`` (``this.x``), named arguments and tuple element names
# (``f(x: 1)``), object/``with`` initializer members (``new T { Name = v }``), property-pattern names,
# types, generic names, ``A::B`` aliases, attributes and labels. An anonymous-object member written
# as a bare name (``new { total }``) keeps its member name: ``new { total = arg_0 }``. A bare call
# of the method's own name is recursion (``Func(…)``). (Java's older rules do rename constructors.)

_CS_FUNCS = frozenset({"method_declaration", "local_function_statement", "constructor_declaration",
                       "destructor_declaration", "operator_declaration", "conversion_operator_declaration"})
_CS_TYPE_PARENTS = frozenset({"generic_name", "qualified_name", "alias_qualified_name", "type_argument_list",
                              "type_parameter", "type_parameter_constraint", "type_parameter_constraints_clause",
                              "array_type", "nullable_type", "pointer_type", "ref_type", "base_list", "attribute",
                              "labeled_statement", "goto_statement", "name_colon", "explicit_interface_specifier"})
_CS_SKIP_INSIDE = frozenset({"attribute_list", "using_directive", "qualified_name", "alias_qualified_name"})


def _cs_pattern_names(node: tree_sitter.Node | None) -> Iterator[tree_sitter.Node]:
    """Names a deconstruction target declares: ``x``, ``(a, (b, c))``, ``var x``, ``(int a, var b)``."""
    stack = [node] if node is not None else []
    while stack:
        n = stack.pop()
        if n.type == "identifier":
            yield n
        elif n.type in ("tuple_pattern", "parenthesized_variable_designation", "tuple_expression", "argument"):
            stack.extend(reversed([c for c in n.named_children if c.type != "implicit_type"]))
        elif n.type == "declaration_expression":
            name = n.child_by_field_name("name")
            stack.append(name if name is not None else n.named_children[-1])


def _cs_bindings(fn: tree_sitter.Node, src: bytes) -> tuple[set[str], set[str]]:
    bound: list[tree_sitter.Node] = []
    for n in walk(fn):
        t = n.type
        if t in ("parameter", "variable_declarator", "catch_declaration", "declaration_pattern", "recursive_pattern",
                 "from_clause", "declaration_expression", "var_pattern"):
            name = n.child_by_field_name("name")
            if name is not None and name.type == "identifier":
                bound.append(name)
            elif t == "variable_declarator":
                bound.extend(_cs_pattern_names(next((c for c in n.named_children if c.type == "tuple_pattern"), None)))
            elif t == "var_pattern":
                bound.extend(_cs_pattern_names(n.named_children[-1] if n.named_children else None))
        elif t == "implicit_parameter":
            bound.append(n)
        elif t == "parameter_list":  # `params int[] rest` is not wrapped in a `parameter` node
            bound.extend(c for i, c in enumerate(n.children)
                         if c.type == "identifier" and n.field_name_for_child(i) == "name")
        elif t == "foreach_statement":
            bound.extend(_cs_pattern_names(n.child_by_field_name("left")))
        elif t in ("let_clause", "join_into_clause"):
            bound.extend(c for c in n.named_children[:1] if c.type == "identifier")
        elif t == "join_clause":  # `join [Type] x in …`: the name right before `in`
            bound.extend(c for c in n.children if c.type == "identifier" and _cs_next(c) == "in")
        elif t == "query_expression":  # `… into g` continues the query with a new range variable
            bound.extend(c for c in n.named_children if c.type == "identifier")
        elif t == "local_function_statement" and n.id != fn.id:
            name = n.child_by_field_name("name")
            if name is not None:
                bound.append(name)
    return {_t(b, src) for b in bound}, set()


def _cs_next(n: tree_sitter.Node) -> str | None:
    sib = n.next_sibling
    return sib.type if sib is not None else None


def _cs_occurrences(fn: tree_sitter.Node, src: bytes) -> Iterator[Occurrence]:
    for n in walk(fn):
        if n.type == "implicit_parameter":
            yield Occurrence(n, _t(n, src))
            continue
        if n.type != "identifier" or n.parent is None:
            continue
        parent, f = n.parent, field_of(n)
        pt = parent.type
        if f == "type" or pt in _CS_TYPE_PARENTS or _inside(n, _CS_SKIP_INSIDE, fn):
            continue
        if (pt in ("member_access_expression", "member_binding_expression") and f == "name") \
                or (pt == "argument" and f == "name"):
            continue
        if pt in ("subpattern", "with_initializer") and _cs_next(n) in (":", "="):
            continue  # a property pattern `{ Length: > 0 }` or `with { X = 1 }` names a member
        if pt == "assignment_expression" and f == "left" and parent.parent is not None \
                and parent.parent.type == "initializer_expression" and parent.parent.parent is not None \
                and parent.parent.parent.type in ("object_creation_expression", "implicit_object_creation_expression"):
            continue  # object initializer `new T { Name = v }`
        if pt == "anonymous_object_creation_expression" and (n.prev_sibling is None or n.prev_sibling.type != "="):
            if _cs_next(n) == "=":
                continue
            text = _t(n, src)
            yield Occurrence(n, text, before=f"{text} = ")  # `new { total }` keeps its member name
            continue
        yield Occurrence(n, _t(n, src), recursion=True)


def _cs_name(fn: tree_sitter.Node) -> tree_sitter.Node | None:
    return fn.child_by_field_name("name") if fn.type in ("method_declaration", "local_function_statement") else None


C_SHARP = Rules("c_sharp", _CS_FUNCS, _cs_bindings, _cs_occurrences, name_of=_cs_name, wrap=_CLASS_WRAP)


# --------------------------------------------------------------------------------------------
# Rust
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
            text = n.text.decode("utf-8", "replace") if n.text is not None else ""
            if text and not text[0].isupper():
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
    for n in walk(fn):
        t = n.type
        if t == "parameters":
            for p in n.named_children:
                if p.type == "parameter":
                    bound.extend(_rs_pattern_names(p.child_by_field_name("pattern")))
        elif t == "closure_parameters":
            bound.extend(_rs_pattern_names(n))
        elif t in ("let_declaration", "let_condition", "for_expression"):
            bound.extend(_rs_pattern_names(n.child_by_field_name("pattern")))
        elif t == "match_arm":
            bound.extend(_rs_pattern_names(n.child_by_field_name("pattern")))
        elif t == "function_item" and n.id != fn.id:
            name = n.child_by_field_name("name")
            if name is not None:
                bound.append(name)
    return {_t(b, src) for b in bound}, set()


def _rs_in_macro_path(n: tree_sitter.Node) -> bool:
    """Inside a macro's token tree: a name after ``.``/``::``/``'`` or before ``::``/``!`` is no local's."""
    prev, nxt = n.prev_sibling, n.next_sibling
    return (prev is not None and prev.type in (".", "::", "'")) or (nxt is not None and nxt.type in ("::", "!"))


def _rs_format_names(node: tree_sitter.Node, src: bytes) -> Iterator[Occurrence]:
    """``{name}`` / ``{name:?}`` captures in a string literal a macro receives."""
    for c in node.named_children:
        if c.type != "string_content":
            continue
        for m in _RS_FORMAT_NAME.finditer(src, c.start_byte, c.end_byte):
            if m.group(1) is not None:
                yield Occurrence(c, m.group(1).decode("utf-8"), span=(m.start(1), m.end(1)))


def _rs_occurrences(fn: tree_sitter.Node, src: bytes) -> Iterator[Occurrence]:
    for n in walk(fn):
        t = n.type
        if t == "shorthand_field_identifier" and n.parent is not None and n.parent.type == "field_pattern":
            fp = n.parent  # `S { ref mut x }` → `S { x: ref mut arg_0 }`
            text = _t(n, src)
            yield Occurrence(fp, text, before=f"{text}: {src[fp.start_byte:n.start_byte].decode('utf-8', 'replace')}")
            continue
        if t == "string_literal" and n.parent is not None and n.parent.type == "token_tree":
            yield from _rs_format_names(n, src)
            continue
        if t != "identifier" or n.parent is None:
            continue
        parent, f = n.parent, field_of(n)
        if parent.type in _RS_SKIP_PARENTS or f == "type" or (parent.type == "macro_invocation" and f == "macro") \
                or _inside(n, _RS_SKIP_INSIDE, fn):
            continue
        if parent.type == "token_tree" and _rs_in_macro_path(n):
            continue
        if parent.type == "shorthand_field_initializer":
            yield Occurrence(n, _t(n, src), style="shorthand")
            continue
        yield Occurrence(n, _t(n, src), recursion=True)


def _rs_is_method(fn: tree_sitter.Node, src: bytes) -> bool:
    """A method or associated function: a bare call of its name inside would name a free function."""
    params = fn.child_by_field_name("parameters")
    if params is not None and any(c.type == "self_parameter" for c in params.named_children):
        return True
    parent = fn.parent
    return parent is not None and parent.type == "declaration_list" and parent.parent is not None \
        and parent.parent.type in ("impl_item", "trait_item")


RUST = Rules("rust", frozenset({"function_item"}), _rs_bindings, _rs_occurrences, is_method=_rs_is_method,
             wrap=(b"impl __Cq {\n", b"\n}"))


RULES: dict[str, Rules] = {r.language: r for r in (PYTHON, JAVA, GO, JAVASCRIPT, TYPESCRIPT, TSX, PHP, RUBY, C,
                                                    CPP, C_SHARP, RUST)}
