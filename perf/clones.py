"""Planted clones and same-shape negatives of real Python functions, made with tree-sitter edits.

Used by ``perf/dedup.py`` (recall per edit kind, precision) and by the near-dedup tests. Every edit
is a syntax-aware change of a real function, so a variant still parses:

* ``rename-1``, ``rename-25%``, ``rename-50%``, ``rename-75%``, ``rename-100%``: k of the n *locals*
  (parameters and names bound in the function: assignment, ``for``, ``with … as``, ``except … as``,
  comprehension targets; not ``self``/``cls``, globals, attributes, called library names or keyword
  argument names) renamed consistently, k = max(1, round(fraction·n));
* ``reformat``: trailing spaces on every line, a blank line after the signature, a space after every
  comma (whitespace only);
* ``comment``: a comment line inserted before one statement and a trailing comment after another;
* ``insert`` / ``delete``: one statement inserted (a realistic guard on a local) / one one-line
  statement deleted (Type-3);
* ``type2``: the issue-13 measurement: half the locals renamed, a comment line, trailing spaces;
* ``type3``: half the locals renamed, one statement inserted and one deleted.

Negatives ("not clones that merely share a shape"): ``accessor`` rows (tiny getters, setters and
delegating methods, each with its own name, attribute and callee, as real classes have by the
hundred) and ``shape`` rows (a real function with every local renamed *and* every attribute, called
name, string word and number replaced: the same syntax tree, none of the same names or values). A
flagged pair that involves a negative is a false positive.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from functools import lru_cache

KINDS = ("rename-1", "rename-25%", "rename-50%", "rename-75%", "rename-100%", "reformat", "comment", "insert",
         "delete", "type2", "type3")
RENAME_SHARE = {"rename-1": 0.0, "rename-25%": 0.25, "rename-50%": 0.5, "rename-75%": 0.75, "rename-100%": 1.0,
                "type2": 0.5, "type3": 0.5}
TYPE2_UP_TO_HALF = ("rename-1", "rename-25%", "rename-50%", "reformat", "comment", "type2")
COMMENTS = ["check the cached value first", "TODO handle the empty case", "see the notes above",
            "keep the original order here", "fast path for small inputs", "this mirrors the reference version"]
NEW_NAMES = ["value", "item", "result", "data", "tmp", "node", "count", "key", "obj", "entry", "buf", "acc",
             "current", "target", "source", "payload", "element", "record", "chunk", "index", "total", "state"]
_BINDERS = {"assignment": "left", "augmented_assignment": "left", "for_statement": "left",
            "for_in_clause": "left", "as_pattern_target": None, "named_expression": "name"}
_WORD = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")


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


def insert(code: str, rng: random.Random) -> str:
    """One statement inserted before a statement of the body: a guard or a trace line on a local."""
    src = code.encode("utf-8")
    fn = _function(src)
    stmts = _statements(fn) if fn is not None else []
    names = locals_of(fn, src) if fn is not None else []
    if not stmts:
        return code
    stmt = rng.choice(stmts)
    start = _line_start(src, stmt.start_byte)
    indent = src[start:stmt.start_byte]
    if indent.strip():
        return code
    name = rng.choice(names) if names else "None"
    line = rng.choice([f"assert {name} is not None", f"logger.debug('%r', {name})", f"print({name})"])
    return _replace(src, [(start, start, indent + line.encode() + b"\n")]).decode("utf-8")


def delete(code: str, rng: random.Random) -> str:
    """One one-line statement deleted (never the only statement of its block)."""
    src = code.encode("utf-8")
    fn = _function(src)
    stmts = [s for s in (_statements(fn) if fn is not None else [])
             if s.start_point[0] == s.end_point[0] and len(s.parent.named_children) > 1]
    if not stmts:
        return code
    s = rng.choice(stmts)
    start = _line_start(src, s.start_byte)
    end = src.find(b"\n", s.end_byte)
    if src[start:s.start_byte].strip() or src[s.end_byte:end if end >= 0 else len(src)].strip():
        return code
    return _replace(src, [(start, end + 1 if end >= 0 else len(src), b"")]).decode("utf-8")


def make_variant(code: str, kind: str, rng: random.Random) -> str | None:
    """One clone of ``code`` of the given edit kind (None when the function cannot take that edit)."""
    out: str | None = code
    if kind in RENAME_SHARE:
        out = rename(code, RENAME_SHARE[kind], rng)
    if out is not None and kind in ("reformat", "type2"):
        out = reformat(out, rng) if kind == "reformat" else "\n".join(
            line + "  " if line.strip() else line for line in out.split("\n"))
    if out is not None and kind in ("comment", "type2"):
        out = comment(out, rng)
    if out is not None and kind in ("delete", "type3"):
        out = delete(out, rng)
    if out is not None and kind in ("insert", "type3"):
        out = insert(out, rng)
    return None if out is None or out == code else out


# --------------------------------------------------------------------------------------------
# negatives


def accessors(k: int, words: list[str], rng: random.Random) -> list[str]:
    """k tiny methods of the shapes real classes repeat (getter, setter, delegator, flag test), all different."""
    out, seen = [], set()
    while len(out) < k:
        a1, a2, b = rng.sample(words, 3)
        a = f"{a1}_{a2}"  # two real words: a name no real accessor in the corpus is likely to share
        shape = rng.randrange(4)
        if shape == 0:
            code = f"def get_{a}(self):\n    return self._{a}\n"
        elif shape == 1:
            code = f"def set_{a}(self, value):\n    self._{a} = value\n"
        elif shape == 2:
            code = f"def {a}(self, *args, **kwargs):\n    return self.{b}.{a}(*args, **kwargs)\n"
        else:
            code = f"def is_{a}(self):\n    return self.{b} is not None and self.{b}.{a}\n"
        if code not in seen:
            seen.add(code)
            out.append(code)
    return out


def same_shape(code: str, words: list[str], rng: random.Random) -> str | None:
    """The same syntax tree with no shared name or value: every local renamed, every other word replaced.

    Attributes, called/defined names and words in strings get other real words (consistently), numbers
    other numbers; keywords stay. None when the function has fewer than 3 such words (nothing to change).
    """
    import keyword

    renamed = rename(code, 1.0, rng)
    if renamed is None:
        return None
    src = renamed.encode("utf-8")
    root = _parser().parse(src).root_node
    fn = _function(src)
    local = set(locals_of(fn, src)) if fn is not None else set()
    mapping: dict[str, str] = {}
    spans = []
    for n in _walk(root):
        if n.type in ("identifier", "integer", "float") or (n.type == "string_content"):
            text = src[n.start_byte:n.end_byte].decode()
            if n.type == "identifier" and (text in local or text in ("self", "cls") or keyword.iskeyword(text)):
                continue
            if n.type in ("integer", "float"):
                spans.append((n.start_byte, n.end_byte, str(rng.randint(2, 999)).encode()))
                continue
            new = _WORD.sub(lambda m: mapping.setdefault(m[0], rng.choice(words) + "_" + rng.choice(words)), text)
            spans.append((n.start_byte, n.end_byte, new.encode()))
    if len(mapping) < 3:
        return None
    return _replace(src, spans).decode("utf-8")


def plant(codes: list[str], pool: list[int], per_kind: int, seed: int = 0
          ) -> tuple[list[tuple[int, str, str]], list[str]]:
    """(source index, kind, variant) for ``per_kind`` sources per edit kind drawn from ``pool`` (each source
    used once), and as many negatives (half accessors, half same-shape rewrites of other pool functions)."""
    rng = random.Random(seed)
    order = pool[:]
    rng.shuffle(order)
    planted: list[tuple[int, str, str]] = []
    want = dict.fromkeys(KINDS, per_kind)
    rest = []
    for i in order:
        kind = next((k for k in KINDS if want[k] > 0), None)
        if kind is None:
            rest.append(i)
            continue
        tries = [k for k in KINDS if want[k] > 0]
        rng.shuffle(tries)
        for kind in tries:
            variant = make_variant(codes[i], kind, rng)
            if variant is not None:
                planted.append((i, kind, variant))
                want[kind] -= 1
                break
        else:
            rest.append(i)
    words = sorted({w.lower() for c in codes[:5000] for w in _WORD.findall(c) if w.isalpha() and 3 <= len(w) <= 10})
    n_neg = per_kind * len(KINDS)
    negatives = accessors(n_neg // 2, words, rng)
    for i in rest:
        if len(negatives) >= n_neg:
            break
        other = same_shape(codes[i], words, rng)
        if other is not None:
            negatives.append(other)
    return planted, negatives
