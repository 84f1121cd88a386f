"""What the ``obfuscate`` step asks of a language, and the one walk every language's rules use.

A language module (named in data/languages.yaml) supports obfuscation by defining
``obfuscation(spec) -> Rules``; ``rules_for(language)`` is the one accessor. A ``Rules`` object
answers three questions about a function's subtree: ``functions`` (node types that are a function
definition), ``bindings(fn)`` (the names the function binds: parameters, assigned/declared locals,
loop/catch/with variables, nested definitions) and ``occurrences(fn)`` (every identifier node whose
name may be rewritten, in document order, with the text to rewrite and how: a plain rename,
``shorthand`` for ``{a}`` → ``{a: arg_0}``, a fixed text ``before`` the new name, or a ``span`` inside
the node, such as a name in a Rust format string).

Linear time: rules never climb ``node.parent`` chains (tree-sitter finds a parent by descending
from the root, so a climb per identifier is cubic on deeply nested code). ``walk_path`` is one
cursor walk that keeps the ancestors, the field each node hangs from and a per-node state folded
from the parent's (``inside an import``, ``nearest scope`` …), so each question is O(1) per node.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from codequarry.errors import CodequarryError

if TYPE_CHECKING:  # pragma: no cover
    import tree_sitter

    from codequarry.languages.spec import LanguageSpec

    Node = tree_sitter.Node


@dataclass(frozen=True)
class Occurrence:
    """A name in the code: the node whose bytes are rewritten, its current text, and the rewrite style."""

    node: Node
    text: str
    style: str = "plain"  # plain | shorthand (JS ``{a}`` → ``{a: new}``) | func (a call: renamed only to Func)
    recursion: bool = False  # a plain name equal to the function's may refer to the function itself
    before: str = ""  # written before the new name (Rust ``Point { ref x }`` → ``x: ref arg_0``)
    span: tuple[int, int] | None = None  # the bytes to rewrite when not the whole node (a name inside a string)

    @property
    def start(self) -> int:
        return self.span[0] if self.span is not None else self.node.start_byte

    @property
    def end(self) -> int:
        return self.span[1] if self.span is not None else self.node.end_byte


def _field_name(fn: Node) -> Node | None:
    return fn.child_by_field_name("name")


def _never(fn: Node, src: bytes) -> bool:
    return False


@dataclass(frozen=True)
class Rules:
    """A language's obfuscation rules (see the module docstring)."""

    language: str
    functions: frozenset[str]
    bindings: Callable[[Node, bytes], tuple[set[str], set[str]]]  # (bound names, excluded names)
    occurrences: Callable[[Node, bytes], Iterator[Occurrence]]
    name_of: Callable[[Node], Node | None] = _field_name
    is_method: Callable[[Node, bytes], bool] = _never
    prefix: bytes = b""  # prepended before parsing a snippet (PHP's open tag)
    wrap: tuple[bytes, bytes] | None = None  # tried when the bare snippet does not parse cleanly (methods)
    dialect: str | None = None  # another registry grammar tried when this one gives errors (typescript → tsx)
    string_docstring: bool = False  # the docstring is the body's first string statement (Python), not comments
    doc_wrappers: frozenset[str] = frozenset()  # wrap a definition; its doc comments sit before them (C++ templates)
    doc_between: frozenset[str] = frozenset()  # may sit between doc comments and the definition (Rust attributes)


def rules_for(language: str | LanguageSpec) -> Rules | None:
    """The obfuscation rules of a registered language, or None when its module defines none."""
    from codequarry.languages.spec import LANGUAGES, get_language

    spec = get_language(language)
    if LANGUAGES.get(spec.name) is spec:
        return _registered_rules(spec.name)  # built once per process
    return _build_rules(spec)


@cache
def _registered_rules(name: str) -> Rules | None:
    from codequarry.languages.spec import get_language

    return _build_rules(get_language(name))


def _build_rules(spec: LanguageSpec) -> Rules | None:
    factory = getattr(importlib.import_module(spec.extractor), "obfuscation", None)
    if factory is None:
        return None
    rules = factory(spec)
    if not isinstance(rules, Rules):
        raise CodequarryError(f"{spec.extractor}.obfuscation must return a Rules object, got {type(rules).__name__}")
    return rules


def supported_languages() -> list[str]:
    """Registered languages whose module defines obfuscation rules."""
    from codequarry.languages.spec import LANGUAGES

    return [name for name in LANGUAGES.names() if rules_for(name) is not None]


# --------------------------------------------------------------------------------------------
# The walk


@dataclass
class Path:
    """Where a ``walk_path`` stands: the node, its ancestors (walk root first), the field each hangs from
    in its parent (None at the root and for unnamed positions), and each one's folded state."""

    nodes: list[Any]
    fields: list[str | None]
    states: list[Any]

    @property
    def node(self) -> Node:
        return self.nodes[-1]

    @property
    def field(self) -> str | None:
        return self.fields[-1]

    @property
    def parent(self) -> Node | None:
        return self.nodes[-2] if len(self.nodes) > 1 else None

    @property
    def parent_field(self) -> str | None:
        """The field under which the parent hangs from the grandparent."""
        return self.fields[-2] if len(self.fields) > 1 else None

    def up(self, k: int) -> Node | None:
        """The k-th ancestor (1 = the parent), None above the walk's root."""
        i = len(self.nodes) - 1 - k
        return self.nodes[i] if i >= 0 else None

    @property
    def state(self) -> Any:
        """This node's folded state."""
        return self.states[-1]

    @property
    def above(self) -> Any:
        """The parent's folded state: what the ancestors strictly above this node say (the root's initial state
        for the root itself)."""
        return self.states[-2] if len(self.states) > 1 else self.states[-1]


Fold = Callable[[Any, Path], Any]


def walk_path(root: Node, fold: Fold | None = None, initial: Any = None) -> Iterator[Path]:
    """Every node under ``root`` (itself included) in document order, as a ``Path`` (reused between steps:
    copy what you keep). ``fold(parent_state, path)`` gives each node's state from its parent's; the root's
    state is ``initial``, so facts about the walk's root itself (the function) never fold in."""
    cursor = root.walk()
    nodes, fields, states = [cursor.node], [None], [initial]
    path = Path(nodes, fields, states)
    while True:
        yield path
        if cursor.goto_first_child():
            nodes.append(cursor.node)
            fields.append(cursor.field_name)
            states.append(fold(states[-1], path) if fold is not None else None)
            continue
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent():
                return
            nodes.pop()
            fields.pop()
            states.pop()
        nodes[-1] = cursor.node
        fields[-1] = cursor.field_name
        states[-1] = fold(states[-2], path) if fold is not None else None


def inside(types: frozenset[str]) -> Fold:
    """A fold whose state says whether the node or an ancestor below the walk's root has one of ``types``
    (``path.above`` then says whether the node is strictly inside one)."""
    def fold(state: Any, path: Path) -> bool:
        return bool(state) or path.node.type in types
    return fold


def sibling_types(node: Node) -> dict[int, tuple[str | None, str | None]]:
    """For each child of ``node`` (by id): the types of its previous and next siblings (one pass, no
    per-child sibling lookups, which cost a parent search each)."""
    kids = node.children
    out: dict[int, tuple[str | None, str | None]] = {}
    for i, c in enumerate(kids):
        out[c.id] = (kids[i - 1].type if i > 0 else None, kids[i + 1].type if i + 1 < len(kids) else None)
    return out


# --------------------------------------------------------------------------------------------
# Helpers shared by the language rules


def text(node: Node | None, src: bytes) -> str:
    return "" if node is None else src[node.start_byte:node.end_byte].decode("utf-8", "replace")


def targets(node: Node | None, through: frozenset[str], ident: frozenset[str]) -> Iterator[Node]:
    """Identifier nodes bound by an assignment target, descending only through pattern node types."""
    if node is None:
        return
    stack = [node]
    while stack:
        n = stack.pop()
        if n.type in ident:
            yield n
        elif n.type in through:
            stack.extend(reversed(n.named_children))


CLASS_WRAP = (b"class __cq__ {\n", b"\n}")
