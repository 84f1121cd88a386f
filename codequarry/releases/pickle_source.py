"""The bytes of a pickle as ``pickle_scan`` walks them: a chunked source and the opcode tables.

``Source`` reads the file in large chunks with the file offset at hand, never past the declared
size, and skips string payloads without reading them into one buffer; ``OPS`` gives each opcode byte
its name and argument layout (from ``pickletools``), ``FIXED_SCALARS``/``SCALARS`` the opcodes that
push a plain scalar. Nothing here builds a value.
"""

from __future__ import annotations

import pickle
import pickletools
from typing import IO, Any

_CHUNK = 1 << 22


class HostilePickle(pickle.UnpicklingError):
    """The scan found a structure beyond the budgets (depth, expansion, memo, lengths)."""


# argument layout per opcode byte: ("fixed", n) | ("sized", n, signed) | ("line",) | ("pair",) | None
_LAYOUT = {"uint1": ("fixed", 1), "uint2": ("fixed", 2), "int4": ("fixed", 4), "uint4": ("fixed", 4),
           "uint8": ("fixed", 8), "float8": ("fixed", 8),
           "long1": ("sized", 1, False), "long4": ("sized", 4, True), "string1": ("sized", 1, False),
           "string4": ("sized", 4, True), "bytes1": ("sized", 1, False), "bytes4": ("sized", 4, False),
           "bytes8": ("sized", 8, False), "bytearray8": ("sized", 8, False), "unicodestring1": ("sized", 1, False),
           "unicodestring4": ("sized", 4, False), "unicodestring8": ("sized", 8, False),
           "decimalnl_short": ("line",), "decimalnl_long": ("line",), "stringnl": ("line",),
           "unicodestringnl": ("line",), "floatnl": ("line",), "stringnl_noescape": ("line",),
           "stringnl_noescape_pair": ("pair",)}
OPS: dict[int, tuple[str, Any]] = {
    op.code.encode("latin-1")[0]: (op.name, _LAYOUT[op.arg.name] if op.arg else None) for op in pickletools.opcodes}
# scalar opcodes with a fixed-size argument: code -> bytes taken (NONE, NEWTRUE/FALSE, BININT1/2, BININT, BINFLOAT)
FIXED_SCALARS = {0x4E: 1, 0x88: 1, 0x89: 1, 0x4B: 2, 0x4D: 3, 0x4A: 5, 0x47: 9}
SCALARS = {"INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4", "STRING", "BINSTRING", "SHORT_BINSTRING",
           "BINBYTES", "SHORT_BINBYTES", "BINBYTES8", "BYTEARRAY8", "FLOAT", "BINFLOAT", "NONE", "NEWTRUE", "NEWFALSE"}


class Source:
    """The pickle's bytes read in chunks, with the file offset, never past ``size``."""

    def __init__(self, fh: IO[bytes], size: int) -> None:
        self.fh, self.size = fh, size
        self.buf, self.i, self.base = b"", 0, 0

    @property
    def pos(self) -> int:
        return self.base + self.i

    def ensure(self, n: int) -> None:
        """Make ``buf[i:i+n]`` available (EOFError when the file is shorter)."""
        if self.i + n <= len(self.buf):
            return
        if self.pos + n > self.size:
            raise EOFError(f"a field asks for {n:,} bytes at byte {self.pos} but only {self.size - self.pos:,} remain")
        rest = self.buf[self.i:]
        self.base += self.i
        want = min(max(n, _CHUNK) - len(rest), self.size - self.base - len(rest))
        data = self.fh.read(want)
        self.buf, self.i = rest + data, 0
        if len(self.buf) < n:
            raise EOFError("the file ends early")

    def take(self, n: int) -> bytes:
        self.ensure(n)
        out = self.buf[self.i:self.i + n]
        self.i += n
        return out

    def skip(self, n: int) -> None:
        if self.pos + n > self.size:
            raise EOFError(f"a length field asks for {n:,} bytes at byte {self.pos} but only {self.size - self.pos:,} remain")
        inbuf = len(self.buf) - self.i
        if n <= inbuf:
            self.i += n
            return
        n -= inbuf
        self.base += len(self.buf)
        self.buf, self.i = b"", 0
        while n:
            got = len(self.fh.read(min(n, _CHUNK)))
            if not got:
                raise EOFError("the file ends early")
            self.base += got
            n -= got

    def line(self, limit: int | None) -> bytes:
        """A newline-terminated argument (at most ``limit`` bytes when given)."""
        while True:
            end = self.buf.find(b"\n", self.i)
            if end >= 0:
                out = self.buf[self.i:end]
                self.i = end + 1
                if limit is not None and len(out) > limit:
                    raise HostilePickle(f"a {len(out):,}-byte text argument where a short one belongs (byte {self.pos})")
                return out
            have = len(self.buf) - self.i
            if limit is not None and have > limit:
                raise HostilePickle(f"a text argument longer than {limit} bytes where a short one belongs (byte {self.pos})")
            if self.pos + have >= self.size:
                raise EOFError("the file ends inside a text argument")
            self.ensure(have + 1)
