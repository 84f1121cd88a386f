"""Hostile files handed to the builders: links out of the input, special files, endless lines, odd bytes.

Each test proves the property the threat model promises (docs/security.md): a file outside the
input is not read, nothing blocks, memory stays bounded, and every bad thing is a counted exclusion
or a one-line error, never a traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from codequarry.builders import _io, _readers, files, repos
from codequarry.builders._io import Bad, Input

SECRET = "TOP-SECRET-7f3a9c"


def _good(items):
    return [rec for rec in items if not isinstance(rec, Bad)]


def _bad(items):
    return [(b.reason, b.locator) for b in items if isinstance(b, Bad)]


def _items(path: Path, fmt: str | None = None):
    return list(_readers.iter_records(Input(path.name, path), fmt))


# --------------------------------------------------------------------------------------------
# links and special files


def test_symlinked_file_in_an_input_folder_is_not_read(tmp_path, everything, exclusions):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.jsonl").write_text(f'{{"query": "{SECRET}", "code": "x = 1"}}\nroot:{SECRET}:0:0\n')
    data = tmp_path / "data"
    data.mkdir()
    (data / "ok.jsonl").write_text('{"query": "add", "code": "a + b"}\n')
    (data / "leak.jsonl").symlink_to(outside / "secret.jsonl")
    (data / "dir").symlink_to(outside, target_is_directory=True)
    manifest = files.build(tmp_path / "out", path=data, mapping={"language": "python"})
    assert manifest["counts"]["written"] == 1
    assert SECRET not in everything(tmp_path / "out")
    assert sorted((e["reason"], e["locator"]) for e in exclusions(tmp_path / "out")) == [
        ("symlink", "dir"), ("symlink", "leak.jsonl")]


def test_link_swapped_in_after_listing_is_refused(tmp_path):
    """Opening goes through O_NOFOLLOW on every component: a folder replaced by a link is not followed."""
    root = tmp_path / "in"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "a.jsonl").write_text("{}\n")
    inputs, bad = _io.discover([root])
    assert [i.name for i in inputs] == ["sub/a.jsonl"] and not bad
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "a.jsonl").write_text(json.dumps({"secret": SECRET}) + "\n")
    (root / "sub" / "a.jsonl").unlink()
    (root / "sub").rmdir()
    (root / "sub").symlink_to(outside, target_is_directory=True)
    items = list(_readers.iter_records(inputs[0]))
    assert _bad(items) == [("symlink", "sub/a.jsonl:1")] and not _good(items)


def test_fifo_socket_and_link_to_fifo_are_never_opened(tmp_path, exclusions):
    """A FIFO without a writer blocks whoever opens it: the build must finish, counting each as excluded."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "ok.jsonl").write_text('{"query": "add", "code": "a + b"}\n')
    os.mkfifo(data / "pipe.jsonl")
    os.mkfifo(tmp_path / "outside-pipe")
    (data / "link.jsonl").symlink_to(tmp_path / "outside-pipe")
    code = (f"from codequarry.builders import files\n"
            f"m = files.build({str(tmp_path / 'out')!r}, path={str(data)!r}, mapping={{'language': 'python'}})\n"
            f"print(m['counts']['written'], m['counts']['excluded'])\n")
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert time.monotonic() - started < 60
    assert proc.stdout.split() == ["1", "2"]
    assert sorted((e["reason"], e["locator"]) for e in exclusions(tmp_path / "out")) == [
        ("not_a_file", "pipe.jsonl"), ("symlink", "link.jsonl")]


def test_fifo_named_directly_is_refused_not_opened(tmp_path):
    os.mkfifo(tmp_path / "p.jsonl")
    assert [r for r, _ in _bad(_items(tmp_path / "p.jsonl"))] == ["not_a_file"]


def test_non_record_file_bytes_are_described_not_copied(tmp_path, everything, exclusions):
    """Read as JSON Lines on request, a text file gives exclusions that describe its lines without copying them."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "notes.txt").write_text(f"password={SECRET}\nnot json either {SECRET}\n")
    (data / "rows.txt").write_text('{"query": "q", "code": "c"}\n{"query": broken\n')
    files.build(tmp_path / "out", path=data, fmt="jsonl", mapping={"language": "python"})
    assert SECRET not in everything(tmp_path / "out")
    ex = {e["locator"]: e for e in exclusions(tmp_path / "out")}
    assert "sha256" in ex["notes.txt:1"]["raw"] and "bytes" in ex["notes.txt:1"]["raw"]
    assert ex["rows.txt:2"]["raw"].startswith('{"query": broken')  # a record file's bad line is kept to inspect


# --------------------------------------------------------------------------------------------
# size bombs


def test_file_without_line_breaks_is_read_in_bounded_memory(tmp_path, bounded):
    """A 400 MB sparse file of NUL bytes (what /dev/zero gives): one over-long line, a few tens of MB of RAM."""
    p = tmp_path / "zero.jsonl"
    with open(p, "wb") as fh:
        fh.truncate(400 << 20)
    code = (f"from codequarry.builders import _io, _readers\n"
            f"items = list(_readers.iter_records(_io.Input('zero.jsonl', __import__('pathlib').Path({str(p)!r}))))\n"
            f"print([(b.reason, b.locator) for b in items])\n")
    _, baseline = bounded("from codequarry.builders import _io, _readers\n")
    started = time.monotonic()
    out, peak = bounded(code, timeout=120)
    assert out.strip() == "[('line_too_long', 'zero.jsonl:1')]"
    assert peak - baseline < 150, f"peak {peak:.0f} MiB vs {baseline:.0f} MiB baseline"
    assert time.monotonic() - started < 120


def test_split_lines_bounds_and_line_ends():
    import io

    chunks = b"a\rb\r\nc\n" + b"x" * 50 + b"\r\nd"
    lines = list(_readers.split_lines(io.BytesIO(chunks), max_line=20))
    assert lines == [b"a\r", b"b\r\n", b"c\n", 52, b"d"]
    # a \r\n pair cut by the chunk boundary stays one line end
    old = _readers._LINE_CHUNK
    try:
        _readers._LINE_CHUNK = 4
        assert list(_readers.split_lines(io.BytesIO(b"abc\r\nxyz\r\n"), max_line=100)) == [b"abc\r\n", b"xyz\r\n"]
        assert list(_readers.split_lines(io.BytesIO(b"abcdefghij\r\nk\n"), max_line=5)) == [12, b"k\n"]
    finally:
        _readers._LINE_CHUNK = old


def test_huge_integer_is_an_exclusion_and_does_not_end_a_json_array(tmp_path):
    big = "9" * 5000
    p = tmp_path / "x.jsonl"
    p.write_text(f'{{"a": 1}}\n{{"a": {big}}}\n{{"a": 3}}\n')
    items = _items(p)
    assert [r for _, r in _good(items)] == [{"a": 1}, {"a": 3}]
    assert _bad(items) == [("number_too_large", "x.jsonl:2")]
    q = tmp_path / "x.json"
    q.write_text(f'[{{"a": 1}}, {{"a": -{big}, "b": [1, 2]}}, {{"a": 3}}]')
    items = _items(q)
    assert [r for _, r in _good(items)] == [{"a": 1}, {"a": 3}]
    assert _bad(items) == [("number_too_large", "x.json[1]")]


# --------------------------------------------------------------------------------------------
# names, byte-order marks, line ends


@pytest.mark.skipif(sys.platform == "darwin", reason="macOS refuses file names that are not UTF-8")
def test_non_utf8_file_name_is_a_counted_exclusion(tmp_path, exclusions):
    data = tmp_path / "data"
    data.mkdir()
    (data / "ok.jsonl").write_text('{"query": "add", "code": "a + b"}\n')
    with open(os.path.join(os.fsencode(data), b"bad\xff.jsonl"), "w") as fh:
        fh.write('{"query": "q", "code": "c"}\n')
    m = files.build(tmp_path / "out", path=data, mapping={"language": "python"})
    assert m["counts"]["written"] == 1
    assert [(e["reason"], e["locator"]) for e in exclusions(tmp_path / "out")] == [("invalid_file_name", "bad\\xff.jsonl")]
    src = tmp_path / "src"
    src.mkdir()
    (src / "ok.py").write_text('def f(x):\n    """Double x."""\n    return x * 2\n')
    with open(os.path.join(os.fsencode(src), b"caf\xe9.py"), "w") as fh:
        fh.write('def g(x):\n    """Triple x."""\n    return x * 3\n')
    m = repos.build(tmp_path / "out2", paths=[str(src)], languages=["python"])
    assert m["counts"]["written"] == 1
    assert [(e["reason"], e["path"]) for e in exclusions(tmp_path / "out2")] == [("invalid_file_name", "caf\\xe9.py")]
    # the same in a git repository, where `git ls-files` lists the name (untracked, then committed)
    env = dict(os.environ, GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1", GIT_AUTHOR_NAME="T",
               GIT_AUTHOR_EMAIL="t@e", GIT_COMMITTER_NAME="T", GIT_COMMITTER_EMAIL="t@e")
    subprocess.run(["git", "init", "-q"], cwd=src, env=env, check=True)
    for step in ("untracked", "committed"):
        if step == "committed":
            subprocess.run(["git", "add", "-A"], cwd=src, env=env, check=True)
            subprocess.run(["git", "commit", "-qm", "x"], cwd=src, env=env, check=True)
        m = repos.build(tmp_path / f"out-{step}", paths=[str(src)], languages=["python"])
        assert m["counts"]["written"] == 1, step
        assert [(e["reason"], e["path"]) for e in exclusions(tmp_path / f"out-{step}")] == [
            ("invalid_file_name", "caf\\xe9.py")], step


def test_bom_and_cr_only_line_ends(tmp_path):
    p = tmp_path / "bom.jsonl"
    p.write_bytes(b'\xef\xbb\xbf{"a": 1}\n{"a": 2}\n')
    assert [r for _, r in _good(_items(p))] == [{"a": 1}, {"a": 2}]
    p = tmp_path / "mac.jsonl"
    p.write_bytes(b'{"a": 1}\r{"a": 2}\r{"a": 3}\r')
    items = _items(p)
    assert [r for _, r in _good(items)] == [{"a": 1}, {"a": 2}, {"a": 3}] and not _bad(items)
    p = tmp_path / "bom.json"
    p.write_bytes(b'\xef\xbb\xbf[{"a": 1}]')
    assert [r for _, r in _good(_items(p))] == [{"a": 1}]
    p = tmp_path / "bom.csv"
    p.write_bytes(b'\xef\xbb\xbfquery,code\r\nq1,c1\r\nq2,"multi\r\nline"\r\n')
    assert [r for _, r in _good(_items(p))] == [{"query": "q1", "code": "c1"}, {"query": "q2", "code": "multi\r\nline"}]
    p = tmp_path / "mac.csv"
    p.write_bytes(b"query,code\rq1,c1\rq2,c2\r")
    assert [r for _, r in _good(_items(p))] == [{"query": "q1", "code": "c1"}, {"query": "q2", "code": "c2"}]


# --------------------------------------------------------------------------------------------
# strict CSV


def test_csv_unterminated_quote_is_an_exclusion_not_a_merged_record(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text('query,code\nq1,c1\nq2,"open\nq3,c3\nq4,c4\n')
    items = _items(p)
    assert [r for _, r in _good(items)] == [{"query": "q1", "code": "c1"}]
    bad = [b for b in items if isinstance(b, Bad)]
    assert [(b.reason, b.locator) for b in bad] == [("malformed_csv", "x.csv:3")]
    assert "never closed" in bad[0].detail and "lines 3-5" in bad[0].detail


def test_csv_junk_after_closing_quote_is_refused(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text('query,code\n"q1"junk,c1\nq2,c2\n')
    items = _items(p)
    assert [r for _, r in _good(items)] == [{"query": "q2", "code": "c2"}]
    assert _bad(items) == [("malformed_csv", "x.csv:2")]


def test_csv_duplicated_header_is_refused(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("query,code,query\nq1,c1,other\n")
    items = _items(p)
    assert not _good(items)
    bad = [b for b in items if isinstance(b, Bad)]
    assert [(b.reason, b.locator) for b in bad] == [("malformed_csv", "x.csv:1")] and "'query'" in bad[0].detail


def test_license_file_swapped_for_a_link_is_not_read(tmp_path, monkeypatch):
    """A LICENSE replaced by a link between listing and reading is refused at open time (O_NOFOLLOW)."""
    from codequarry.builders import _licenses

    mit = ("MIT License\n\nPermission is hereby granted, free of charge, to any person obtaining a copy\nof this "
           "software and associated documentation files (the \"Software\"), to deal ...\n\nThe above copyright notice "
           "and this permission notice shall be included in all\ncopies or substantial portions of the Software.\n")
    root = tmp_path / "repo"
    root.mkdir()
    (root / "LICENSE").write_text(mit)
    assert _licenses.detect_license(root) == "MIT"
    listed = _licenses.license_files(root)
    (tmp_path / "elsewhere").write_text(mit)
    (root / "LICENSE").unlink()
    (root / "LICENSE").symlink_to(tmp_path / "elsewhere")
    monkeypatch.setattr(_licenses, "license_files", lambda _root: listed)  # the listing made before the swap
    assert _licenses.detect_license(root) is None


def test_git_work_tree_folder_replaced_by_a_link_is_not_followed(tmp_path, everything, exclusions):
    """`git ls-files` still lists sub/x.py after `sub` became a link out of the repository: the file is not read."""
    repo = tmp_path / "repo"
    (repo / "sub").mkdir(parents=True)
    (repo / "sub" / "x.py").write_text('def f(x):\n    """Tracked."""\n    return x\n')
    env = dict(os.environ, GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1", GIT_AUTHOR_NAME="T",
               GIT_AUTHOR_EMAIL="t@e", GIT_COMMITTER_NAME="T", GIT_COMMITTER_EMAIL="t@e")
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "x"]):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.py").write_text(f'def leak():\n    """{SECRET}."""\n    return 1\n')
    (repo / "sub" / "x.py").unlink()
    (repo / "sub").rmdir()
    (repo / "sub").symlink_to(outside, target_is_directory=True)
    m = repos.build(tmp_path / "out", paths=[str(repo)], languages=["python"])
    assert m["counts"]["written"] == 0 and SECRET not in everything(tmp_path / "out")
    # the tracked path is refused at open time; the link itself shows up as an untracked entry
    assert sorted((e["reason"], e["path"]) for e in exclusions(tmp_path / "out")) == [
        ("symlink", "sub"), ("symlink", "sub/x.py")]


def test_oversized_json_element_and_csv_field_are_bounded(tmp_path, monkeypatch):
    """An element or field beyond the limit is excluded without reading the rest into memory."""
    monkeypatch.setattr(_readers, "MAX_LINE_BYTES", 1000)
    monkeypatch.setattr(_readers, "_JSON_CHUNK", 100)
    q = tmp_path / "x.json"
    q.write_text('[{"a": 1}, {"a": "' + "x" * 5000 + '"}, {"a": 3}]')
    items = _items(q)
    assert [r for _, r in _good(items)] == [{"a": 1}]
    assert _bad(items) == [("record_too_large", "x.json[1]")]
    from codequarry.builders import _tables

    monkeypatch.setattr(_tables, "MAX_LINE_BYTES", 1000)
    p = tmp_path / "x.csv"
    p.write_text('query,code\nq1,"' + "y\n" * 3000 + '"\nq2,c2\n')
    items = _items(p)
    assert {"query": "q1", "code": "y\n" * 3000} not in [r for _, r in _good(items)]
    assert [r for r, _ in _bad(items)][:1] == ["malformed_csv"]
