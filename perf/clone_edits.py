"""Tree-sitter edits of real Python functions: the mutation operators ``perf/clones.py`` combines into clones.

Each operator changes a function the way clone benchmarks' mutation frameworks do (Roy & Cordy's
mutation/injection framework; CloneGen's semantics-preserving transformations; BigCloneBench's Type-3
reading of "statements added, removed or modified"), and every result still parses:

* ``rename``: k of the n *locals* renamed consistently (parameters and names bound in the function:
  assignment, ``for``, ``with … as``, ``except … as``, comprehension targets; not ``self``/``cls``,
  globals, attributes, called library names or keyword-argument names);
* ``reformat``: trailing spaces, a blank line after the signature, a space after every comma;
* ``comment``: a comment line before one statement and a trailing comment after another;
* ``insert`` / ``delete``: k statements inserted (a guard, a trace or a bookkeeping line on a local) /
  k one-line statements deleted (never the only statement of a block);
* ``modify``: k one-line statements changed in place (an argument added or dropped, an expression
  wrapped in a conversion or extended with ``or``, an operator changed: small in-line insertions,
  deletions and modifications);
* ``literal``: 1–3 literal values changed (numbers, string words);
* ``swap``: operands swapped where harmless (``a < b`` → ``b > a``, ``a == b`` → ``b == a``, two adjacent
  keyword arguments);
* ``reorder``: two adjacent independent one-line assignments (neither reads or binds what the other binds)
  swapped.

Operators that find no place to act return the code unchanged (``rename`` returns None without locals).
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from functools import lru_cache

COMMENTS = ["check the cached value first", "TODO handle the empty case", "see the notes above",
            "keep the original order here", "fast path for small inputs", "this mirrors the reference version"]
NEW_NAMES = ["value", "item", "result", "data", "tmp", "node", "count", "key", "obj", "entry", "buf", "acc",
             "current", "target", "source", "payload", "element", "record", "chunk", "index", "total", "state"]
LITERAL_WORDS = ["missing value", "done", "unexpected input", "ok", "retry", "default", "n/a", "skipped"]
_BINDERS = {"assignment": "left", "augmented_assignment": "left", "for_statement": "left",
            "for_in_clause": "left", "as_pattern_target": None, "named_expression": "name"}
_WORD = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")
_MIRROR = {"==": "==", "!=": "!=", "<": ">", ">": "<", "<=": ">=", ">=": "<="}
_OPERATOR = {"==": "!=", "!=": "==", "<": "<=", "<=": "<", ">": ">=", ">=": ">", "+": "-", "-": "+", "and": "or",
             "or": "and"}
@lru_cache(maxsize=1)
def _parser():
    import tree_sitter
    import tree_sitter_python

    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_python.language()))


def _walk(node) -> Iterator:
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(n.children))


def _function(src: bytes):
    root = _parser().parse(src).root_node
    return next((n for n in _walk(root) if n.type == "function_definition"), None)


def _names_in(node) -> Iterator:
    """Identifier nodes bound by a target (plain names, tuples/lists of names, starred names)."""
    if node is None:
        return
    if node.type == "identifier":
        yield node
    elif node.type in ("pattern_list", "tuple_pattern", "list_pattern", "list_splat_pattern", "tuple", "list",
                       "parenthesized_expression"):
        for c in node.named_children:
            yield from _names_in(c)


def locals_of(fn, src: bytes) -> list[str]:
    """The function's locals in first-binding order: parameters and names it binds (not self/cls, globals)."""
    out: list[str] = []
    declared: set[str] = set()
    params = fn.child_by_field_name("parameters")
    for p in params.named_children if params is not None else []:
        node = p if p.type == "identifier" else (p.child_by_field_name("name") or next(
            (c for c in p.named_children if c.type == "identifier"), None))
        if node is not None and node.type == "identifier":
            out.append(src[node.start_byte:node.end_byte].decode())
    for n in _walk(fn):
        if n.type in ("global_statement", "nonlocal_statement"):
            declared.update(src[c.start_byte:c.end_byte].decode() for c in n.named_children)
        field = _BINDERS.get(n.type, "")
        if field == "":
            continue
        target = n if field is None else n.child_by_field_name(field)
        if n.type == "as_pattern_target":
            target = n.named_children[0] if n.named_children else None
        out.extend(src[i.start_byte:i.end_byte].decode() for i in _names_in(target))
    name = fn.child_by_field_name("name")
    own = src[name.start_byte:name.end_byte].decode() if name is not None else ""
    return [x for x in dict.fromkeys(out) if x not in declared and x not in ("self", "cls", own)]


def _occurrences(fn, src: bytes, names: set[str]) -> list:
    """Identifier nodes naming one of ``names`` as a variable (not an attribute, not a keyword argument name)."""
    out = []
    for n in _walk(fn):
        if n.type != "identifier" or src[n.start_byte:n.end_byte].decode() not in names:
            continue
        parent = n.parent
        if parent is not None and parent.type == "attribute" and parent.child_by_field_name("attribute") == n:
            continue
        if parent is not None and parent.type == "keyword_argument" and parent.child_by_field_name("name") == n:
            continue
        out.append(n)
    return out


def _replace(src: bytes, spans: list[tuple[int, int, bytes]]) -> bytes:
    out, pos = bytearray(), 0
    for start, end, text in sorted(spans):
        out += src[pos:start] + text
        pos = end
    return bytes(out + src[pos:])


def rename(code: str, share: float, rng: random.Random) -> str | None:
    """``code`` with k = max(1, round(share·n)) of its n locals renamed consistently; None without locals."""
    src = code.encode("utf-8")
    fn = _function(src)
    if fn is None:
        return None
    names = locals_of(fn, src)
    if not names:
        return None
    k = max(1, round(share * len(names)))
    chosen = rng.sample(names, k)
    taken = set(_WORD.findall(code))
    mapping: dict[str, str] = {}
    for old in chosen:
        pool = [w for w in NEW_NAMES if w not in taken]
        new = rng.choice(pool) if pool else old + "_2"
        taken.add(new)
        mapping[old] = new
    spans = [(n.start_byte, n.end_byte, mapping[src[n.start_byte:n.end_byte].decode()].encode())
             for n in _occurrences(fn, src, set(mapping))]
    return _replace(src, spans).decode("utf-8")


def reformat(code: str, rng: random.Random) -> str:
    """Whitespace only: a space after each comma token, a blank line after the signature, trailing spaces."""
    src = code.encode("utf-8")
    root = _parser().parse(src).root_node
    commas = [(n.end_byte, n.end_byte, b" ") for n in _walk(root) if n.type == "," and n.child_count == 0]
    text = _replace(src, commas).decode("utf-8")
    first, _, rest = text.partition("\n")
    text = first + "\n\n" + rest if rest else text
    return "\n".join(line + " " * rng.randint(1, 3) if line.strip() else line for line in text.split("\n"))


def _statements(fn) -> list:
    """Statements of the function body and of nested blocks, each starting its own line."""
    body = fn.child_by_field_name("body")
    out = []
    for n in _walk(body) if body is not None else []:
        if n.parent is not None and n.parent.type == "block" and n.type.endswith("statement") \
                and n.start_point[0] > fn.start_point[0]:
            out.append(n)
    return out


def _line_start(src: bytes, at: int) -> int:
    return src.rfind(b"\n", 0, at) + 1


def comment(code: str, rng: random.Random) -> str:
    """A comment line before one statement and a trailing comment after another one-line statement."""
    src = code.encode("utf-8")
    fn = _function(src)
    stmts = _statements(fn) if fn is not None else []
    if not stmts:
        return code
    spans = []
    stmt = rng.choice(stmts)
    start = _line_start(src, stmt.start_byte)
    indent = src[start:stmt.start_byte]
    if not indent.strip():
        spans.append((start, start, indent + f"# {rng.choice(COMMENTS)}\n".encode()))
    one_line = [s for s in stmts if s.start_point[0] == s.end_point[0] and s is not stmt]
    if one_line:
        s = rng.choice(one_line)
        spans.append((s.end_byte, s.end_byte, f"  # {rng.choice(COMMENTS)}".encode()))
    return _replace(src, spans).decode("utf-8")


def _one_line(stmts: list, src: bytes) -> list:
    """Statements on a line of their own (only indentation before, nothing after on that line)."""
    out = []
    for s in stmts:
        if s.start_point[0] != s.end_point[0]:
            continue
        start = _line_start(src, s.start_byte)
        end = src.find(b"\n", s.end_byte)
        if not src[start:s.start_byte].strip() and not src[s.end_byte:end if end >= 0 else len(src)].strip():
            out.append(s)
    return out


def _docstring(fn):
    """The function's docstring statement, or None."""
    body = fn.child_by_field_name("body")
    first = body.named_children[0] if body is not None and body.named_children else None
    if first is not None and first.type == "expression_statement" and first.named_children \
            and first.named_children[0].type == "string":
        return first
    return None


def _body_statements(code: str) -> tuple[bytes, object, list]:
    """(source, function node, its one-line statements other than the docstring)."""
    src = code.encode("utf-8")
    fn = _function(src)
    if fn is None:
        return src, None, []
    doc = _docstring(fn)
    stmts = [s for s in _one_line(_statements(fn), src) if doc is None or s.id != doc.id]
    return src, fn, stmts


def insert(code: str, rng: random.Random, k: int = 1) -> str:
    """k statements inserted, each before a statement of the body: a guard, a trace or a bookkeeping line on a local."""
    for _ in range(k):
        src = code.encode("utf-8")
        fn = _function(src)
        doc = _docstring(fn) if fn is not None else None
        stmts = [s for s in _statements(fn) if doc is None or s.id != doc.id] if fn is not None else []
        if not stmts:
            return code
        stmt = rng.choice(stmts)
        start = _line_start(src, stmt.start_byte)
        indent = src[start:stmt.start_byte]
        if indent.strip():
            return code
        names = locals_of(fn, src)
        if names:
            name = rng.choice(names)
            line = rng.choice([f"assert {name} is not None", f"logger.debug('%r', {name})", f"print({name})",
                               f"if {name} is None:\n{indent.decode()}    return None", f"_calls.append({name!r})",
                               f"{name} = {name}", f"self._seen.add(id({name}))"])
        else:
            line = rng.choice(["logger.debug('called')", "_calls.append(1)", "print('here')"])
        code = _replace(src, [(start, start, indent + line.encode() + b"\n")]).decode("utf-8")
    return code


def delete(code: str, rng: random.Random, k: int = 1) -> str:
    """k one-line statements deleted (never the only statement of its block, never the docstring)."""
    for _ in range(k):
        src, _, stmts = _body_statements(code)
        stmts = [s for s in stmts if len(s.parent.named_children) > 1]
        if not stmts:
            return code
        s = rng.choice(stmts)
        start = _line_start(src, s.start_byte)
        end = src.find(b"\n", s.end_byte)
        code = _replace(src, [(start, end + 1 if end >= 0 else len(src), b"")]).decode("utf-8")
    return code


def _text(src: bytes, node) -> str:
    return src[node.start_byte:node.end_byte].decode("utf-8")


def _modifications(src: bytes, stmt, names: list[str], rng: random.Random) -> list[tuple[int, int, bytes]]:
    """The in-line changes one statement can take, each one span: an argument added or the last one dropped,
    an operator changed, the value wrapped in a conversion or extended with ``or``."""
    extra = rng.choice(names) if names else "None"
    out = []
    for n in _walk(stmt):
        if n.type == "argument_list" and n.children and _text(src, n.children[-1]) == ")":
            args = n.named_children
            out.append((n.end_byte - 1, n.end_byte - 1, f"{', ' if args else ''}{extra}".encode()))
            if len(args) >= 2 and args[-1].type == args[-2].type == "identifier":
                out.append((args[-2].end_byte, args[-1].end_byte, b""))
        elif n.type in ("comparison_operator", "binary_operator", "boolean_operator") and len(n.children) == 3:
            op = _text(src, n.children[1])
            if op in _OPERATOR:
                out.append((n.children[1].start_byte, n.children[1].end_byte, _OPERATOR[op].encode()))
    inner = stmt.named_children[0] if stmt.named_children else None
    value = inner if stmt.type == "return_statement" else (
        inner.child_by_field_name("right") if inner is not None and inner.type == "assignment" else None)
    if value is not None and value.type not in ("expression_list", "pattern_list", "yield", "assignment"):
        text = _text(src, value)
        out.append((value.start_byte, value.end_byte, f"{rng.choice(['list', 'tuple', 'str', 'int'])}({text})".encode()))
        out.append((value.end_byte, value.end_byte, f" or {extra}".encode()))
    return out


def modify(code: str, rng: random.Random, k: int = 1) -> str:
    """k one-line statements each changed in place by one small edit (see ``_modifications``)."""
    src, fn, stmts = _body_statements(code)
    if fn is None:
        return code
    names = locals_of(fn, src)
    spans = []
    for stmt in rng.sample(stmts, len(stmts)):
        options = _modifications(src, stmt, names, rng)
        if options:
            spans.append(rng.choice(options))
        if len(spans) == k:
            break
    return _replace(src, spans).decode("utf-8")


def edits(code: str, rng: random.Random, k: int) -> str:
    """k statement edits, each an insertion, a deletion or an in-line modification (drawn at random)."""
    for _ in range(k):
        code = rng.choice([insert, delete, modify])(code, rng)
    return code


def literal(code: str, rng: random.Random) -> str:
    """1–3 literal values changed: a number to another number, the words of a string to other words
    (never the docstring, never an f-string)."""
    src = code.encode("utf-8")
    fn = _function(src)
    if fn is None:
        return code
    doc = _docstring(fn)
    sites = []
    for n in _walk(fn):
        if n.type in ("integer", "float"):
            sites.append((n.start_byte, n.end_byte, str(rng.randint(2, 99)).encode()))
        elif n.type == "string" and (doc is None or n.parent.id != doc.id):
            parts = [c for c in n.children if c.type == "string_content"]
            if len(parts) == 1 and not any(c.type == "interpolation" for c in n.children) \
                    and _WORD.search(_text(src, parts[0])):
                sites.append((parts[0].start_byte, parts[0].end_byte, rng.choice(LITERAL_WORDS).encode()))
    chosen = rng.sample(sites, min(len(sites), rng.randint(1, 3)))
    return _replace(src, chosen).decode("utf-8")


def swap(code: str, rng: random.Random) -> str:
    """1–2 harmless operand swaps: a comparison mirrored (``a < b`` → ``b > a``) or two adjacent keyword
    arguments exchanged; nested sites are never both taken."""
    src = code.encode("utf-8")
    fn = _function(src)
    if fn is None:
        return code
    sites = []
    for n in _walk(fn):
        if n.type == "comparison_operator" and len(n.children) == 3 and _text(src, n.children[1]) in _MIRROR:
            left, op, right = n.children
            text = f"{_text(src, right)} {_MIRROR[_text(src, op)]} {_text(src, left)}"
            sites.append((n.start_byte, n.end_byte, text.encode()))
        elif n.type == "argument_list":
            args = n.named_children
            for a, b in zip(args, args[1:]):
                if a.type == b.type == "keyword_argument":
                    between = src[a.end_byte:b.start_byte]
                    sites.append((a.start_byte, b.end_byte, src[b.start_byte:b.end_byte] + between
                                  + src[a.start_byte:a.end_byte]))
    rng.shuffle(sites)
    chosen: list[tuple[int, int, bytes]] = []
    for site in sites:
        if len(chosen) < rng.randint(1, 2) and all(site[1] <= c[0] or site[0] >= c[1] for c in chosen):
            chosen.append(site)
    return _replace(src, chosen).decode("utf-8")


def _identifiers(src: bytes, node) -> set[str]:
    return {_text(src, n) for n in _walk(node) if n.type == "identifier"}


def reorder(code: str, rng: random.Random) -> str:
    """Two adjacent one-line assignments of a block swapped when independent: neither reads or binds a name
    the other binds."""
    src, _, stmts = _body_statements(code)
    ids = {s.id for s in stmts}
    pairs = []
    for s in stmts:
        nxt = s.next_named_sibling
        if nxt is None or nxt.id not in ids or nxt.start_point[0] != s.end_point[0] + 1:
            continue
        kinds = [x.named_children[0].type if x.named_children else "" for x in (s, nxt)]
        if any(k not in ("assignment", "augmented_assignment") for k in kinds):
            continue
        bound = [_identifiers(src, x.named_children[0].child_by_field_name("left")) for x in (s, nxt)]
        used = [_identifiers(src, x) for x in (s, nxt)]
        if not (bound[0] & used[1] or bound[1] & used[0]):
            pairs.append((s, nxt))
    if not pairs:
        return code
    a, b = rng.choice(pairs)
    return _replace(src, [(a.start_byte, a.end_byte, src[b.start_byte:b.end_byte]),
                          (b.start_byte, b.end_byte, src[a.start_byte:a.end_byte])]).decode("utf-8")
