"""Ruby methods, after CodeSearchNet's RubyParser.

csn scope: a file whose root has an ERROR child is skipped. For each root-level ``module``, the
``def`` methods (not ``def self.x``) of the classes and sub-modules directly inside it; func_name
is ``Module.Class.method``. The docstring is the run of ``#`` lines directly above the method
(any other node breaks the run), each line stripped of spaces then of ``#`` and joined with
newlines. As in CSN, a blacklisted method (initialize, ==, hash …) does not reset the comment run,
so its comments pass to the next method. The 2019 grammar put a class's statements directly under
the class node; today they sit in a ``body_statement`` (with comments before the first statement
left outside it), so the two are read as one sequence.
all scope: every method and singleton method at any depth, qualified by its modules and classes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from codequarry.languages import obfuscation as ob
from codequarry.languages._common import end_row, walk_with_ancestors
from codequarry.languages.functions import Candidate, ExtractionRules, text

if TYPE_CHECKING:  # pragma: no cover
    import tree_sitter

    from codequarry.languages.spec import LanguageSpec

    Node = tree_sitter.Node

_OWNERS = frozenset({"module", "class", "singleton_class"})


def file_skip_reason(tree: tree_sitter.Tree, spec: LanguageSpec, rules: ExtractionRules) -> str | None:
    if rules.scope == "csn" and any(c.type == "ERROR" for c in tree.root_node.children):
        return "root_has_error"
    return None


def _flat_children(node: Node) -> Iterator[Node]:
    """A module/class's children with its body_statement's children read in place."""
    for child in node.children:
        if child.type == "body_statement":
            yield from child.children
        else:
            yield child


def _doc(comments: list[Node], src: bytes) -> tuple[str, str]:
    raw = "\n".join(text(c, src) for c in comments)
    return raw, "\n".join(text(c, src).strip().strip("#") for c in comments)


def _candidate(node: Node, src: bytes, spec: LanguageSpec, owners: list[str], comments: list[Node]) -> Candidate:
    name = text(node.child_by_field_name("name"), src)
    raw, doc = _doc(comments, src)
    return Candidate(node=node, name=name, qualified_name=".".join([*owners, name]),
                     class_name=owners[-1] if owners else None, raw_docstring=raw, docstring=doc,
                     params=node.child_by_field_name("parameters"),
                     reject="blacklisted" if spec.is_blacklisted(name) else None)


def _methods(owner: Node, src: bytes, spec: LanguageSpec, rules: ExtractionRules, module_name: str) -> Iterator[Candidate]:
    owner_name = text(owner.child_by_field_name("name"), src)
    buffer: list[Node] = []
    for child in _flat_children(owner):
        if child.type in spec.comment_types:
            buffer.append(child)
        elif child.type == "method":
            cand = _candidate(child, src, spec, [module_name, owner_name], buffer)
            yield cand
            if cand.reject == "blacklisted" and rules.apply_blacklist:
                continue  # CSN's `continue` skips the buffer reset
            buffer = []
        else:
            buffer = []


def find(tree: tree_sitter.Tree, src: bytes, spec: LanguageSpec, rules: ExtractionRules) -> Iterator[Candidate]:
    if rules.scope == "all":
        yield from _find_all(tree.root_node, src, spec)
        return
    for module in tree.root_node.children:
        if module.type != "module" or not module.is_named:
            continue
        module_name = text(module.child_by_field_name("name"), src)
        for child in _flat_children(module):
            if child.is_named and child.type in ("module", "class"):
                yield from _methods(child, src, spec, rules, module_name)


def _comments_above(node: Node, parent: Node | None, src: bytes, comment_types: frozenset[str]) -> list[Node]:
    run: list[Node] = []
    top = node.start_point[0]
    prev = node.prev_sibling
    if prev is None and parent is not None and parent.type == "body_statement":
        prev = parent.prev_sibling
    while prev is not None and prev.type in comment_types and end_row(prev) >= top - 1:
        run.append(prev)
        top = prev.start_point[0]
        prev = prev.prev_sibling
    run.reverse()
    return run


def _find_all(root: Node, src: bytes, spec: LanguageSpec) -> Iterator[Candidate]:
    for node, ancestors in walk_with_ancestors(root):
        if node.type not in ("method", "singleton_method"):
            continue
        owners = [text(a.child_by_field_name("name"), src) or "self" for a in ancestors if a.type in _OWNERS]
        parent = ancestors[-1] if ancestors else None
        yield _candidate(node, src, spec, owners, _comments_above(node, parent, src, spec.comment_types))


# --------------------------------------------------------------------------------------------
# Obfuscation rules (the ``obfuscate`` step; codequarry.languages.obfuscation)
#
# Locals: method, block and lambda parameters (optional, keyword, splat, block, destructured),
# assignment and ``for`` targets, rescue variables. A receiver-less call of the method's own name is
# recursion (``Func``); other method names after a receiver keep their names.

_RB_ID = frozenset({"identifier"})
_RB_PATTERNS = frozenset({"left_assignment_list", "destructured_left_assignment", "rest_assignment",
                          "destructured_parameter"})


def _rb_bindings(fn: tree_sitter.Node, src: bytes) -> tuple[set[str], set[str]]:
    bound: list[tree_sitter.Node] = []
    for path in ob.walk_path(fn):
        n = path.node
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
                    bound.extend(ob.targets(p, _RB_PATTERNS, _RB_ID))
        elif t in ("assignment", "operator_assignment"):
            bound.extend(ob.targets(n.child_by_field_name("left"), _RB_PATTERNS, _RB_ID))
        elif t == "for":
            bound.extend(ob.targets(n.child_by_field_name("pattern"), _RB_PATTERNS, _RB_ID))
        elif t == "exception_variable":
            bound.extend(c for c in n.named_children if c.type == "identifier")
    return {ob.text(b, src) for b in bound}, set()


def _rb_occurrences(fn: tree_sitter.Node, src: bytes) -> Iterator[ob.Occurrence]:
    for path in ob.walk_path(fn):
        n, parent = path.node, path.parent
        if n.type != "identifier" or parent is None:
            continue
        if parent.type == "call" and path.field == "method":
            if parent.child_by_field_name("receiver") is None:
                yield ob.Occurrence(n, ob.text(n, src), style="func")
            continue
        yield ob.Occurrence(n, ob.text(n, src), recursion=True)


def obfuscation(spec: LanguageSpec) -> ob.Rules:
    return ob.Rules(spec.name, frozenset({"method", "singleton_method"}), _rb_bindings, _rb_occurrences)
