"""Tree helpers shared by the language modules: iterative walks, names, doc-comment runs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from codequarry.languages.functions import text

if TYPE_CHECKING:  # pragma: no cover
    import tree_sitter

    Node = tree_sitter.Node


def walk_with_ancestors(root: Node, prune: Callable[[Node], bool] | None = None) -> Iterator[tuple[Node, list[Node]]]:
    """Every node with the list of its ancestors (root first), iteratively; ``prune(node)`` stops descent.

    The ancestors list is reused between steps: copy it if you keep it.
    """
    cursor = root.walk()
    ancestors: list[Node] = []
    while True:
        node = cursor.node
        yield node, ancestors
        if (prune is None or not prune(node)) and cursor.goto_first_child():
            ancestors.append(node)
            continue
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent():
                return
            ancestors.pop()


def end_row(node: Node) -> int:
    """0-based last row of a node (a node that ends right after a newline ends on the row before)."""
    row, col = node.end_point
    return row - 1 if col == 0 and row > node.start_point[0] else row


def starts_line(node: Node, src: bytes) -> bool:
    """True when only whitespace precedes the node on its first line."""
    line_start = src.rfind(b"\n", 0, node.start_byte) + 1
    return not src[line_start:node.start_byte].strip()


def comments_above(node: Node, src: bytes, comment_types: frozenset[str],
                   skip_types: frozenset[str] = frozenset(), accept: Callable[[Node], bool] | None = None) -> list[Node]:
    """The run of comments directly above ``node``, in source order, stopping at a blank line or code.

    ``skip_types`` may sit between the comments and the node (attributes, decorators); ``accept``
    filters which comments count (e.g. only Rust doc comments).
    """
    run: list[Node] = []
    top = node.start_point[0]
    prev = node.prev_sibling
    while prev is not None:
        if prev.type in skip_types and end_row(prev) >= top - 1:
            top = prev.start_point[0]
        elif (prev.type in comment_types and end_row(prev) >= top - 1 and starts_line(prev, src)
              and (accept is None or accept(prev))):
            run.append(prev)
            top = prev.start_point[0]
        else:
            break
        prev = prev.prev_sibling
    run.reverse()
    return run


def field_text(node: Node, name: str, src: bytes) -> str:
    return text(node.child_by_field_name(name), src)
