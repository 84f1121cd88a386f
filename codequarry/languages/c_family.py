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

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from codequarry.languages import obfuscation as ob
from codequarry.languages._common import comments_above, walk_with_ancestors
from codequarry.languages.docstrings import clean_doc_comment
from codequarry.languages.functions import Candidate, ExtractionRules, text
from codequarry.languages.tokens import walk

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


# --------------------------------------------------------------------------------------------
# Obfuscation rules (the ``obfuscate`` step; codequarry.languages.obfuscation)
#
# The function name sits inside declarators (``int *f(int a)``, ``int (*f(int a))(int)``); qualifiers
# are kept and the last identifier is renamed (``ns::Box<T>::merge`` → ``ns::Box<T>::Func``), as is
# a method name in a class body. Constructors, destructors, operator overloads and conversion
# operators keep their name: it is a type name or an operator, and renaming it would turn the
# definition into another kind of function (a member-initializer list is legal only in a
# constructor); their parameters and locals are still renamed. Locals are declared names
# (``declaration`` declarators through pointer/array/reference/structured-binding declarators,
# range-for, ``if``/``switch`` init statements, catch parameters, K&R parameter declarations,
# lambda parameters and init captures, function-pointer variables ``int (*fp)(int)``); names in
# nested parameter lists of function-pointer types are not, nor is a local prototype
# ``int helper(int);`` (it names a global function). C++ parses ``T x(a);`` as a function
# declarator (the most vexing parse): when a "parameter" is a lone name it is taken as a variable
# and that name (``a``) as an expression. Kept: ``a.b``/``a->b`` fields, ``A::b`` paths (both
# sides, so a qualified recursive call ``Box::merge(…)`` keeps its name), types, labels, macro
# names and preprocessor conditions, attributes, a local class's own fields used bare in its
# methods, and every name not declared in the function. A macro argument that happens to share a
# local's name is renamed with it (macros are not expanded).


_C_DECLARATORS = frozenset({"pointer_declarator", "reference_declarator", "array_declarator", "init_declarator",
                            "parenthesized_declarator", "attributed_declarator", "variadic_declarator",
                            "structured_binding_declarator"})
_C_PARAMS = frozenset({"parameter_declaration", "optional_parameter_declaration", "variadic_parameter_declaration"})
_C_OWN_CLIMB = frozenset({"pointer_declarator", "reference_declarator", "parenthesized_declarator",
                          "attributed_declarator", "operator_cast"})
_C_SKIP_INSIDE = frozenset({"attribute_declaration", "attribute", "preproc_def", "preproc_function_def",
                            "preproc_call", "preproc_defined", "preproc_include", "preproc_params",
                            "using_declaration", "namespace_alias_definition", "alias_declaration"})
_C_FUNCTION_OWNERS = frozenset({"function_definition", "lambda_expression"})
_C_PARAM_OWNERS = frozenset({"function_declarator", "abstract_function_declarator"})
_C_NO_NAMES: frozenset[str] = frozenset()


def _c_vexing(decl: Node) -> bool:
    """A C++ ``T x(a);`` parsed as a function declarator: some "parameter" is a lone name, not a type + name."""
    params = decl.child_by_field_name("parameters")
    return params is not None and any(
        p.type == "parameter_declaration" and p.child_by_field_name("declarator") is None
        and (t := p.child_by_field_name("type")) is not None and t.type == "type_identifier"
        for p in params.named_children)


def _c_declared(node: Node | None, functions: bool, cpp: bool = False) -> Iterator[Node]:
    """Names a declarator declares; ``functions``: also the name of a function declarator (a function-pointer
    parameter), never its parameters; ``cpp``: a local ``T x(a);`` (see ``_c_vexing``) declares ``x``."""
    stack = [node] if node is not None else []
    while stack:
        n = stack.pop()
        if n.type == "identifier":
            yield n
        elif n.type == "function_declarator":
            inner = n.child_by_field_name("declarator")
            # `int (*fp)(int)` declares a pointer variable; `int g(int);` declares a function
            if inner is not None and (functions or inner.type == "parenthesized_declarator" or (cpp and _c_vexing(n))):
                stack.append(inner)
        elif n.type in ("init_declarator", "array_declarator", "pointer_declarator", "attributed_declarator"):
            inner = n.child_by_field_name("declarator")
            if inner is not None:
                stack.append(inner)
        elif n.type in _C_DECLARATORS:
            stack.extend(reversed(n.named_children))


# The state folded down one walk of the function (codequarry.languages.obfuscation.walk_path), a tuple:
#   [0] own chain: the node hangs from a function definition or lambda through its own declarator chain
#       (pointer/reference/parenthesized/attributed declarators, operator casts, a function declarator's
#       ``declarator``), so a parameter list of a function declarator there declares the body's names;
#   [1] skipped: the node sits in an attribute, a macro definition or call, a preprocessor condition, a
#       using-declaration or alias (no name there is a variable);
#   [2] local declaration: the nearest declaration, parameter or definition at or above the node is a
#       declaration (where C++'s ``T x(a);`` is a variable, not a prototype);
#   [3] member names: the fields of the local classes the node sits in (C++).
_CState = tuple[bool, bool, bool, frozenset[str]]
_C_START: _CState = (False, False, False, _C_NO_NAMES)


def _c_fold_for(cpp: bool, src: bytes) -> Callable[[_CState, ob.Path], _CState]:
    def fold(state: _CState, path: ob.Path) -> _CState:
        node, f = path.node, path.field
        t, pt = node.type, path.nodes[-2].type
        if pt in _C_OWN_CLIMB or (pt == "function_declarator" and f == "declarator"):
            chain = state[0]
        else:
            chain = pt in _C_FUNCTION_OWNERS
        skipped = state[1] or pt in _C_SKIP_INSIDE or (
            f == "condition" and pt in ("preproc_if", "preproc_elif")) or (
            f == "name" and pt in ("preproc_ifdef", "preproc_elifdef"))
        if t == "declaration":
            local = True
        elif t in _C_PARAMS or t == "function_definition":
            local = False
        else:
            local = state[2]
        names = state[3]
        if cpp and t == "field_declaration_list":
            names = names | {ob.text(c, src) for d in node.named_children if d.type == "field_declaration"
                             for c in walk(d) if c.type == "field_identifier"}
        return chain, skipped, local, names
    return fold


def _c_bindings_for(cpp: bool) -> Callable[[Node, bytes], tuple[set[str], set[str]]]:
    def bindings(fn: Node, src: bytes) -> tuple[set[str], set[str]]:
        bound: list[Node] = []
        for path in ob.walk_path(fn, _c_fold_for(False, src), _C_START):
            n = path.node
            t = n.type
            if t in _C_PARAMS:
                plist, owner = path.up(1), path.up(2)
                if plist is not None and plist.type == "parameter_list" and owner is not None and (
                        owner.type == "catch_clause" or (owner.type in _C_PARAM_OWNERS and path.states[-3][0])):
                    bound.extend(_c_declared(n.child_by_field_name("declarator"), True))
            elif t == "declaration" and n.id != fn.id:
                for i, c in enumerate(n.children):
                    if n.field_name_for_child(i) == "declarator":
                        bound.extend(_c_declared(c, False, cpp))
            elif t == "for_range_loop":
                bound.extend(_c_declared(n.child_by_field_name("declarator"), False))
            elif t == "lambda_capture_initializer":
                left = n.child_by_field_name("left")
                if left is not None and left.type == "identifier":
                    bound.append(left)
        return {ob.text(b, src) for b in bound}, set()
    return bindings


def _c_occurrences_for(cpp: bool) -> Callable[[Node, bytes], Iterator[ob.Occurrence]]:
    def occurrences(fn: Node, src: bytes) -> Iterator[ob.Occurrence]:
        for path in ob.walk_path(fn, _c_fold_for(cpp, src), _C_START):
            n, parent = path.node, path.parent
            if parent is None:
                continue
            if n.type == "identifier":
                grand = path.up(2)
                if parent.type in ("qualified_identifier", "destructor_name", "dependent_name") or (
                        parent.type == "template_function" and grand is not None
                        and grand.type == "qualified_identifier") or path.state[1]:
                    continue  # a path part, a destructor's class, a macro or preprocessor name
                if cpp and ob.text(n, src) in path.state[3]:
                    continue  # inside a local class, a bare name of one of its fields is the member
                yield ob.Occurrence(n, ob.text(n, src), recursion=True)
            elif cpp and n.type == "type_identifier" and path.field == "type" \
                    and parent.type == "parameter_declaration" and parent.child_by_field_name("declarator") is None:
                decl = path.up(3)
                if decl is not None and decl.type == "function_declarator" and _c_vexing(decl) \
                        and len(path.states) >= 5 and path.states[-5][2]:
                    yield ob.Occurrence(n, ob.text(n, src))  # `T x(a);`: `a` is an argument, not a type
    return occurrences


def _c_name_for(cpp: bool) -> Callable[[Node], Node | None]:
    def name_of(fn: Node) -> Node | None:
        decl = fn.child_by_field_name("declarator")
        while decl is not None and decl.type != "function_declarator":
            if decl.type not in ("pointer_declarator", "reference_declarator", "parenthesized_declarator",
                                 "attributed_declarator"):
                return None  # operator_cast (conversion operator) or no declarator
            decl = decl.child_by_field_name("declarator") or next(
                (c for c in decl.named_children if c.type.endswith("declarator")), None)
        # `int (*f(int a))(int)`: the named function declarator is the innermost one
        while decl is not None:
            inner = decl.child_by_field_name("declarator")
            while inner is not None and inner.type in ("pointer_declarator", "parenthesized_declarator",
                                                       "reference_declarator", "attributed_declarator"):
                inner = inner.child_by_field_name("declarator") or next(
                    (c for c in inner.named_children if c.type.endswith("declarator")), None)
            if inner is not None and inner.type == "function_declarator":
                decl = inner
                continue
            break
        target = decl.child_by_field_name("declarator") if decl is not None else None
        while target is not None and target.type == "qualified_identifier":
            target = target.child_by_field_name("name")
        if target is not None and target.type == "template_function":
            target = target.child_by_field_name("name")
        if target is None or target.type not in ("identifier", "field_identifier"):
            return None  # operator overloads and destructors keep their name
        if cpp and fn.child_by_field_name("type") is None:
            return None  # a constructor (C++ has no implicit int): its name is its class's
        return target
    return name_of


_C_WRAP = (b"struct __cq__ {\n", b"\n};")


def obfuscation(spec: LanguageSpec) -> ob.Rules:
    cpp = spec.name == "cpp"
    return ob.Rules(spec.name, frozenset({"function_definition"}), _c_bindings_for(cpp), _c_occurrences_for(cpp),
                    name_of=_c_name_for(cpp), wrap=_C_WRAP if cpp else None,
                    doc_wrappers=frozenset({"template_declaration"}) if cpp else frozenset())
