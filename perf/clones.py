"""Planted clones and hard negatives of real Python functions, made with tree-sitter edits.

Used by ``perf/dedup.py`` (recall per edit kind, precision) and by the near-dedup tests. Each kind
combines the mutation operators of ``perf/clone_edits.py`` (the edits that clone benchmarks' mutation
frameworks plant; every variant still parses):

* Type-1/Type-2: ``rename-1``, ``rename-25%``, ``rename-50%``, ``rename-75%``, ``rename-100%`` (k of the n
  locals renamed consistently, k = max(1, round(fraction·n))); ``reformat`` (whitespace only);
  ``comment``; ``literal`` (1–3 literal values changed); ``swap`` (1–2 operands or keyword arguments
  swapped); ``reorder`` (two independent assignments swapped); ``type2`` (the issue-13 measurement: half
  the locals renamed, a comment line, trailing spaces);
* Type-3: ``insert`` / ``delete`` / ``modify`` (one statement inserted / deleted / changed in place);
  ``edit-3`` (three statement edits, each an insertion, deletion or modification); ``type3`` (half the
  locals renamed, one insertion and one deletion); ``type3-mod`` (half renamed, 1–2 statements
  modified); ``type3-edit`` (half renamed, 1–2 statement edits of any of the three sorts); ``type3-mix`` (half renamed, 1–2 statement edits, literals changed, operands swapped,
  statements reordered where possible); ``type3-far`` (every local renamed, three statement edits and
  literals changed: the edge of what near-dedup should catch, reported, not a target).

``CLOSE_TYPE3`` names the kinds with half the locals renamed and one or two statements edited.

Negatives ("not clones, though they share a shape"): ``accessor`` rows (tiny getters, setters and
delegating methods, each with its own names, as real classes have by the hundred), ``sibling`` rows
(families of same-class accessors over the same attribute stem: ``get_x``/``get_y``/``set_x``…, which differ
from each other in one or two names only) and ``shape`` rows (a real function with every local renamed
*and* every attribute, called name, string word and number replaced: the same syntax tree, none of the
same names or values). A flagged pair that involves a negative is a false positive.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from clone_edits import (  # noqa: E402  (perf/clone_edits.py, next to this module)
    _WORD,
    _function,
    _parser,
    _replace,
    _walk,
    comment,
    delete,
    edits,
    insert,
    literal,
    locals_of,
    modify,
    reformat,
    rename,
    reorder,
    swap,
)

__all__ = ["KINDS", "CLOSE_TYPE3", "TYPE2_UP_TO_HALF", "NEGATIVE_KINDS", "comment", "delete", "insert", "literal",
           "locals_of", "make_variant", "modify", "plant", "reformat", "rename", "reorder", "swap", "_function"]

# kind → its edits, applied in order: (operator, argument); the variant must differ from the source
RECIPES: dict[str, tuple[tuple[str, float], ...]] = {
    "rename-1": (("rename", 0.0),),
    "rename-25%": (("rename", 0.25),),
    "rename-50%": (("rename", 0.5),),
    "rename-75%": (("rename", 0.75),),
    "rename-100%": (("rename", 1.0),),
    "reformat": (("reformat", 0),),
    "comment": (("comment", 0),),
    "literal": (("literal", 0),),
    "swap": (("swap", 0),),
    "reorder": (("reorder", 0),),
    "type2": (("rename", 0.5), ("spaces", 0), ("comment", 0)),
    "insert": (("insert", 1),),
    "delete": (("delete", 1),),
    "modify": (("modify", 1),),
    "edit-3": (("edits", 3),),
    "type3": (("rename", 0.5), ("delete", 1), ("insert", 1)),
    "type3-mod": (("rename", 0.5), ("modify", 1.5)),
    "type3-edit": (("rename", 0.5), ("edits", 1.5)),
    "type3-mix": (("rename", 0.5), ("literal", 0), ("swap", 0), ("reorder", 0), ("edits", 1.5)),
    "type3-far": (("rename", 1.0), ("literal", 0), ("edits", 3)),
}
KINDS = tuple(RECIPES)
TYPE2_UP_TO_HALF = ("rename-1", "rename-25%", "rename-50%", "reformat", "comment", "literal", "swap", "reorder",
                    "type2")
CLOSE_TYPE3 = ("type3", "type3-mod", "type3-edit")
NEGATIVE_KINDS = ("accessor", "sibling", "shape")


def _count(arg: float, rng: random.Random) -> int:
    """An edit count: whole numbers as they are, ``x.5`` one of the two neighbours (1.5 → 1 or 2)."""
    return int(arg) + (rng.random() < 0.5 if arg != int(arg) else 0)


def make_variant(code: str, kind: str, rng: random.Random) -> str | None:
    """One clone of ``code`` of the given edit kind (None when the function cannot take that edit)."""
    out: str | None = code
    for op, arg in RECIPES[kind]:
        if out is None:
            return None
        if op == "rename":
            out = rename(out, arg, rng)
        elif op == "spaces":
            out = "\n".join(line + "  " if line.strip() else line for line in out.split("\n"))
        elif op in ("insert", "delete", "modify", "edits"):
            before = out
            out = {"insert": insert, "delete": delete, "modify": modify, "edits": edits}[op](out, rng, _count(arg, rng))
            if out == before:
                return None  # a Type-3 kind must change statements
        else:
            out = {"reformat": reformat, "comment": comment, "literal": literal, "swap": swap, "reorder": reorder}[op](
                out, rng)
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


def siblings(k: int, words: list[str], rng: random.Random) -> list[str]:
    """k methods in families of same-class siblings: for 2–4 attributes sharing a stem (``left_margin``,
    ``right_margin`` …) a getter, a setter, a validating setter and an indexed property each, so two
    siblings differ only in the attribute (and the method) name: same file, same shape, not clones."""
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < k:
        stem = rng.choice(words)
        attrs = [f"{w}_{stem}" for w in rng.sample(words, rng.randint(2, 4))]
        for pos, a in enumerate(attrs):
            family = [f"def get_{a}(self):\n    return self._{a}\n",
                      f"def set_{a}(self, value):\n    self._{a} = value\n",
                      f"def set_{a}(self, value):\n    if value is None:\n        raise ValueError('{a} must not be None')"
                      f"\n    self._{a} = value\n    self._changed('{a}')\n",
                      f"@property\ndef {a}(self):\n    return self._{stem}[{pos}]\n"]
            for code in family:
                if code not in seen and len(out) < k:
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
          ) -> tuple[list[tuple[int, str, str]], list[tuple[str, str]]]:
    """(source index, kind, variant) for ``per_kind`` sources per edit kind drawn from ``pool`` (each source
    used once), and as many negatives as (negative kind, code): a third accessors, a third sibling families,
    a third same-shape rewrites of other pool functions."""
    rng = random.Random(seed)
    order = pool[:]
    rng.shuffle(order)
    planted: list[tuple[int, str, str]] = []
    want = dict.fromkeys(KINDS, per_kind)
    rest = []
    for i in order:
        tries = [k for k in KINDS if want[k] > 0]
        if not tries:
            rest.append(i)
            continue
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
    negatives = [("accessor", c) for c in accessors(n_neg // 3, words, rng)]
    negatives += [("sibling", c) for c in siblings(n_neg // 3, words, rng)]
    for i in rest:
        if len(negatives) >= n_neg:
            break
        other = same_shape(codes[i], words, rng)
        if other is not None:
            negatives.append(("shape", other))
    return planted, negatives
