"""Go functions and methods, after CodeSearchNet's GoParser.

Both scopes: top-level ``func`` declarations and methods (Go has no nested named functions).
The docstring is the run of comments directly above among the file's top-level nodes (any
other node resets the run; CSN does not stop at blank lines). Faithful to CSN, the raw comments
are joined with newlines, the summary rule runs on that raw text and only then are the ``//``
and ``/* */`` delimiters stripped; so a multi-paragraph ``//`` comment has no blank line in its
raw form and its summary is the whole comment. func_name is the bare name (CSN does not qualify
methods with their receiver); class_name holds the receiver type.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from codequarry.languages import obfuscation as ob
from codequarry.languages.docstrings import csn_strip_comment, docstring_summary
from codequarry.languages.functions import Candidate, ExtractionRules, text

if TYPE_CHECKING:  # pragma: no cover
    import tree_sitter

    from codequarry.languages.spec import LanguageSpec

_DEFS = frozenset({"function_declaration", "method_declaration"})


def _receiver_type(node: tree_sitter.Node, src: bytes) -> str | None:
    receiver = node.child_by_field_name("receiver")
    if receiver is None:
        return None
    for param in receiver.named_children:
        typ = param.child_by_field_name("type")
        while typ is not None and typ.type in ("pointer_type", "generic_type", "parenthesized_type"):
            typ = typ.child_by_field_name("type") or (typ.named_children[0] if typ.named_child_count else None)
        if typ is not None:
            return text(typ, src)
    return None


def find(tree: tree_sitter.Tree, src: bytes, spec: LanguageSpec, rules: ExtractionRules) -> Iterator[Candidate]:
    buffer: list[tree_sitter.Node] = []
    for child in tree.root_node.children:
        if child.type in spec.comment_types:
            buffer.append(child)
            continue
        if child.type in _DEFS:
            raw = "\n".join(text(c, src) for c in buffer)
            name = text(child.child_by_field_name("name"), src)
            receiver = _receiver_type(child, src) if child.type == "method_declaration" else None
            params = child.child_by_field_name("parameters")
            yield Candidate(
                node=child, name=name, qualified_name=name, class_name=receiver, raw_docstring=raw,
                docstring=csn_strip_comment(raw) if raw else "",
                summary=csn_strip_comment(docstring_summary(raw)) if raw else "",
                params=params,
            )
        buffer = []


# --------------------------------------------------------------------------------------------
# Obfuscation rules (the ``obfuscate`` step; codequarry.languages.obfuscation)
#
# Locals: parameters, ``var``/``const`` specs, ``:=`` declarations (range clauses too) and type-switch
# aliases; ``_`` is never renamed. Kept: struct-literal keys ``T{Name: v}``. A method never renames
# a bare call of its own name (that is a package function).

_GO_ID = frozenset({"identifier"})


def _go_bindings(fn: tree_sitter.Node, src: bytes) -> tuple[set[str], set[str]]:
    bound: list[tree_sitter.Node] = []
    for path in ob.walk_path(fn):
        n = path.node
        t = n.type
        if t in ("parameter_declaration", "variadic_parameter_declaration", "var_spec", "const_spec"):
            for i, c in enumerate(n.children):
                if n.field_name_for_child(i) == "name" and c.type == "identifier":
                    bound.append(c)
        elif t == "short_var_declaration" or (t == "range_clause" and any(c.type == ":=" for c in n.children)):
            bound.extend(ob.targets(n.child_by_field_name("left"), frozenset({"expression_list"}), _GO_ID))
        elif t == "type_switch_statement":
            bound.extend(ob.targets(n.child_by_field_name("alias"), frozenset({"expression_list"}), _GO_ID))
    return {ob.text(b, src) for b in bound} - {"_"}, set()


def _go_occurrences(fn: tree_sitter.Node, src: bytes) -> Iterator[ob.Occurrence]:
    for path in ob.walk_path(fn):
        n = path.node
        if n.type != "identifier":
            continue
        parent = path.parent
        # struct literal keys: T{Name: v} keeps Name
        if parent is not None and parent.type == "literal_element" and path.parent_field == "key":
            continue
        yield ob.Occurrence(n, ob.text(n, src), recursion=True)


def _go_is_method(fn: tree_sitter.Node, src: bytes) -> bool:
    return fn.type == "method_declaration"


def obfuscation(spec: LanguageSpec) -> ob.Rules:
    return ob.Rules(spec.name, frozenset({"function_declaration", "method_declaration"}), _go_bindings,
                    _go_occurrences, is_method=_go_is_method)
