"""Python functions, after CodeSearchNet's PythonParser.

csn scope: module-level functions (decorated too; the code starts at ``def``) and methods of
module-level ``class`` statements; nothing nested, and not the methods of decorated classes
(CSN's class loop sees only bare class_definition nodes). The docstring is the first
expression statement of the body whose first child is a string, with whitespace then quotes
stripped (string prefixes such as ``r`` stay, as in CSN); it is not a code token. CSN's
is_function_empty drops bodies that start with ``pass`` or ``raise`` (it was written for the 2019
grammar whose statements were the function's direct children; here it is applied to the body
block). CSN's dunder check tests the class-qualified name, so it never fires: dunders are kept.
all scope: every function at any depth, qualified by its enclosing classes and functions.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from codequarry.languages import obfuscation as ob
from codequarry.languages._common import walk_with_ancestors
from codequarry.languages.docstrings import csn_python_docstring
from codequarry.languages.functions import Candidate, ExtractionRules, text

if TYPE_CHECKING:  # pragma: no cover
    import tree_sitter

    from codequarry.languages.spec import LanguageSpec

_EMPTY_STARTS = frozenset({"pass_statement", "raise_statement"})


def _body_facts(body: tree_sitter.Node | None) -> tuple[bool, tree_sitter.Node | None, tree_sitter.Node | None]:
    """(starts with pass/raise, docstring statement, docstring literal) of a function body, by a cursor walk
    over its statements that stops at the first expression statement whose first child is a string."""
    if body is None:
        return False, None, None
    cursor = body.walk()
    if not cursor.goto_first_child():
        return False, None, None
    empty = cursor.node.type in _EMPTY_STARTS
    while True:
        node = cursor.node
        if node.type == "expression_statement":
            first = node.child(0)
            if first is not None and first.type == "string":
                return empty, node, first
        if not cursor.goto_next_sibling():
            return empty, None, None


def _candidate(fn: tree_sitter.Node, src: bytes, scope: list[str], class_name: str | None) -> Candidate:
    name = text(fn.child_by_field_name("name"), src)
    empty, doc_stmt, doc_node = _body_facts(fn.child_by_field_name("body"))
    raw = text(doc_node, src) if doc_node is not None else ""
    return Candidate(
        node=fn,
        name=name,
        qualified_name=".".join([*scope, name]) if scope else name,
        class_name=class_name,
        raw_docstring=raw,
        docstring=csn_python_docstring(raw) if raw else "",
        params=fn.child_by_field_name("parameters"),
        reject="empty_body" if empty else None,
        doc_node=doc_node,
        doc_statement=doc_stmt,
    )


def _definitions(block: tree_sitter.Node) -> Iterator[tree_sitter.Node]:
    """Function definitions directly in a block, decorated ones included (CSN's get_function_definitions)."""
    for child in block.children:
        if child.type == "function_definition":
            yield child
        elif child.type == "decorated_definition":
            for c in child.children:
                if c.type == "function_definition":
                    yield c


def find(tree: tree_sitter.Tree, src: bytes, spec: LanguageSpec, rules: ExtractionRules) -> Iterator[Candidate]:
    root = tree.root_node
    if rules.scope == "all":
        yield from _find_all(root, src)
        return
    for child in root.children:
        if child.type in ("function_definition", "decorated_definition"):
            for fn in _definitions_of(child):
                yield _candidate(fn, src, [], None)
        elif child.type == "class_definition":
            class_name = text(child.child_by_field_name("name"), src)
            body = child.child_by_field_name("body")
            if body is not None:
                for fn in _definitions(body):
                    yield _candidate(fn, src, [class_name], class_name)


def _definitions_of(node: tree_sitter.Node) -> list[tree_sitter.Node]:
    if node.type == "function_definition":
        return [node]
    return [c for c in node.children if c.type == "function_definition"]


def _find_all(root: tree_sitter.Node, src: bytes) -> Iterator[Candidate]:
    for node, ancestors in walk_with_ancestors(root):
        if node.type != "function_definition":
            continue
        scope: list[str] = []
        owner = None
        for a in ancestors:
            if a.type in ("class_definition", "function_definition"):
                scope.append(text(a.child_by_field_name("name"), src))
                owner = a
        class_name = scope[-1] if owner is not None and owner.type == "class_definition" else None
        yield _candidate(node, src, scope, class_name)


# --------------------------------------------------------------------------------------------
# Obfuscation rules (the ``obfuscate`` step; codequarry.languages.obfuscation)
#
# Locals: parameters (lambda ones too), assignment / augmented-assignment / for / comprehension
# targets, ``as`` targets, walrus names and nested function and class names, except names assigned
# in a class body (class attributes) and names declared ``global``/``nonlocal``. Kept: attributes
# after ``.``, keyword-argument names at call sites, imports.

_PY_PATTERNS = frozenset({"pattern_list", "tuple_pattern", "list_pattern", "tuple", "list", "parenthesized_expression",
                          "list_splat_pattern", "list_splat", "expression_list", "as_pattern_target"})
_PY_ID = frozenset({"identifier"})
_PY_SCOPES = frozenset({"function_definition", "lambda", "class_definition"})
_PY_IMPORTS = frozenset({"import_statement", "import_from_statement", "future_import_statement", "aliased_import"})


def _nearest_scope(state: str, path: ob.Path) -> str:
    """Fold: the type of the nearest enclosing function, lambda or class (the function itself at its root)."""
    t = path.node.type
    return t if t in _PY_SCOPES else state


def _py_bindings(fn: tree_sitter.Node, src: bytes) -> tuple[set[str], set[str]]:
    bound: list[tree_sitter.Node] = []
    excluded: set[str] = set()
    for path in ob.walk_path(fn, _nearest_scope, "function_definition"):
        n = path.node
        t = n.type
        if t in ("parameters", "lambda_parameters"):
            for p in n.named_children:
                if p.type == "identifier":
                    bound.append(p)
                elif p.type in ("default_parameter", "typed_default_parameter"):
                    bound.extend(ob.targets(p.child_by_field_name("name"), _PY_PATTERNS, _PY_ID))
                elif p.type in ("typed_parameter", "list_splat_pattern", "dictionary_splat_pattern"):
                    first = next((c for c in p.named_children if c.type in ("identifier", "list_splat_pattern",
                                                                               "dictionary_splat_pattern")), None)
                    bound.extend(ob.targets(first, _PY_PATTERNS | {"dictionary_splat_pattern"}, _PY_ID))
        elif t in ("assignment", "augmented_assignment", "for_statement", "for_in_clause"):
            if path.above != "class_definition":
                bound.extend(ob.targets(n.child_by_field_name("left"), _PY_PATTERNS, _PY_ID))
        elif t == "as_pattern_target" or (t == "named_expression"):
            node = n if t == "as_pattern_target" else n.child_by_field_name("name")
            bound.extend(ob.targets(node, _PY_PATTERNS, _PY_ID))
        elif t in ("function_definition", "class_definition") and n.id != fn.id:
            if path.above != "class_definition":
                name = n.child_by_field_name("name")
                if name is not None:
                    bound.append(name)
        elif t in ("global_statement", "nonlocal_statement"):
            excluded.update(ob.text(c, src) for c in n.named_children if c.type == "identifier")
    return {ob.text(b, src) for b in bound}, excluded


def _py_occurrences(fn: tree_sitter.Node, src: bytes) -> Iterator[ob.Occurrence]:
    for path in ob.walk_path(fn, ob.inside(_PY_IMPORTS), False):
        n = path.node
        if n.type != "identifier":
            continue
        parent, f = path.parent, path.field
        if parent is not None and ((parent.type == "attribute" and f == "attribute")
                                   or (parent.type == "keyword_argument" and f == "name")
                                   or parent.type in ("global_statement", "nonlocal_statement")):
            continue
        if path.above:
            continue
        yield ob.Occurrence(n, ob.text(n, src), recursion=True)


def _py_is_method(fn: tree_sitter.Node, src: bytes) -> bool:
    params = fn.child_by_field_name("parameters")
    first = params.named_children[0] if params is not None and params.named_children else None
    if first is not None and first.type != "identifier":
        first = next((c for c in first.named_children if c.type == "identifier"), None)
    return ob.text(first, src) in ("self", "cls")


def obfuscation(spec: LanguageSpec) -> ob.Rules:
    return ob.Rules(spec.name, frozenset({"function_definition"}), _py_bindings, _py_occurrences,
                    is_method=_py_is_method, string_docstring=True)
