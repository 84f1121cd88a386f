"""Walk a pickle's opcodes without building anything, refusing what would exhaust time or memory.

``scan`` simulates the unpickler's stack with stand-ins (a ``_Node`` per container carrying its
expanded size and depth; a shared marker per scalar), so hostile *data* is refused before the real
unpickler builds one object: nesting deeper than ``Limits.max_depth``; more elements touched than
``Limits.work_budget`` (a memo reference to a container counts as a full copy, which is what the
hash of a key or any later walk of the value costs); a memo index far beyond the stores seen so far
(the C unpickler sizes its memo table by the index); a length field larger than the rest of the
file; an integer wider than ``Limits.max_int_bytes``; a container changed after it was used (a
cycle or shared mutable reference, which no pickle of a data tree has); any global outside the
allow-list, persistent ids, extension codes, ``BUILD`` and out-of-band buffers.

It reads the file in large chunks and skips string payloads instead of decoding them, so it costs a
fraction of a second per megabyte (``pickle_source``: the chunked byte source and the opcode tables,
whose names and argument kinds come from ``pickletools``).
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from codequarry.releases.pickle_source import FIXED_SCALARS, OPS, SCALARS, HostilePickle, Source

__all__ = ["DEFAULT_LIMITS", "HostilePickle", "Limits", "RefusedGlobal", "scan"]


@dataclass(frozen=True)
class Limits:
    """Budgets checked by ``scan`` before anything is built.

    ``max_work`` None means ``work_per_byte`` times the pickle's size plus ``work_base``: each element
    of an honest data tree costs at least one opcode byte, so only shared references exceed it.
    """

    max_depth: int = 100
    max_work: int | None = None
    work_per_byte: int = 2
    work_base: int = 100_000
    max_int_bytes: int = 1024
    max_bytes: int | None = None

    def work_budget(self, nbytes: int) -> int:
        return self.max_work if self.max_work is not None else self.work_per_byte * nbytes + self.work_base


DEFAULT_LIMITS = Limits()


class RefusedGlobal(pickle.UnpicklingError):
    """A pickle asked for a global that is not on the allow-list."""

    def __init__(self, module: str, name: str) -> None:
        super().__init__(f"{module}.{name}")
        self.module = module
        self.name = name


class _Node:
    """A container as the scan sees it: its size fully expanded and its depth."""

    __slots__ = ("depth", "hashable", "mutable", "sealed", "size")

    def __init__(self, mutable: bool, hashable: bool) -> None:
        self.size, self.depth = 1, 1
        self.mutable, self.hashable, self.sealed = mutable, hashable, False


class _Global:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


_SCALAR = object()  # every non-text scalar (numbers, bytes, None, bools)
_SHORT_TEXT = 256

def scan(fh: IO[bytes], size: int, limits: Limits = DEFAULT_LIMITS,
         allowed: Callable[[str, str], bool] = lambda m, n: False) -> None:
    """Check the pickle of ``size`` bytes in ``fh`` (from its current position) against ``limits``.

    ``allowed(module, name)`` says which globals may be named; the allowed ones are assumed to be
    ``set``/``frozenset`` (a container from their argument) or ``_codecs.encode`` (a scalar).
    Raises ``RefusedGlobal``, ``HostilePickle``, ``pickle.UnpicklingError`` (malformed) or ``EOFError``.
    """
    budget = limits.work_budget(size)
    max_depth = limits.max_depth
    src = Source(fh, size)
    stack: list[Any] = []
    marks: list[int] = []
    memo: dict[int, Any] = {}
    puts = 0
    work = 0
    at = 0
    globals_seen = False

    def bad(msg: str) -> pickle.UnpicklingError:
        return pickle.UnpicklingError(f"{msg} (opcode at byte {at})")

    def hostile(msg: str) -> HostilePickle:
        return HostilePickle(f"{msg} (opcode at byte {at})")

    def pop() -> Any:
        if len(stack) <= (marks[-1] if marks else 0):
            raise bad("stack underflow")
        return stack.pop()

    def pop_mark() -> list[Any]:
        if not marks:
            raise bad("no MARK on the stack")
        k = marks.pop()
        items = stack[k:]
        del stack[k:]
        return items

    def place(target: _Node, items: list[Any], keys: list[Any] | None = None) -> None:
        nonlocal work
        nodes = [x for x in items if type(x) is _Node]
        work += len(items) - len(nodes)
        target.size += len(items) - len(nodes)
        for x in nodes:
            if x is target:
                raise hostile("a container holds itself (a reference cycle)")
            # the first use of a container links what was already counted; every further use copies it
            work += x.size if x.sealed else 1
            x.sealed = True
            target.size += x.size
            if x.depth >= target.depth:
                target.depth = x.depth + 1
            if not x.hashable:
                target.hashable = False
        if keys:
            for k in keys:
                if type(k) is _Node and not k.hashable:
                    raise bad("unhashable dict key or set element (a list, dict or set)")
        if globals_seen and any(type(x) is _Global for x in items):
            raise bad("a global used as a value")
        if target.depth > max_depth:
            raise hostile(f"nested deeper than {max_depth} levels")
        if work > budget:
            raise hostile(f"expands to more than {budget:,} elements (shared references multiply the data)")

    def new(items: list[Any], mutable: bool, hashable: bool, keys: list[Any] | None = None) -> _Node:
        node = _Node(mutable, hashable)
        place(node, items, keys)
        return node

    def target(kind: str) -> _Node:
        top = stack[-1] if len(stack) > (marks[-1] if marks else 0) else None
        if type(top) is not _Node or not top.mutable:
            raise bad(f"{kind} on something that is not a list, dict or set")
        if top.sealed:
            raise hostile("a container is changed after it was used (a cycle or a shared mutable reference)")
        return top

    def glob(module: str, name: str) -> _Global:
        nonlocal globals_seen
        if not allowed(module, name):
            raise RefusedGlobal(module, name)
        globals_seen = True
        return _Global(name)

    def call(func: Any, args: list[Any]) -> Any:
        if type(func) is not _Global:
            raise bad("a call of something that is not an allowed global")
        if func.name == "encode":
            return _SCALAR
        frozen = func.name == "frozenset"
        return new(args, not frozen, frozen)

    push = stack.append
    fixed_scalars = FIXED_SCALARS
    buf, i = src.buf, src.i
    nbuf = len(buf)
    while True:
        # fast path for the opcodes that make up nearly all of a data pickle, on the buffered bytes
        if i + 10 > nbuf and src.base + nbuf < size:
            src.i = i
            src.ensure(min(10, size - src.pos))
            buf, i = src.buf, src.i
            nbuf = len(buf)
        c = buf[i] if i < nbuf else -1
        if c == 0x71 or c == 0x72 or c == 0x94:  # BINPUT, LONG_BINPUT, MEMOIZE
            if c == 0x71:
                k, step = buf[i + 1], 2
            elif c == 0x72:
                k, step = int.from_bytes(buf[i + 1:i + 5], "little"), 5
            else:
                k, step = puts, 1
            if k <= 2 * puts + 1024 and stack and (not marks or len(stack) > marks[-1]):
                memo[k] = stack[-1]
                puts += 1
                i += step
                continue
        elif c == 0x68 or c == 0x6A:  # BINGET, LONG_BINGET
            k = buf[i + 1] if c == 0x68 else int.from_bytes(buf[i + 1:i + 5], "little")
            if k in memo:
                push(memo[k])
                i += 2 if c == 0x68 else 5
                continue
        elif c == 0x58 or c == 0x8C or c == 0x54 or c == 0x55 or c == 0x43:
            # BINUNICODE, SHORT_BINUNICODE (kept as bytes: STACK_GLOBAL may need the text), BINSTRING,
            # SHORT_BINSTRING, SHORT_BINBYTES
            if c == 0x58 or c == 0x54:
                n = int.from_bytes(buf[i + 1:i + 5], "little", signed=c == 0x54)
                start = i + 5
            else:
                n = buf[i + 1]
                start = i + 2
            end = start + n
            if 0 <= n and end <= nbuf:
                push(buf[start:end] if c == 0x8C else _SCALAR)
                i = end
                continue
        elif c in fixed_scalars:
            i += fixed_scalars[c]
            push(_SCALAR)
            continue
        elif c == 0x28:  # MARK
            marks.append(len(stack))
            i += 1
            continue
        elif c == 0x5D or c == 0x7D:  # EMPTY_LIST, EMPTY_DICT
            push(_Node(True, False))
            i += 1
            continue
        src.i = i
        if src.i >= len(src.buf):
            src.ensure(1)
        at = src.pos
        code = src.buf[src.i]
        src.i += 1
        entry = OPS.get(code)
        if entry is None:
            raise bad(f"unknown opcode {bytes([code])!r}")
        name, layout = entry
        arg: Any = None
        if layout is not None:
            kind = layout[0]
            if kind == "fixed":
                raw = src.take(layout[1])
                arg = int.from_bytes(raw, "little")
            elif kind == "sized":
                n = int.from_bytes(src.take(layout[1]), "little", signed=layout[2])
                if n < 0:
                    raise bad("negative length")
                if name in ("LONG1", "LONG4") and n > limits.max_int_bytes:
                    raise hostile(f"an integer wider than {limits.max_int_bytes} bytes")
                if name.endswith("UNICODE") or name == "BINUNICODE8":
                    arg = src.take(n).decode("utf-8", "surrogatepass") if n <= _SHORT_TEXT else None
                    if arg is None:
                        src.skip(n)
                else:
                    src.skip(n)
            elif kind == "line":
                limit = 32 if name in ("INT", "GET", "PUT") else 3 * limits.max_int_bytes if name == "LONG" else None
                text = src.line(limit)
                if name in ("GET", "PUT"):
                    try:
                        arg = int(text)
                    except ValueError:
                        raise bad(f"memo index {text[:32]!r} is not a number") from None
                elif name == "PERSID":
                    arg = text.decode("latin-1")
            else:
                arg = (src.line(_SHORT_TEXT).decode("latin-1"), src.line(_SHORT_TEXT).decode("latin-1"))
        if name in SCALARS:
            stack.append(_SCALAR)
        elif name in ("SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE"):
            stack.append(arg if arg is not None else _SCALAR)
        elif name in ("BINPUT", "LONG_BINPUT", "PUT", "MEMOIZE"):
            index = puts if name == "MEMOIZE" else arg
            if index > 2 * puts + 1024:
                raise hostile(f"memo index {index:,} is far beyond the {puts:,} values stored so far")
            if len(stack) <= (marks[-1] if marks else 0):
                raise bad("nothing to store in the memo")
            memo[index] = stack[-1]
            puts += 1
        elif name in ("BINGET", "LONG_BINGET", "GET"):
            if arg not in memo:
                raise bad(f"memo index {arg} was never stored")
            stack.append(memo[arg])
        elif name == "MARK":
            marks.append(len(stack))
        elif name in ("EMPTY_LIST", "EMPTY_DICT", "EMPTY_SET"):
            stack.append(_Node(True, False))
        elif name == "EMPTY_TUPLE":
            stack.append(_Node(False, True))
        elif name in ("APPENDS", "SETITEMS", "ADDITEMS"):
            items = pop_mark()
            keys = items[0::2] if name == "SETITEMS" else items if name == "ADDITEMS" else None
            place(target(name), items, keys)
        elif name == "APPEND":
            item = pop()
            place(target(name), [item])
        elif name == "SETITEM":
            value = pop()
            key = pop()
            place(target(name), [key, value], [key])
        elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
            items = [pop() for _ in range(int(name[-1]))][::-1]
            stack.append(new(items, False, True))
        elif name in ("LIST", "TUPLE", "DICT", "FROZENSET"):
            items = pop_mark()
            keys = items[0::2] if name == "DICT" else items if name == "FROZENSET" else None
            stack.append(new(items, name in ("LIST", "DICT"), name in ("TUPLE", "FROZENSET"), keys))
        elif name in ("PROTO", "FRAME"):
            pass
        elif name == "POP":
            if marks and marks[-1] == len(stack):
                marks.pop()
            else:
                pop()
        elif name == "POP_MARK":
            pop_mark()
        elif name == "DUP":
            stack.append(pop())
            stack.append(stack[-1])
        elif name == "GLOBAL":
            stack.append(glob(*arg))
        elif name == "STACK_GLOBAL":
            attr, module = pop(), pop()
            module, attr = (x.decode("utf-8", "surrogatepass") if type(x) is bytes else x for x in (module, attr))
            if not isinstance(module, str) or not isinstance(attr, str):
                raise bad("STACK_GLOBAL needs two strings")
            stack.append(glob(module, attr))
        elif name == "INST":
            func = glob(*arg)
            stack.append(call(func, pop_mark()))
        elif name == "OBJ":
            items = pop_mark()
            if not items:
                raise bad("OBJ without a class")
            stack.append(call(items[0], items[1:]))
        elif name == "REDUCE":
            args = pop()
            stack.append(call(pop(), [args]))
        elif name in ("NEWOBJ", "NEWOBJ_EX"):
            extra = [pop()] if name == "NEWOBJ_EX" else []
            args = pop()
            stack.append(call(pop(), [args, *extra]))
        elif name in ("PERSID", "BINPERSID"):
            raise pickle.UnpicklingError(f"persistent id {arg or '(from the stack)'!r:.60} is not allowed")
        elif name == "STOP":
            if len(stack) != 1 or type(stack[0]) is _Global:
                raise bad("the pickle does not end with exactly one value")
            return
        else:  # BUILD (object state), EXT1/2/4 (extension registry), NEXT_BUFFER/READONLY_BUFFER (out-of-band)
            raise hostile(f"opcode {name} is not plain data")
        buf, i = src.buf, src.i
        nbuf = len(buf)
