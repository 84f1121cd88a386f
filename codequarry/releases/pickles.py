"""Load untrusted pickles (StaQC, CodeSearchNet) allowing only plain builtin containers and scalars.

A pickle can name any importable callable and call it while loading (``os.system`` via
``__reduce__``), so the usual ``pickle.load`` must never see a downloaded file. This unpickler
resolves no global except ``set``/``frozenset`` (Python 2 pickles spell them ``__builtin__.set``;
StaQC's ``data_hnn/*/iids.pickle`` are such sets) and ``_codecs.encode`` restricted to latin-1
(how protocol-2 pickles written by Python 3 store ``bytes``). Everything else — classes, functions,
``copy_reg._reconstructor`` (only needed for class instances), persistent ids, extension codes,
out-of-band buffers — is refused with a ``CodequarryError`` naming what was refused, before anything
is called.

Refusing callables is not enough: plain data can be hostile too (a deeply nested tuple key crashes
the interpreter when hashed, a few hundred bytes of shared references expand to billions of
elements, a forged memo index or length field allocates gigabytes). So before the real unpickler
builds a single object, ``pickle_scan.scan`` walks the opcodes with budgets (``Limits``: depth,
elements touched, integer width, file size) and every violation is a one-line ``CodequarryError``.

Python 2 ``str`` values come back as ``bytes`` (``encoding="bytes"``); ``as_text`` decodes them as
UTF-8 so that a py2 byte string and a py2 ``unicode`` give the same Python 3 text.
"""

from __future__ import annotations

import codecs
import io
import os
import pickle
from pathlib import Path
from typing import IO, Any

from codequarry.errors import CodequarryError
from codequarry.releases.pickle_scan import DEFAULT_LIMITS, HostilePickle, Limits, RefusedGlobal, scan


def _latin1_encode(obj: Any, encoding: str = "utf-8", errors: str = "strict") -> bytes:
    """``_codecs.encode`` as protocol-2 ``bytes`` pickles use it: latin-1 text → bytes, nothing else."""
    if not isinstance(obj, str) or codecs.lookup(encoding).name != "iso8859-1" or errors != "strict":
        raise pickle.UnpicklingError(f"_codecs.encode is allowed only as encode(str, 'latin1'), got encoding {encoding!r}")
    return obj.encode("latin-1")


_ALLOWED: dict[tuple[str, str], Any] = {
    ("builtins", "set"): set,
    ("__builtin__", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("__builtin__", "frozenset"): frozenset,
    ("_codecs", "encode"): _latin1_encode,
}


class RestrictedUnpickler(pickle.Unpickler):
    """``pickle.Unpickler`` that resolves only the allow-listed globals and no persistent ids."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise RefusedGlobal(module, name) from None

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError(f"persistent id {pid!r:.60} is not allowed")


# --------------------------------------------------------------------------------------------
# loading


def safe_loads(data: bytes, *, where: str = "pickle", limits: Limits = DEFAULT_LIMITS) -> Any:
    """Unpickle bytes through the opcode scan and the restricted unpickler (see ``safe_load``)."""
    return _load(io.BytesIO(data), where, len(data), limits)


def safe_load(source: str | os.PathLike[str] | IO[bytes], *, where: str | None = None,
              limits: Limits = DEFAULT_LIMITS) -> Any:
    """Unpickle a file of plain containers and scalars; anything else raises ``CodequarryError``.

    Python 2 ``str`` values are returned as ``bytes`` (decode them with ``as_text``); Python 2
    ``unicode`` and Python 3 ``str`` are returned as ``str``. A stream that cannot seek is read into
    memory first (the scan and the load each need a pass).
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        label = where or str(path)
        try:
            fh = open(path, "rb")
        except OSError as exc:
            raise CodequarryError(f"cannot read pickle {label}: {exc.strerror or exc}") from exc
        with fh:
            return _load(fh, label, os.fstat(fh.fileno()).st_size, limits)
    label = where or getattr(source, "name", "pickle")
    try:
        if source.seekable():
            start = source.tell()
            size = source.seek(0, io.SEEK_END) - start
            source.seek(start)
            return _load(source, label, size, limits)
        cap = limits.max_bytes
        data = source.read() if cap is None else source.read(cap + 1)
    except (OSError, EOFError, ValueError) as exc:
        raise CodequarryError(f"{label}: cannot read the pickle ({type(exc).__name__}: {exc}); re-download the file") from None
    return _load(io.BytesIO(data), label, len(data), limits)


def _load(fh: IO[bytes], where: str, size: int, limits: Limits) -> Any:
    if limits.max_bytes is not None and size > limits.max_bytes:
        raise CodequarryError(f"{where}: pickle of {size:,} bytes is larger than the limit of {limits.max_bytes:,}")
    try:
        start = fh.tell()
        scan(fh, size, limits, allowed=lambda module, name: (module, name) in _ALLOWED)
        fh.seek(start)
        return RestrictedUnpickler(fh, encoding="bytes").load()
    except RefusedGlobal as exc:
        raise CodequarryError(
            f"{where}: refused to load global '{exc.module}.{exc.name}': codequarry reads pickles only when they hold "
            "plain dicts, lists, tuples, sets, strings and numbers (a pickle that names a callable can run code "
            "when loaded). Get the file from its official source, or convert it to JSON with trusted tools."
        ) from None
    except HostilePickle as exc:
        raise CodequarryError(f"{where}: refused: {exc}; this is not a plain data pickle from the official source") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError, KeyError, OSError,
            AttributeError, UnicodeDecodeError, MemoryError, RecursionError) as exc:
        kind = "truncated" if isinstance(exc, EOFError) else "not a valid pickle of plain data"
        raise CodequarryError(f"{where}: {kind} ({type(exc).__name__}: {exc}); re-download the file") from None


def as_text(value: Any) -> str:
    """A pickled text value as ``str``: py2 byte strings are decoded as UTF-8 (UnicodeDecodeError if invalid)."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, str):
        return value
    raise TypeError(f"expected text, got {type(value).__name__}")
