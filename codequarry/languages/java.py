"""Java methods, after CodeSearchNet's JavaParser.

csn scope: ``method_declaration`` nodes in the body of root-level classes (not constructors, not
interfaces, enums or nested classes). A method whose body sits on one line is dropped (CSN's
is_method_body_empty), blacklisted names too. The docstring is the comment immediately before
the method among the class body's children, with CSN's comment delimiters stripped.
func_name is ``Class.method``.
all scope: methods and constructors of every class, interface, enum and record at any depth.
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

_PARAMS = frozenset({"formal_parameter", "spread_parameter", "receiver_parameter"})
_TYPES = frozenset({"class_declaration", "interface_declaration", "enum_declaration", "record_declaration",
                    "annotation_type_declaration"})


def _candidate(node: tree_sitter.Node, src: bytes, spec: LanguageSpec, class_name: str, raw: str,
               docstring: str) -> Candidate:
    name = text(node.child_by_field_name("name"), src)
    body = node.child_by_field_name("body")
    reject = None
    if spec.is_blacklisted(name):
        reject = "blacklisted"
    elif body is not None and body.start_point[0] == body.end_point[0]:
        reject = "empty_body"
    return Candidate(node=node, name=name, qualified_name=f"{class_name}.{name}", class_name=class_name,
                     raw_docstring=raw, docstring=docstring,
                     params=node.child_by_field_name("parameters"), param_types=_PARAMS,
                     reject=reject)


def find(tree: tree_sitter.Tree, src: bytes, spec: LanguageSpec, rules: ExtractionRules) -> Iterator[Candidate]:
    if rules.scope == "all":
        yield from _find_all(tree.root_node, src, spec)
        return
    for cls in tree.root_node.children:
        if cls.type != "class_declaration":
            continue
        class_name = text(cls.child_by_field_name("name"), src).strip()
        body = cls.child_by_field_name("body")
        if body is None:
            continue
        children = body.children
        for idx, node in enumerate(children):
            if node.type != "method_declaration":
                continue
            raw = ""
            if idx > 0 and children[idx - 1].type in spec.comment_types:
                raw = text(children[idx - 1], src)
            yield _candidate(node, src, spec, class_name, raw, csn_strip_comment(raw) if raw else "")


def _find_all(root: tree_sitter.Node, src: bytes, spec: LanguageSpec) -> Iterator[Candidate]:
    for node, ancestors in walk_with_ancestors(root):
        if node.type not in ("method_declaration", "constructor_declaration", "compact_constructor_declaration"):
            continue
        owners = [text(a.child_by_field_name("name"), src) for a in ancestors if a.type in _TYPES]
        if not owners:
            continue
        comments = comments_above(node, src, spec.comment_types)
        raw = "\n".join(text(c, src) for c in comments)
        doc = "\n".join(clean_doc_comment(text(c, src)) for c in comments)
        cand = _candidate(node, src, spec, ".".join(owners), raw, doc)
        cand.class_name = owners[-1]
        yield cand


# --------------------------------------------------------------------------------------------
# Obfuscation rules (the ``obfuscate`` step; codequarry.languages.obfuscation)
#
# Locals: formal and catch parameters, enhanced-for, resource and declared variables, lambda
# parameters, ``instanceof``/type/record pattern variables. Kept: fields after ``.``, methods
# called on an object, declarations' own names, method references, labels, annotations, enum
# constants. A bare or ``this.`` call of the method's own name is recursion (``Func(…)``).

_JAVA_KEEP = {("field_access", "field"), ("method_invocation", "name"), ("method_declaration", "name"),
              ("constructor_declaration", "name"), ("class_declaration", "name"), ("interface_declaration", "name"),
              ("enum_declaration", "name"), ("method_reference", None), ("labeled_statement", None),
              ("break_statement", None), ("continue_statement", None), ("marker_annotation", "name"),
              ("annotation", "name"), ("element_value_pair", "key"), ("enum_constant", "name")}


def _java_bindings(fn: tree_sitter.Node, src: bytes) -> tuple[set[str], set[str]]:
    bound: list[tree_sitter.Node] = []
    for path in ob.walk_path(fn):
        n = path.node
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
    return {ob.text(b, src) for b in bound}, set()


def _java_occurrences(fn: tree_sitter.Node, src: bytes) -> Iterator[ob.Occurrence]:
    for path in ob.walk_path(fn):
        n, parent = path.node, path.parent
        if n.type != "identifier" or parent is None:
            continue
        key = (parent.type, path.field)
        if key == ("method_invocation", "name"):
            obj = parent.child_by_field_name("object")
            if obj is None or obj.type == "this":
                yield ob.Occurrence(n, ob.text(n, src), style="func")
            continue
        if key in _JAVA_KEEP or (parent.type, None) in _JAVA_KEEP:
            continue
        yield ob.Occurrence(n, ob.text(n, src), recursion=False)


def obfuscation(spec: LanguageSpec) -> ob.Rules:
    return ob.Rules(spec.name, frozenset({"method_declaration", "constructor_declaration"}), _java_bindings,
                    _java_occurrences, wrap=ob.CLASS_WRAP)
