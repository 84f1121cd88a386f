"""PHP methods, after CodeSearchNet's PhpParser.

csn scope: methods of root-level classes and traits (classes inside a braced ``namespace {}``
block are not root-level; files using ``namespace X;`` keep their classes at the root). The
docstring is the comment immediately before the method, with CSN's delimiters stripped (so
``#`` comments keep their ``#``). Every magic method is blacklisted. func_name is
``Class.method``; the code is the whole method declaration, modifiers included.
all scope: methods of every class, trait, interface and enum, and every named function.
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

_CSN_OWNERS = frozenset({"class_declaration", "trait_declaration"})
_OWNERS = _CSN_OWNERS | {"interface_declaration", "enum_declaration"}


def _candidate(node: tree_sitter.Node, src: bytes, spec: LanguageSpec, owner: str | None, raw: str,
               docstring: str) -> Candidate:
    name = text(node.child_by_field_name("name"), src)
    return Candidate(node=node, name=name, qualified_name=f"{owner}.{name}" if owner else name, class_name=owner,
                     raw_docstring=raw, docstring=docstring,
                     params=node.child_by_field_name("parameters"),
                     reject="blacklisted" if spec.is_blacklisted(name) else None)


def find(tree: tree_sitter.Tree, src: bytes, spec: LanguageSpec, rules: ExtractionRules) -> Iterator[Candidate]:
    if rules.scope == "all":
        yield from _find_all(tree.root_node, src, spec)
        return
    for decl in tree.root_node.children:
        if decl.type not in _CSN_OWNERS:
            continue
        owner = text(decl.child_by_field_name("name"), src)
        body = decl.child_by_field_name("body")
        if body is None:
            continue
        children = body.children
        for idx, node in enumerate(children):
            if node.type != "method_declaration":
                continue
            raw = text(children[idx - 1], src) if idx > 0 and children[idx - 1].type in spec.comment_types else ""
            yield _candidate(node, src, spec, owner, raw, csn_strip_comment(raw) if raw else "")


def _find_all(root: tree_sitter.Node, src: bytes, spec: LanguageSpec) -> Iterator[Candidate]:
    for node, ancestors in walk_with_ancestors(root):
        if node.type not in ("method_declaration", "function_definition"):
            continue
        owners = [text(a.child_by_field_name("name"), src) for a in ancestors if a.type in _OWNERS]
        comments = comments_above(node, src, spec.comment_types)
        raw = "\n".join(text(c, src) for c in comments)
        doc = "\n".join(clean_doc_comment(text(c, src)) for c in comments)
        cand = _candidate(node, src, spec, ".".join(owners) or None, raw, doc)
        cand.class_name = owners[-1] if owners else None
        yield cand


# --------------------------------------------------------------------------------------------
# Obfuscation rules (the ``obfuscate`` step; codequarry.languages.obfuscation)
#
# Every ``$variable`` the function uses is a local, except ``$this``, the superglobals and names
# declared ``global``; ``A::$static`` properties keep their names. In a function (not a method) a
# bare call of its own name is recursion. Snippets are parsed after ``<?php``.

_PHP_SUPERGLOBALS = frozenset({"this", "GLOBALS", "_SERVER", "_GET", "_POST", "_FILES", "_COOKIE", "_SESSION",
                               "_REQUEST", "_ENV", "http_response_header", "argc", "argv"})


def _php_var_name(n: tree_sitter.Node) -> tree_sitter.Node | None:
    return next((c for c in n.named_children if c.type == "name"), None)


def _php_bindings(fn: tree_sitter.Node, src: bytes) -> tuple[set[str], set[str]]:
    bound: set[str] = set()
    excluded: set[str] = set(_PHP_SUPERGLOBALS)
    for path in ob.walk_path(fn):
        n, parent = path.node, path.parent
        if n.type == "variable_name" and not (parent is not None and parent.type == "scoped_property_access_expression"):
            name = _php_var_name(n)
            if name is not None:
                bound.add(ob.text(name, src))
        elif n.type == "global_declaration":
            for v in n.named_children:
                name = _php_var_name(v) if v.type == "variable_name" else None
                if name is not None:
                    excluded.add(ob.text(name, src))
    return bound, excluded


def _php_occurrences(fn: tree_sitter.Node, src: bytes) -> Iterator[ob.Occurrence]:
    for path in ob.walk_path(fn):
        n, parent = path.node, path.parent
        if n.type == "variable_name":
            if parent is not None and parent.type == "scoped_property_access_expression":
                continue
            name = _php_var_name(n)
            if name is not None:
                yield ob.Occurrence(name, ob.text(name, src))
        elif (n.type == "name" and parent is not None and parent.type == "function_call_expression"
              and fn.type == "function_definition"):
            yield ob.Occurrence(n, ob.text(n, src), style="func")  # in a method, a bare call names a global function


def _php_is_method(fn: tree_sitter.Node, src: bytes) -> bool:
    return fn.type == "method_declaration"


def obfuscation(spec: LanguageSpec) -> ob.Rules:
    return ob.Rules(spec.name, frozenset({"function_definition", "method_declaration"}), _php_bindings,
                    _php_occurrences, is_method=_php_is_method, prefix=b"<?php\n", wrap=ob.CLASS_WRAP)
