"""C# methods, in CodeSearchNet's spirit (CSN had no C#), modelled on its Java rules.

csn scope: ``method_declaration`` nodes of top-level classes, structs and records (at the root or
in namespaces, file-scoped ones included; not constructors, interfaces or nested types). As for
Java, methods whose body sits on one line are dropped, and ToString, GetHashCode, Equals,
Finalize and Clone are blacklisted. The docstring is the run of comments directly above; ``///``
XML documentation is turned into text (<summary> first, then remarks, parameters and returns as
paragraphs, inline <see cref> / <paramref> / <c> reduced to their text). func_name is
``Class.Method``.
all scope: methods, constructors and local functions of every type at any depth.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from codequarry.languages import obfuscation as ob
from codequarry.languages._common import comments_above, walk_with_ancestors
from codequarry.languages.docstrings import clean_doc_comment, clean_xml_doc
from codequarry.languages.functions import Candidate, ExtractionRules, text

if TYPE_CHECKING:  # pragma: no cover
    import tree_sitter

    from codequarry.languages.spec import LanguageSpec

    Node = tree_sitter.Node

_TYPES = frozenset({"class_declaration", "struct_declaration", "record_declaration", "record_struct_declaration"})
_ALL_TYPES = _TYPES | {"interface_declaration"}
_NAMESPACES = frozenset({"namespace_declaration", "file_scoped_namespace_declaration"})


def _docstring(comments: list[Node], src: bytes) -> tuple[str, str]:
    raw = "\n".join(text(c, src) for c in comments)
    cleaned = "\n".join(clean_doc_comment(text(c, src)) for c in comments)
    if comments and all(text(c, src).lstrip().startswith("///") for c in comments):
        cleaned = clean_xml_doc(cleaned)
    return raw, cleaned


def _candidate(node: Node, src: bytes, spec: LanguageSpec, owners: list[str], everything: bool) -> Candidate:
    name = text(node.child_by_field_name("name"), src)
    raw, doc = _docstring(comments_above(node, src, spec.comment_types), src)
    body = node.child_by_field_name("body")
    reject = None
    if spec.is_blacklisted(name):
        reject = "blacklisted"
    elif body is not None and body.start_point[0] == body.end_point[0] and not everything:
        reject = "empty_body"
    return Candidate(node=node, name=name, qualified_name=".".join([*owners, name]),
                     class_name=owners[-1] if owners else None, raw_docstring=raw, docstring=doc,
                     params=node.child_by_field_name("parameters"), reject=reject)


def find(tree: tree_sitter.Tree, src: bytes, spec: LanguageSpec, rules: ExtractionRules) -> Iterator[Candidate]:
    if rules.scope == "all":
        for node, ancestors in walk_with_ancestors(tree.root_node):
            if node.type in ("method_declaration", "constructor_declaration", "local_function_statement"):
                owners = [text(a.child_by_field_name("name"), src) for a in ancestors if a.type in _ALL_TYPES]
                yield _candidate(node, src, spec, owners, True)
        return
    stack: list[Node] = [tree.root_node]
    while stack:
        container = stack.pop()
        nested = []
        for child in container.children:
            if child.type in _NAMESPACES:
                body = child.child_by_field_name("body")
                nested.append(body if body is not None else child)
            elif child.type == "declaration_list":
                nested.append(child)
            elif child.type in _TYPES:
                owner = text(child.child_by_field_name("name"), src)
                body = child.child_by_field_name("body")
                for member in body.children if body is not None else ():
                    if member.type == "method_declaration":
                        yield _candidate(member, src, spec, [owner], False)
        stack.extend(reversed(nested))


# --------------------------------------------------------------------------------------------
# Obfuscation rules (the ``obfuscate`` step; codequarry.languages.obfuscation)
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
_CS_SIBLING_PARENTS = frozenset({"subpattern", "with_initializer", "anonymous_object_creation_expression"})


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
    for path in ob.walk_path(fn):
        n = path.node
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
            around = ob.sibling_types(n)
            bound.extend(c for c in n.children if c.type == "identifier" and around[c.id][1] == "in")
        elif t == "query_expression":  # `… into g` continues the query with a new range variable
            bound.extend(c for c in n.named_children if c.type == "identifier")
        elif t == "local_function_statement" and n.id != fn.id:
            name = n.child_by_field_name("name")
            if name is not None:
                bound.append(name)
    return {ob.text(b, src) for b in bound}, set()


def _cs_occurrences(fn: tree_sitter.Node, src: bytes) -> Iterator[ob.Occurrence]:
    siblings: dict[int, dict[int, tuple[str | None, str | None]]] = {}
    for path in ob.walk_path(fn, ob.inside(_CS_SKIP_INSIDE), False):
        n = path.node
        if n.type == "implicit_parameter":
            yield ob.Occurrence(n, ob.text(n, src))
            continue
        parent = path.parent
        if n.type != "identifier" or parent is None:
            continue
        f, pt = path.field, parent.type
        if f == "type" or pt in _CS_TYPE_PARENTS or path.above:
            continue
        if (pt in ("member_access_expression", "member_binding_expression") and f == "name") \
                or (pt == "argument" and f == "name"):
            continue
        prev_type = next_type = None
        if pt in _CS_SIBLING_PARENTS:
            if parent.id not in siblings:
                siblings[parent.id] = ob.sibling_types(parent)
            prev_type, next_type = siblings[parent.id][n.id]
        if pt in ("subpattern", "with_initializer") and next_type in (":", "="):
            continue  # a property pattern `{ Length: > 0 }` or `with { X = 1 }` names a member
        grand, great = path.up(2), path.up(3)
        if pt == "assignment_expression" and f == "left" and grand is not None \
                and grand.type == "initializer_expression" and great is not None \
                and great.type in ("object_creation_expression", "implicit_object_creation_expression"):
            continue  # object initializer `new T { Name = v }`
        if pt == "anonymous_object_creation_expression" and prev_type != "=":
            if next_type == "=":
                continue
            name = ob.text(n, src)
            yield ob.Occurrence(n, name, before=f"{name} = ")  # `new { total }` keeps its member name
            continue
        yield ob.Occurrence(n, ob.text(n, src), recursion=True)


def _cs_name(fn: tree_sitter.Node) -> tree_sitter.Node | None:
    return fn.child_by_field_name("name") if fn.type in ("method_declaration", "local_function_statement") else None


def obfuscation(spec: LanguageSpec) -> ob.Rules:
    return ob.Rules(spec.name, _CS_FUNCS, _cs_bindings, _cs_occurrences, name_of=_cs_name, wrap=ob.CLASS_WRAP)
