"""Hostile pickles (issue 14 item 4): each is refused with one line, in bounded time and memory, never a crash.

The hostile files are written opcode by opcode here (not with ``pickle.dumps``), so the tests do not
depend on what a pickler would emit. Loads and builds run in a child process with an address-space
limit and a timeout: a segfault (exit 139 / -11), a hang or a memory blow-up fails the test.
"""

from __future__ import annotations

import resource
import struct
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from codequarry.errors import CodequarryError
from codequarry.releases.pickles import Limits, safe_loads

MEMORY_LIMIT = 2 << 30  # 2 GiB of address space for the child (the interpreter + pyarrow need ~1 GiB)
PROTO2 = b"\x80\x02"


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run_bounded(argv: list[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run a child under the memory limit; a timeout raises, so a hang fails the test."""
    start = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, preexec_fn=_limit_memory)
    proc.elapsed = time.monotonic() - start  # type: ignore[attr-defined]
    assert proc.returncode not in (139, -11), f"child crashed (segfault): {proc.stderr[-2000:]}"
    return proc


def load_in_child(path: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    code = textwrap.dedent(f"""
        from codequarry.errors import CodequarryError
        from codequarry.releases.pickles import safe_load
        try:
            safe_load({str(path)!r})
        except CodequarryError as exc:
            print("REFUSED", exc)
        else:
            print("LOADED")
    """)
    return run_bounded([sys.executable, "-c", code], timeout)


# --------------------------------------------------------------------------------------------
# hostile pickles, opcode by opcode


def deep_tuple_key(depth: int) -> bytes:
    """{((((0,),),)...): 1} with the key nested ``depth`` times (hashing it overflows the C stack)."""
    return PROTO2 + b"}" + b"K\x00" + b"\x85" * depth + b"K\x01s."


def deep_lists(depth: int) -> bytes:
    """[[[[...]]]] ``depth`` levels: an EMPTY_LIST per level, then APPEND each into the one below."""
    return PROTO2 + b"]" * depth + b"a" * (depth - 1) + b"."


def billion_laughs(levels: int = 30, fan: int = 10) -> bytes:
    """List level k holds ``fan`` memo references to level k-1: a few hundred bytes, fan**levels strings."""
    out = bytearray(PROTO2)
    out += b"]q\x00(" + b"\x8c\x03lol" * fan + b"e0"
    for k in range(1, levels):
        out += b"]q" + bytes([k]) + b"(" + (b"h" + bytes([k - 1])) * fan + b"e0"
    out += b"h" + bytes([levels - 1]) + b"."
    return bytes(out)


def huge_memo_index() -> bytes:
    """LONG_BINPUT at index 2**31: the C unpickler would size its memo table to it (16+ GiB)."""
    return PROTO2 + b"N" + b"r" + struct.pack("<I", 2**31) + b"."


def forged_length() -> bytes:
    """BINUNICODE8 claiming 2**40 bytes in a 20-byte file (a reader that trusts it allocates first)."""
    return b"\x80\x04\x8d" + struct.pack("<Q", 2**40) + b"abc."


def test_the_pickles_are_what_they_claim():
    """The crafted bytes are valid pickles the plain unpickler accepts (small versions of each)."""
    import pickle

    assert pickle.loads(deep_tuple_key(3)) == {(((0,),),): 1}
    assert pickle.loads(deep_lists(3)) == [[[]]]
    small = pickle.loads(billion_laughs(levels=3, fan=2))
    assert small == [[["lol", "lol"], ["lol", "lol"]], [["lol", "lol"], ["lol", "lol"]]]


# --------------------------------------------------------------------------------------------
# each is refused, in a bounded child


@pytest.mark.parametrize("name, data, message", [
    ("deep_tuple_key", deep_tuple_key(1_000_000), "nested deeper than 100 levels"),
    ("deep_lists", deep_lists(200_000), "nested deeper than 100 levels"),
    ("billion_laughs", billion_laughs(), "expands to more than"),
    ("huge_memo_index", huge_memo_index(), "memo index 2,147,483,648 is far beyond"),
    ("forged_length", forged_length(), "truncated"),
])
def test_hostile_pickle_is_a_one_line_refusal_in_bounded_time_and_memory(tmp_path, name, data, message):
    path = tmp_path / f"{name}.pickle"
    path.write_bytes(data)
    proc = load_in_child(path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout.strip()
    assert out.startswith("REFUSED") and message in out, out
    assert "\n" not in out and "Traceback" not in proc.stderr
    assert proc.elapsed < 30  # type: ignore[attr-defined]


def test_sizes_of_the_reported_files():
    assert len(billion_laughs()) < 1024  # the bomb was 824 bytes
    assert len(deep_tuple_key(1_000_000)) > 1_000_000


def test_limits_are_parameters_and_honest_data_passes():
    data = PROTO2 + b"]q\x00(" + b"K\x01" * 50 + b"e."
    assert safe_loads(data) == [1] * 50
    with pytest.raises(CodequarryError, match="expands to more than 10"):
        safe_loads(data, limits=Limits(max_work=10))
    nested = deep_lists(5)
    assert safe_loads(nested, limits=Limits(max_depth=5)) == [[[[[]]]]]
    with pytest.raises(CodequarryError, match="nested deeper than 4"):
        safe_loads(nested, limits=Limits(max_depth=4))


def test_shared_references_to_scalars_are_free_but_containers_count_per_use():
    # the same string 1000 times through the memo: honest (pickle memoizes repeated strings)
    strings = PROTO2 + b"]q\x00(" + b"\x8c\x01aq\x01" + b"h\x01" * 999 + b"e."
    assert safe_loads(strings) == ["a"] * 1000
    # the same 1000-element list used 1000 times: a million elements from 2 KB
    inner = b"]q\x00(" + b"K\x01" * 1000 + b"e0"
    shared = PROTO2 + inner + b"]q\x01(" + b"h\x00" * 1000 + b"e."
    with pytest.raises(CodequarryError, match="shared references multiply"):
        safe_loads(shared)


def test_cycles_and_changes_after_use_are_refused():
    cycle = PROTO2 + b"]q\x00h\x00a."  # l = []; l.append(l)
    with pytest.raises(CodequarryError, match="holds itself"):
        safe_loads(cycle)
    # a = []; b = [a]; a.append(1) -- a changed after it was placed in b
    later = PROTO2 + b"]q\x00]q\x01h\x00a0h\x00K\x01a0h\x01."
    with pytest.raises(CodequarryError, match="changed after it was used"):
        safe_loads(later)


def test_unhashable_key_and_wide_integer_are_clear_errors():
    with pytest.raises(CodequarryError, match="unhashable"):
        safe_loads(PROTO2 + b"}]K\x01s.")
    wide = PROTO2 + b"\x8b" + struct.pack("<i", 4096) + b"\x01" * 4096 + b"."
    with pytest.raises(CodequarryError, match="integer wider than 1024 bytes"):
        safe_loads(wide)


# --------------------------------------------------------------------------------------------
# through the builders' command line


def _cli(args: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return run_bounded([sys.executable, "-m", "codequarry.cli", *args], timeout)


@pytest.mark.parametrize("data, message", [
    (billion_laughs(), "expands to more than"),
    (deep_tuple_key(1_000_000), "nested deeper than"),
    (huge_memo_index(), "memo index"),
])
def test_build_codesearchnet_refuses_a_hostile_dedupe_pickle_with_one_line(tmp_path, data, message):
    src = tmp_path / "src"
    src.mkdir()
    (src / "python_dedupe_definitions_v2.pkl").write_bytes(data)
    proc = _cli(["build", "codesearchnet", "--path", str(src), "--out", str(tmp_path / "out")])
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in proc.stderr


def test_build_staqc_refuses_a_billion_laughs_label_pickle(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "python_multi_code_iids.txt").write_text("(1, 0)\n")
    for name in ("python_how_to_do_it_by_classifier_multiple_iid_to_code.pickle",
                 "python_how_to_do_it_by_classifier_multiple_qid_to_title.pickle"):
        (src / name).write_bytes(PROTO2 + b"}.")
    (src / "python_all_agreed_iid_to_label.pickle").write_bytes(billion_laughs())
    proc = _cli(["build", "staqc", "--path", str(src), "--languages", "python", "--parts", "multi",
                 "--out", str(tmp_path / "out")])
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "expands to more than" in proc.stderr and "Traceback" not in proc.stderr


def test_dedupe_records_with_tuple_or_int_keys_are_counted_exclusions(tmp_path):
    """Dicts keyed (1, 2) or 5 used to reach json.dumps and stop the build with a TypeError traceback."""
    import pickle

    good = {"nwo": "o/r", "sha": "0" * 40, "path": "a.py", "language": "python", "identifier": "f",
            "docstring": "Doc.", "docstring_summary": "Doc.", "docstring_tokens": ["Doc", "."],
            "function": "def f(): pass", "function_tokens": ["def"], "url": "https://github.com/o/r/blob/x/a.py#L1-L2"}
    recs = [dict(good), {**good, "url": good["url"] + "0", (1, 2): "tuple key"}, {**good, "url": good["url"] + "1", 5: "x"}]
    src = tmp_path / "src"
    src.mkdir()
    (src / "python_dedupe_definitions_v2.pkl").write_bytes(pickle.dumps(recs, protocol=2))
    proc = _cli(["build", "codesearchnet", "--path", str(src), "--out", str(tmp_path / "out")])
    assert proc.returncode == 0, proc.stderr[-2000:]
    import json

    counts = json.loads((tmp_path / "out" / "codequarry.json").read_text())["counts"]
    assert counts["written"] == 1 and counts["exclusion_reasons"] == {"build/wrong_type": 2}
