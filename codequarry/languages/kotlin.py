"""Kotlin functions, in CodeSearchNet's spirit (CSN had no Kotlin), and Kotlin's obfuscation rules.

csn scope: top-level ``fun`` declarations (extension functions too: func_name is the bare name) and
the functions in the bodies of top-level classes, interfaces and objects, companion objects
included (``Box.square`` for a companion's ``square``); a declaration without a body (an abstract
or interface member) is ``empty_body``. The docstring is the run of comments directly above the
function (KDoc ``/** */``, ``/* */`` or ``//``), delimiters stripped; annotations belong to the
declaration. Blacklist: ``toString``, ``hashCode``, ``equals`` (Java's counterparts; data classes
generate them). Constructors are not functions here.
all scope: every ``fun`` at any depth, qualified by its enclosing classes, objects and functions.

Grammar: fwcd's tree-sitter-kotlin (the ``tree-sitter-kotlin`` wheel).
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

_FUNCTION = "function_declaration"
_TYPES = frozenset({"class_declaration", "object_declaration"})
_SCOPES = _TYPES | {"companion_object", _FUNCTION}


def _body(node: Node) -> Node | None:
    return next((c for c in node.children if c.type in ("class_body", "enum_class_body")), None)


def _candidate(fn: Node, src: bytes, spec: LanguageSpec, owners: list[str]) -> Candidate:
    name = text(fn.child_by_field_name("name"), src)
    comments = comments_above(fn, src, spec.comment_types)
    owner = owners[-1] if owners else None
    reject = None
    if spec.is_blacklisted(name):
        reject = "blacklisted"
    elif not any(c.type == "function_body" for c in fn.children):
        reject = "empty_body"
    return Candidate(
        node=fn, name=name, qualified_name=".".join([*owners, name]), class_name=owner,
        raw_docstring="\n".join(text(c, src) for c in comments),
        docstring="\n".join(clean_doc_comment(text(c, src)) for c in comments),
        params=next((c for c in fn.children if c.type == "function_value_parameters"), None),
        param_types=frozenset({"parameter"}),
        reject=reject,
    )


def find(tree: tree_sitter.Tree, src: bytes, spec: LanguageSpec, rules: ExtractionRules) -> Iterator[Candidate]:
    root = tree.root_node
    if rules.scope == "all":
        for node, ancestors in walk_with_ancestors(root):
            if node.type == _FUNCTION:
                owners = [text(a.child_by_field_name("name"), src) for a in ancestors
                          if a.type in _SCOPES and a.type != "companion_object"]
                yield _candidate(node, src, spec, [o for o in owners if o])
        return
    for child in root.children:
        if child.type == _FUNCTION:
            yield _candidate(child, src, spec, [])
        elif child.type in _TYPES:
            owner = text(child.child_by_field_name("name"), src)
            body = _body(child)
            members = body.children if body is not None else []
            for member in members:
                if member.type == _FUNCTION:
                    yield _candidate(member, src, spec, [owner])
                elif member.type == "companion_object":
                    inner = _body(member)
                    for fn in inner.children if inner is not None else []:
                        if fn.type == _FUNCTION:
                            yield _candidate(fn, src, spec, [owner])


# --------------------------------------------------------------------------------------------
# Obfuscation rules (the ``obfuscate`` step; codequarry.languages.obfuscation)
#
# Locals: parameters, ``val``/``var`` declarations (destructuring ``val (a, b)`` too), ``for``
# variables, lambda parameters, ``when (val x = …)`` subjects, catch parameters and nested ``fun``
# names. Kept: members after ``.``/``?.``/``::`` (``box.width``), callable references ``::f``, named
# arguments ``f(name = v)``, types (``user_type``), labels, annotations and the implicit ``it``. A
# bare call of the function's own name is recursion (``Func(…)``; in a method it calls the same
# method on ``this``). In a string, ``${name}`` and ``$name`` are renamed with the local they read.

_KT_MEMBER_BEFORE = frozenset({".", "?.", "::"})
_KT_SKIP_PARENTS = frozenset({"user_type", "callable_reference", "labeled_expression", "label", "import",
                              "package_header"})
_KT_TEMPLATE_NAME = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*")


def _kt_bindings(fn: Node, src: bytes) -> tuple[set[str], set[str]]:
    bound: list[Node] = []
    for path in ob.walk_path(fn):
        n = path.node
        t = n.type
        if t in ("parameter", "variable_declaration", "catch_block"):
            first = next((c for c in n.named_children if c.type == "identifier"), None)
            if first is not None:
                bound.append(first)
        elif t == _FUNCTION and n.id != fn.id:
            name = n.child_by_field_name("name")
            if name is not None:
                bound.append(name)
    return {ob.text(b, src) for b in bound}, set()


def _kt_template_pieces(string: Node, src: bytes) -> set[int]:
    """Ids of the text pieces of a one-line string that follow a lone ``$`` piece: ``"$name!"`` parses as
    ``$`` then ``name!``, so such a piece starts with the name it reads (multi-line strings and ``${…}``
    give real interpolation nodes)."""
    kids = string.children
    return {piece.id for prev, piece in zip(kids, kids[1:])
            if piece.type == "string_content" and prev.type == "string_content"
            and src[prev.start_byte:prev.end_byte] == b"$"}


def _kt_occurrences(fn: Node, src: bytes) -> Iterator[ob.Occurrence]:
    siblings: dict[int, dict[int, tuple[str | None, str | None]]] = {}
    templates: set[int] = set()
    for path in ob.walk_path(fn):
        n, parent = path.node, path.parent
        if parent is None:
            continue
        if n.type == "string_literal":
            templates |= _kt_template_pieces(n, src)
            continue
        if n.type == "string_content" and n.id in templates:
            m = _KT_TEMPLATE_NAME.match(src, n.start_byte, n.end_byte)
            if m is not None:
                yield ob.Occurrence(n, m.group().decode("utf-8"), span=(m.start(), m.end()))
            continue
        if n.type != "identifier":
            continue
        pt = parent.type
        if pt in _KT_SKIP_PARENTS:
            continue
        if pt in ("navigation_expression", "value_argument"):
            if parent.id not in siblings:
                siblings[parent.id] = ob.sibling_types(parent)
            before, after = siblings[parent.id][n.id]
            if (pt == "navigation_expression" and before in _KT_MEMBER_BEFORE) or (pt == "value_argument"
                                                                                   and after == "="):
                continue  # `box.width`, `A::b`, `f(name = v)`
        yield ob.Occurrence(n, ob.text(n, src), recursion=True)


def obfuscation(spec: LanguageSpec) -> ob.Rules:
    return ob.Rules(spec.name, frozenset({_FUNCTION}), _kt_bindings, _kt_occurrences,
                    wrap=(b"class __Cq {\n", b"\n}"))
