"""``run:FILE`` prediction files are untrusted input (issue 14 item 10): a file that is not UTF-8, a
folder, or something that is not a regular file is a one-line error (exit 2), never a traceback or a
misleading "no such file"."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from codequarry.benchmarks.models import load_model
from codequarry.cli import main
from codequarry.errors import CodequarryError
from codequarry.pairs import PairsWriter


@pytest.mark.parametrize("content", [b"q1 Q0 d1 1 1.0 run\nq2 Q0 d\xff2 1 0.5 run\n",
                                     b'{"url": "q1", "answers": ["d\xc3"]}\n', b"\xfe\xff\x00q"])
def test_invalid_utf8_is_a_clear_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "run.txt"
    path.write_bytes(content)
    with pytest.raises(CodequarryError, match="is not UTF-8 text"):
        load_model(f"run:{path}")


def test_a_folder_is_named_as_a_folder(tmp_path: Path) -> None:
    with pytest.raises(CodequarryError, match="is a folder"):
        load_model(f"run:{tmp_path}")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_fifo_is_refused_without_reading(tmp_path: Path) -> None:
    fifo = tmp_path / "run.trec"
    os.mkfifo(fifo)
    with pytest.raises(CodequarryError, match="not a regular file"):  # opening it for reading would hang
        load_model(f"run:{fifo}")


def test_cli_prints_one_line_and_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    task = tmp_path / "task"
    with PairsWriter(task, created_by="pytest") as w:
        w.write([{"id": f"r{i}", "query": f"sort {i} items", "code": f"def f{i}(): pass", "language": "python"}
                 for i in range(3)], split="test")
    bad = tmp_path / "run.trec"
    bad.write_bytes(b"q1 Q0 \xff 1 1.0 x\n")
    for spec in (f"run:{bad}", f"run:{tmp_path}"):
        assert main(["bench", "--model", spec, "--task", str(task), "--split", "test",
                     "--out", str(tmp_path / "res")]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "Traceback" not in err and spec.split(":", 1)[1] in err
