"""Fixtures for builder tests: Python-2 pickle writer, manifest accounting check, `datasets` loading."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import pytest


def _py2_pickle(obj: Any, protocol: int = 2) -> bytes:
    """Bytes that Python 2.7's ``pickle.dump(obj, f, protocol)`` writes for plain data.

    Python 2 types are modelled by Python 3 ones: ``bytes`` = py2 ``str``, ``str`` = py2 ``unicode``,
    ``int`` beyond 32 bits = ``long``. Memo PUT opcodes are emitted like py2 does for containers.
    """
    if protocol not in (0, 2):
        raise ValueError("StaQC pickles use protocols 0 and 2")
    out = bytearray(b"\x80\x02" if protocol == 2 else b"")
    memo = [0]

    def put() -> None:
        if protocol == 0:
            out.extend(b"p%d\n" % memo[0])
        else:
            out.extend(b"q" + bytes([memo[0]]) if memo[0] < 256 else b"r" + struct.pack("<I", memo[0]))
        memo[0] += 1

    def emit(x: Any) -> None:
        if x is None:
            out.extend(b"N")
        elif isinstance(x, bool):
            out.extend((b"I01\n" if x else b"I00\n") if protocol == 0 else (b"\x88" if x else b"\x89"))
        elif isinstance(x, int):
            if protocol == 0:
                out.extend(b"I%d\n" % x if -(2**31) <= x < 2**31 else b"L%dL\n" % x)
            elif 0 <= x < 256:
                out.extend(b"K" + bytes([x]))
            elif 0 <= x < 65536:
                out.extend(b"M" + struct.pack("<H", x))
            elif -(2**31) <= x < 2**31:
                out.extend(b"J" + struct.pack("<i", x))
            else:
                n = (x.bit_length() + 8) // 8
                out.extend(b"\x8a" + bytes([n]) + x.to_bytes(n, "little", signed=True))
        elif isinstance(x, bytes):  # py2 str
            if protocol == 0:
                out.extend(b"S" + repr(x)[1:].encode("ascii") + b"\n")
            elif len(x) < 256:
                out.extend(b"U" + bytes([len(x)]) + x)
            else:
                out.extend(b"T" + struct.pack("<I", len(x)) + x)
            put()
        elif isinstance(x, str):  # py2 unicode
            if protocol == 0:
                esc = x.replace("\\", "\\u005c").replace("\n", "\\u000a").encode("raw-unicode-escape")
                out.extend(b"V" + esc + b"\n")
            else:
                data = x.encode("utf-8")
                out.extend(b"X" + struct.pack("<I", len(data)) + data)
            put()
        elif isinstance(x, tuple):
            if protocol == 2 and 1 <= len(x) <= 3:
                for v in x:
                    emit(v)
                out.extend({1: b"\x85", 2: b"\x86", 3: b"\x87"}[len(x)])
            else:
                out.extend(b"(")
                for v in x:
                    emit(v)
                out.extend(b"t")
            put()
        elif isinstance(x, list):
            out.extend(b"(l" if protocol == 0 else b"]")
            put()
            if protocol == 0:
                for v in x:
                    emit(v)
                    out.extend(b"a")
            elif x:
                out.extend(b"(")
                for v in x:
                    emit(v)
                out.extend(b"e")
        elif isinstance(x, dict):
            out.extend(b"(d" if protocol == 0 else b"}")
            put()
            if protocol == 0:
                for k, v in x.items():
                    emit(k)
                    emit(v)
                    out.extend(b"s")
            elif x:
                out.extend(b"(")
                for k, v in x.items():
                    emit(k)
                    emit(v)
                out.extend(b"u")
        elif isinstance(x, (set, frozenset)):  # py2: copy_reg-free reduce of __builtin__.set(list)
            name = b"set" if isinstance(x, set) else b"frozenset"
            out.extend(b"c__builtin__\n" + name + b"\n")
            put()
            if protocol == 0:
                out.extend(b"(")
            emit(sorted(x))
            out.extend(b"tR" if protocol == 0 else b"\x85R")
            put()
        else:
            raise TypeError(f"no py2 pickle for {type(x).__name__}")

    emit(obj)
    out.extend(b".")
    return bytes(out)


@pytest.fixture
def py2_pickle():
    """``py2_pickle(obj, protocol) -> bytes``: what Python 2.7 writes (bytes = py2 str, str = unicode)."""
    return _py2_pickle


def _check_accounting(manifest: dict[str, Any]) -> dict[str, Any]:
    counts = manifest["counts"]
    assert counts["read"] == counts["written"] + counts["excluded"], counts
    assert counts["written"] == sum(n for parts in manifest["splits"].values() for n in parts.values())
    assert counts["excluded"] == sum(counts["exclusion_reasons"].values())
    return counts


@pytest.fixture
def accounted():
    """Assert read = written + excluded (and the per-split / per-reason sums) in a manifest; returns counts."""
    return _check_accounting


@pytest.fixture
def hf_load(tmp_path_factory):
    """Load a pairs dir with ``datasets.load_dataset`` (as users and the Hub do), caching under tmp."""
    import datasets

    def load(path: Path, config: str | None = None):
        cache = tmp_path_factory.mktemp("hf-cache")
        return datasets.load_dataset(str(path), config, cache_dir=str(cache))

    return load
