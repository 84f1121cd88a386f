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
