"""Hostile files for ``codequarry build SOURCE`` over the release sources (issue 14, docs/security.md).

``test_hostile_inputs.py`` covers the shared file layer through ``build files``; this sweep runs the
CLI of each release builder on a folder whose one input file is a link out of the folder or a FIFO:
the build must count it (``symlink`` / ``not_a_file`` exclusion) or stop with one line naming it,
never read the outside file, block or print a traceback.
"""

from __future__ import annotations

import gzip
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from codequarry.builders import cosqa, staqc
from codequarry.errors import CodequarryError

MARKER = "OUTSIDE-SECRET-51c2"


def _cosqa(tag: str) -> bytes:
    return json.dumps([{"idx": f"cosqa-dev-{i}", "doc": f"query {i} {tag}", "code": f"def f{i}(): {tag}",
                        "code_tokens": "def f", "docstring_tokens": "query", "label": 1} for i in range(3)]).encode()


def _csn(tag: str) -> bytes:
    rows = [{"repo": "o/r", "path": "m.py", "func_name": f"f{i}", "original_string": f"def f{i}(): {tag}",
             "language": "python", "code": f"def f{i}(): {tag}", "code_tokens": ["def", f"f{i}"],
             "docstring": f"Doc {i} {tag}", "docstring_tokens": ["doc", tag], "sha": "a" * 40,
             "url": f"https://github.com/o/r/blob/{'a' * 40}/m.py#L{i}-L{i + 1}", "partition": "test"} for i in range(3)]
    return gzip.compress("".join(json.dumps(r) + "\n" for r in rows).encode(), mtime=0)


def _advtest(tag: str) -> bytes:
    return "".join(json.dumps({"url": f"u{i}", "idx": i, "docstring_tokens": ["doc", tag],
                               "function_tokens": ["def", "f"], "function": f"def f(): {tag}",
                               "original_string": f"def f(): {tag}", "docstring": f"doc {tag}", "func_name": "f",
                               "repo": "o/r", "path": "m.py"}) + "\n" for i in range(3)).encode()


def _webquery(tag: str) -> bytes:
    return json.dumps([{"idx": f"webquery-test-{i}", "doc": f"query {i} {tag}", "code": f"def f(): {tag}"}
                       for i in range(3)]).encode()


def _files(tag: str) -> bytes:
    return "".join(json.dumps({"query": f"q {i} {tag}", "code": f"x = {i}  # {tag}"}) + "\n" for i in range(3)).encode()


# source, file name, content, extra CLI options
SOURCES = [
    ("cosqa", "cosqa-dev.json", _cosqa, ()),
    ("codesearchnet", "python_test_0.jsonl.gz", _csn, ()),
    ("advtest", "test.jsonl", _advtest, ()),
    ("webquery", "test_webquery.json", _webquery, ()),
    ("files", "pairs.jsonl", _files, ("--language", "python")),
]


def _build(source: str, path: Path, out: Path, extra: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
    where = [str(path)] if source == "hub" else ["--path", str(path)]  # hub takes the folder as DATASET
    args = [sys.executable, "-c", "import sys; from codequarry.cli import main; sys.exit(main())", "-q", "build", source,
            *where, "--out", str(out), *extra]
    return subprocess.run(args, capture_output=True, text=True, timeout=120, errors="backslashreplace")


def _everything(out: Path, proc: subprocess.CompletedProcess[str]) -> str:
    import pyarrow.parquet as pq

    parts = [proc.stdout, proc.stderr]
    for f in sorted(out.rglob("*")) if out.is_dir() else []:
        if f.suffix == ".parquet":
            parts.append(json.dumps(pq.read_table(f).to_pylist(), default=str))
        elif f.is_file():
            parts.append(f.read_bytes().decode("utf-8", "replace"))
    return "\n".join(parts)


def _clean(proc: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert proc.returncode in (0, 2), (proc.returncode, proc.stderr[-3000:])
    if proc.returncode == 2:
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


@pytest.mark.parametrize(("source", "name", "content", "extra"), SOURCES, ids=[s[0] for s in SOURCES])
def test_a_link_out_of_the_input_is_named_not_read(tmp_path: Path, source, name, content, extra) -> None:
    data, outside = tmp_path / "data", tmp_path / "outside"
    data.mkdir()
    outside.mkdir()
    (outside / name).write_bytes(content(MARKER))
    (data / name).symlink_to(outside / name)
    proc = _build(source, data, tmp_path / "out", extra)
    _clean(proc)
    assert MARKER not in _everything(tmp_path / "out", proc)
    text = _everything(tmp_path / "out", proc)
    assert "symlink" in text and name in text  # counted as an exclusion or named in the error: never silent


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
@pytest.mark.parametrize(("source", "name", "content", "extra"), SOURCES, ids=[s[0] for s in SOURCES])
def test_a_fifo_is_named_not_opened(tmp_path: Path, source, name, content, extra) -> None:
    data = tmp_path / "data"
    data.mkdir()
    os.mkfifo(data / name)
    proc = _build(source, data, tmp_path / "out", extra)  # opening the FIFO would block: the timeout fails the test
    _clean(proc)
    text = _everything(tmp_path / "out", proc)
    assert "not_a_file" in text or "not a file" in text or "FIFO" in text, text[-2000:]


def test_cosqa_names_the_refused_link_when_nothing_else_is_found(tmp_path: Path) -> None:
    data, outside = tmp_path / "data", tmp_path / "outside"
    data.mkdir()
    outside.mkdir()
    (outside / "cosqa-dev.json").write_bytes(_cosqa(MARKER))
    (data / "cosqa-dev.json").symlink_to(outside / "cosqa-dev.json")
    with pytest.raises(CodequarryError, match=r"no CoSQA files found .*not read: cosqa-dev\.json: symlink"):
        cosqa.build(tmp_path / "out", path=data)


def _staqc_folder(root: Path) -> Path:
    root.mkdir()
    dump = lambda obj, name: (root / name).write_bytes(pickle.dumps(obj, protocol=2))  # noqa: E731
    dump({(1, 0): 1, (2, 0): 0}, "python_all_agreed_iid_to_label.pickle")
    dump({(1, 0): "x = 1", (2, 0): "y = 2"}, "python_how_to_do_it_by_classifier_multiple_iid_to_code.pickle")
    dump({1: "how to set x", 2: "how to set y"}, "python_how_to_do_it_by_classifier_multiple_qid_to_title.pickle")
    return root


def test_staqc_counts_and_names_a_refused_link(tmp_path: Path, exclusions) -> None:
    data, outside = _staqc_folder(tmp_path / "data"), tmp_path / "outside"
    outside.mkdir()
    (outside / "python_multi_code_iids.txt").write_text(f"(1, 0)\r\n# {MARKER}\r\n")
    (data / "python_multi_code_iids.txt").symlink_to(outside / "python_multi_code_iids.txt")
    with pytest.raises(CodequarryError, match=r"not read: python_multi_code_iids\.txt: symlink"):
        staqc.build(tmp_path / "o1", path=data, languages="python", parts="multi")
    manifest = staqc.build(tmp_path / "o2", path=data, languages="python", skip_missing=True)
    assert manifest["counts"]["written"] == 2  # the manual part (both annotated pairs); multi skipped
    assert [(e["reason"], e["locator"]) for e in exclusions(tmp_path / "o2")] == [
        ("symlink", "python_multi_code_iids.txt")]


def test_hub_local_folder_with_a_link_out_is_refused_before_datasets_reads_it(tmp_path: Path) -> None:
    """``build hub FOLDER`` hands the folder to ``datasets``, which follows links: they are refused first."""
    pytest.importorskip("datasets")
    data, outside = tmp_path / "mydata", tmp_path / "outside"
    data.mkdir()
    outside.mkdir()
    (data / "train.jsonl").write_text(json.dumps({"nl": "add two", "snippet": "a + b"}) + "\n")
    (outside / "secret.jsonl").write_text(json.dumps({"nl": MARKER, "snippet": MARKER}) + "\n")
    (data / "test.jsonl").symlink_to(outside / "secret.jsonl")
    proc = _build("hub", data, tmp_path / "out", ("--query-col", "nl", "--code-col", "snippet", "--language", "python"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert "test.jsonl: symbolic link to a path outside the folder" in proc.stderr
    assert MARKER not in _everything(tmp_path / "out", proc)
    (data / "test.jsonl").unlink()
    (data / "test.jsonl").symlink_to("train.jsonl")  # a link inside the folder reads nothing else: allowed
    from codequarry.builders import hub

    manifest = hub.build(tmp_path / "ok", dataset=str(data), mapping={"query": "nl", "code": "snippet",
                                                                      "language": "python"})
    assert manifest["counts"]["written"] == 2
