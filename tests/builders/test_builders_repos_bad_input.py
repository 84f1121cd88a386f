"""`build repos` on hostile input: every bad file is an accounted exclusion with its reason, never a crash."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from codequarry.builders import repos as R
from codequarry.pairs import PairsDir

GOOD = 'def ok(x):\n    """Fine."""\n    return x\n'


def _reasons(exclusions, out: Path) -> dict[str, str]:
    return {e["path"]: e["reason"] for e in exclusions(out)}


@pytest.fixture
def hostile(tmp_path):
    """A folder holding one of each bad input next to a good file."""
    root = tmp_path / "hostile"
    root.mkdir()
    (root / "good.py").write_text(GOOD)
    (root / "binary.py").write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 8)
    (root / "latin1.py").write_bytes(b'def f():\n    """Caf\xe9."""\n    return 1\n')
    # a 50 MB minified file on a single line
    with open(root / "bundle.min.js", "wb") as fh:
        chunk = b"a=function(b){return b+1};" * 40_000  # ~1 MB
        for _ in range(50):
            fh.write(chunk)
    # code nested 10,000 levels deep (well under --max-file-bytes)
    (root / "deep.py").write_text('def deep():\n    """Deep."""\n    return ' + "(" * 10_000 + "1" + ")" * 10_000 + "\n")
    (root / "deep.js").write_text("/** Deep. */\nfunction deep() {" + "{" * 10_000 + "}" * 10_000 + "}\n")
    # symlink loop and a dangling link
    (root / "sub").mkdir()
    (root / "sub" / "loop").symlink_to(root, target_is_directory=True)
    (root / "sub" / "self").symlink_to(root / "sub", target_is_directory=True)
    (root / "dangling.py").symlink_to(root / "nowhere.py")
    (root / "linked.py").symlink_to(root / "good.py")
    # a folder named like a source file, and a FIFO
    (root / "folder.py").mkdir()
    (root / "folder.py" / "inner.py").write_text(GOOD)
    if hasattr(os, "mkfifo"):
        os.mkfifo(root / "pipe.py")
    # unreadable file
    locked = root / "locked.py"
    locked.write_text(GOOD)
    locked.chmod(0)
    yield root
    if locked.exists():
        locked.chmod(0o644)


def _deny_when_root(monkeypatch, path: Path) -> None:
    """Root reads files whatever their mode; simulate the kernel's EACCES for that one path."""
    if os.geteuid() != 0:
        return
    from codequarry.builders import _io

    real_open = _io.open_regular

    def guarded(file, *args, **kwargs):
        if os.fspath(file) == os.fspath(path):
            raise PermissionError(13, "Permission denied", os.fspath(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(_io, "open_regular", guarded)


def test_every_bad_input_is_an_accounted_exclusion(hostile, tmp_path, monkeypatch, accounted, exclusions):
    _deny_when_root(monkeypatch, hostile / "locked.py")
    m = R.build(tmp_path / "out", paths=[hostile], workers=1)
    counts = accounted(m)
    rows = PairsDir(tmp_path / "out").read().to_pylist()
    assert sorted((r["path"], r["func_name"]) for r in rows) == [
        ("deep.js", "deep"), ("deep.py", "deep"), ("folder.py/inner.py", "ok"), ("good.py", "ok")]
    deep = next(r for r in rows if r["path"] == "deep.py")
    assert len(deep["code_tokens"]) == 20_007  # def deep ( ) : return, 10,000 × "(", 1, 10,000 × ")" and deep["code"].endswith(")" * 10_000)
    reasons = _reasons(exclusions, tmp_path / "out")
    expected = {
        "binary.py": "binary",
        "latin1.py": "invalid_utf8",
        "bundle.min.js": "too_large",
        "sub/loop": "symlink",
        "sub/self": "symlink",
        "dangling.py": "symlink",
        "linked.py": "symlink",
        "locked.py": "unreadable",
    }
    if hasattr(os, "mkfifo"):
        expected["pipe.py"] = "not_a_file"
    assert reasons == expected
    assert counts["read"] == 4 + len(expected) == counts["written"] + counts["excluded"]
    by_path = {e["path"]: e for e in exclusions(tmp_path / "out")}
    assert "NUL byte" in by_path["binary.py"]["detail"] and "directory symlink" in by_path["sub/loop"]["detail"]
    assert "Permission denied" in by_path["locked.py"]["detail"]


def test_decode_errors_replace_keeps_invalid_utf8(hostile, tmp_path, monkeypatch, accounted):
    _deny_when_root(monkeypatch, hostile / "locked.py")
    m = R.build(tmp_path / "out", paths=[hostile], decode_errors="replace", max_file_bytes=60_000_000,
                languages=["python"])
    accounted(m)
    rows = {r["path"]: r for r in PairsDir(tmp_path / "out").read().to_pylist()}
    assert rows["latin1.py"]["query"] == "Caf\ufffd."
    assert m["repos"]["stats"]["files_decoded_with_replacement"] == 1
    assert "bundle.min.js" not in rows  # --languages python leaves JavaScript out entirely


def test_big_minified_file_parses_when_allowed(tmp_path, accounted):
    root = tmp_path / "p"
    root.mkdir()
    (root / "one-line.js").write_text("/** Tiny. */ function t(a){return a}" + ";x=1" * 200_000 + "\n")
    m = R.build(tmp_path / "out", paths=[root], max_file_bytes=10_000_000)
    accounted(m)
    (row,) = PairsDir(tmp_path / "out").read().to_pylist()
    assert (row["query"], row["start_line"], row["end_line"]) == ("Tiny.", 1, 1)


def test_bad_input_with_two_workers_matches_one(hostile, tmp_path):
    if os.geteuid() == 0:
        (hostile / "locked.py").unlink()  # a forked worker cannot see a monkeypatched open
    m1 = R.build(tmp_path / "w1", paths=[hostile], workers=1)
    m2 = R.build(tmp_path / "w2", paths=[hostile], workers=2)
    assert m1["fingerprint"] == m2["fingerprint"] and m1["counts"] == m2["counts"]
