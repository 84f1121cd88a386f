"""C and C++ function definitions, in CodeSearchNet's spirit (CSN had neither).

csn scope: function definitions (with a body) at file level, inside ``extern "C" {}`` blocks and
preprocessor conditionals; for C++ also in namespaces and in the bodies of top-level classes and
structs, and out-of-class definitions such as ``void Foo::bar() {}`` (func_name ``Foo.bar``).
A C++ ``template <…>`` header belongs to the function's code. Constructors and destructors are
not taken (CSN skips Java constructors); C++ operator overloads are blacklisted. The docstring is
the run of comments directly above (each starting its own line, no blank line in between), any
style (``/** */``, ``/* */``, ``///``, ``//``), delimiters stripped.
all scope: every function definition at any depth, constructors included.
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

_TRANSPARENT = frozenset({"translation_unit", "linkage_specification", "declaration_list", "preproc_if",
                          "preproc_ifdef", "preproc_else", "preproc_elif", "preproc_elifdef",
                          "namespace_definition"})
_CLASSES = frozenset({"class_specifier", "struct_specifier", "union_specifier"})
_DECLARATORS = frozenset({"pointer_declarator", "reference_declarator", "function_declarator",
                          "parenthesized_declarator", "attributed_declarator"})


def _function_declarator(node: Node) -> Node | None:
    decl = node.child_by_field_name("declarator")
    while decl is not None and decl.type in _DECLARATORS:
        if decl.type == "function_declarator":
            inner = decl.child_by_field_name("declarator")
            if inner is None or inner.type not in _DECLARATORS:
                return decl
        decl = decl.child_by_field_name("declarator") or (decl.named_children[-1] if decl.named_child_count else None)
    return None


def _names(fn: Node, src: bytes) -> tuple[str, list[str], Node | None]:
    """(name, qualifying scopes from ``A::B::name``, parameter list) of a function definition."""
    decl = _function_declarator(fn)
    if decl is None:
        return "", [], None
    target = decl.child_by_field_name("declarator")
    scopes: list[str] = []
    while target is not None and target.type == "qualified_identifier":
        scope = target.child_by_field_name("scope")
        if scope is not None:
            scopes.append(text(scope, src).split("<")[0])
        target = target.child_by_field_name("name")
    return text(target, src), scopes, decl.child_by_field_name("parameters")


def _candidate(fn: Node, code_node: Node, src: bytes, spec: LanguageSpec, owners: list[str],
               everything: bool) -> Candidate | None:
    name, scopes, params = _names(fn, src)
    if not name:
        return None
    owners = owners + scopes
    owner = owners[-1] if owners else None
    if not everything and owner is not None and (name == owner or name.startswith("~")):
        return None  # constructor / destructor
    comments = comments_above(code_node, src, spec.comment_types)
    return Candidate(
        node=code_node, name=name, qualified_name=".".join([*owners, name]), class_name=owner,
        raw_docstring="\n".join(text(c, src) for c in comments),
        docstring="\n".join(clean_doc_comment(text(c, src)) for c in comments),
        params=params,
        reject="blacklisted" if spec.is_blacklisted(name) else None,
    )


def _unwrap_template(node: Node) -> Node | None:
    """The function definition a ``template <…>`` declaration wraps, if any."""
    for child in node.named_children:
        if child.type == "function_definition":
            return child
    return None


def find(tree: tree_sitter.Tree, src: bytes, spec: LanguageSpec, rules: ExtractionRules) -> Iterator[Candidate]:
    if rules.scope == "all":
        yield from _find_all(tree.root_node, src, spec)
        return
    stack: list[tuple[Node, list[str]]] = [(tree.root_node, [])]
    while stack:
        container, owners = stack.pop()
        nested = []
        for child in container.children:
            kind = child.type
            fn, code_node = None, child
            if kind == "function_definition":
                fn = child
            elif kind == "template_declaration":
                fn = _unwrap_template(child)
            if fn is not None:
                cand = _candidate(fn, code_node, src, spec, owners, False)
                if cand is not None:
                    yield cand
            elif kind in _TRANSPARENT:
                nested.append((child, owners))
            elif kind in _CLASSES and not owners and spec.name == "cpp":
                body = child.child_by_field_name("body")
                name = text(child.child_by_field_name("name"), src)
                if body is not None and name:
                    nested.append((body, [name]))
            elif kind == "declaration" and spec.name == "cpp" and not owners:
                # `class Foo { … } foo;` keeps the class inside a declaration
                for spec_node in child.named_children:
                    if spec_node.type in _CLASSES and spec_node.child_by_field_name("body") is not None:
                        nested.append((spec_node.child_by_field_name("body"),
                                       [text(spec_node.child_by_field_name("name"), src) or "<anonymous>"]))
        stack.extend(reversed(nested))


def _find_all(root: Node, src: bytes, spec: LanguageSpec) -> Iterator[Candidate]:
    for node, ancestors in walk_with_ancestors(root):
        if node.type != "function_definition":
            continue
        code_node = ancestors[-1] if ancestors and ancestors[-1].type == "template_declaration" else node
        owners = [text(a.child_by_field_name("name"), src) for a in ancestors if a.type in _CLASSES]
        cand = _candidate(node, code_node, src, spec, [o for o in owners if o], True)
        if cand is not None:
            yield cand
