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
