"""Hostile ``--data`` folders and ``run:`` files for ``codequarry bench`` (issue 14, docs/security.md).

Every benchmark task reads untrusted files. For each task a small valid folder is written, then its
main file is replaced by something hostile: a symbolic link to a file outside the folder (holding a
marker that must never reach any output), a link to an outside folder, a FIFO, a file without line
breaks, a 5,000-digit integer, deep nesting, invalid UTF-8, a byte-order mark, CR-only line ends.
``codequarry bench --model bm25 --task T --data D`` runs in a child process with a timeout: it must
either succeed or exit 2 with one line on stderr, never a traceback or a hang.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

MARKER = "OUTSIDE-SECRET-7f3a"
BIG = 33 * 1024 * 1024  # above the readers' 32 MiB line/record bound


def _jsonl(rows: list[dict]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def _csv(header: list[str], rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode()


def _gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


# ---------------------------------------------------------------------------------------------
# one small valid dataset per task: (files relative to the folder, main file, its kind)


def _csn_rec(i: int, tag: str = "") -> dict:
    code = f"def f{i}(x):\n    return x + {i}"
    url = f"https://github.com/o/r/blob/{'a' * 40}/m{i}{tag}.py#L1-L3"
    return {"repo": "o/r", "path": f"m{i}.py", "func_name": f"f{i}", "original_string": code, "language": "python",
            "code": code, "code_tokens": ["def", f"f{i}", "x", "return", str(i)], "docstring": f"Query {i} {tag}",
            "docstring_tokens": ["query", str(i), tag], "sha": "a" * 40, "url": url, "partition": "test"}


def _gcb(i: int, tag: str = "") -> dict:
    return {"url": f"u{i}{tag}", "original_string": f"def m{i} {tag}", "code_tokens": ["def", f"m{i}", tag],
            "docstring_tokens": ["find", str(i), tag], "func_name": "f", "repo": "o/r"}


def _adv(i: int, tag: str = "") -> dict:
    return {"url": f"u{i}{tag}", "idx": 1000 + i, "docstring_tokens": ["doc", str(i), tag],
            "function_tokens": ["def", f"F{i}", tag], "function": f"def F{i}(): {tag}"}


def _cosqa_items(n: int, tag: str = "") -> list[dict]:
    return [{"idx": f"cosqa-test-{i}{tag}", "doc": f"python query {i} {tag}", "code": "x", "code_tokens": "def f",
             "docstring_tokens": "q", "label": 1, "retrieval_idx": i} for i in range(n)]


def _beir_corpus(tag: str = "") -> list[dict]:
    return [{"_id": f"d{i}{tag}", "title": "", "text": f"code {i} {tag}"} for i in range(4)]


def _beir_queries(tag: str = "") -> list[dict]:
    return [{"_id": f"q{i}{tag}", "text": f"query {i} {tag}"} for i in range(4)]


def _qa_items(n: int, tag: str = "") -> list[dict]:
    return [{"idx": f"cosqa-dev-{i}{tag}", "doc": f"query {i} {tag}", "code": f"def f{i if i % 2 else i + 50}()",
             "code_tokens": "def f", "docstring_tokens": "query", "label": int(i % 2 == 1)} for i in range(n)]


def _webquery(tag: str) -> dict[str, bytes]:
    test = [{"idx": f"webquery-test-{i}{tag}", "doc": f"query {i}", "code": f"def f{i}()"} for i in range(1, 7)]
    return {"test_webquery.json": json.dumps(test).encode(), "cosqa-dev.json": json.dumps(_qa_items(8)).encode(),
            "answers.txt": "".join(f"webquery-test-{i}{tag}\t{i % 2}\n" for i in range(1, 7)).encode()}


@dataclass(frozen=True)
class Case:
    """A task and how to write its data: ``write(folder, tag)`` returns every file's bytes."""

    task: str
    files: Callable[[str], dict[str, bytes]]
    main: str  # the file replaced by hostile content
    kind: str  # jsonl | json | csv | tsv, before compression
    compressed: bool = False
    extra_args: tuple[str, ...] = ()
    model: str = "bm25"


def _csn(tag: str) -> dict[str, bytes]:
    return {"python/final/jsonl/test/python_test_0.jsonl.gz": _gz(_jsonl([_csn_rec(i, tag) for i in range(1000)]))}


CASES = [
    Case("csn/python", _csn, "python/final/jsonl/test/python_test_0.jsonl.gz", "jsonl", compressed=True),
    Case("csn-cleaned/python", lambda t: {"test.jsonl": _jsonl([_gcb(i, t) for i in range(3)]),
                                          "codebase.jsonl": _jsonl([_gcb(i, t) for i in range(5)])},
         "test.jsonl", "jsonl"),
    Case("csn-cleaned/python", lambda t: {"test.jsonl": _jsonl([_gcb(i) for i in range(3)]),
                                          "codebase.jsonl": _jsonl([_gcb(i, t) for i in range(5)])},
         "codebase.jsonl", "jsonl"),
    Case("advtest", lambda t: {"test.jsonl": _jsonl([_adv(i, t) for i in range(5)])}, "test.jsonl", "jsonl"),
    Case("cosqa", lambda t: {"cosqa-retrieval-test-500.json": json.dumps(_cosqa_items(4, t)).encode(),
                             "code_idx_map.txt": json.dumps({f"def f{i}(): {t}": i for i in range(6)}).encode()},
         "cosqa-retrieval-test-500.json", "json"),
    Case("csn-ndcg/python", lambda t: {
        "annotationStore.csv": _csv(["Language", "Query", "GitHubUrl", "Relevance", "Notes"],
                                    [["Python", "sort list", f"https://g/a{t}", "3", ""],
                                     ["Python", "sort list", "https://g/b", "1", t]]),
        "queries.csv": _csv(["query"], [["sort list"]]),
        "preds.csv": _csv(["query", "language", "identifier", "url"],
                          [["sort list", "python", "f", "https://g/a"], ["sort list", "python", "g", "https://g/b"]])},
         "annotationStore.csv", "csv", model="run:{dir}/preds.csv"),
    Case("{dir}", lambda t: {"corpus.jsonl": _jsonl(_beir_corpus(t)), "queries.jsonl": _jsonl(_beir_queries(t)),
                             "qrels/test.tsv": f"query-id\tcorpus-id\tscore\nq0{t}\td0{t}\t1\nq1{t}\td1{t}\t1\n".encode()},
         "corpus.jsonl", "jsonl"),
    Case("{dir}", lambda t: {"corpus.jsonl": _jsonl(_beir_corpus(t)), "queries.jsonl": _jsonl(_beir_queries(t)),
                             "qrels/test.tsv": f"query-id\tcorpus-id\tscore\nq0{t}\td0{t}\t1\nq1{t}\td1{t}\t1\n".encode()},
         "qrels/test.tsv", "tsv"),
    Case("cosqa", lambda t: {"cosqa-retrieval-test-500.json": json.dumps(_cosqa_items(4)).encode(),
                             "code_idx_map.txt": json.dumps({f"def f{i}(): {t}": i for i in range(6)}).encode()},
         "code_idx_map.txt", "json"),
    Case("cosqa-qa", lambda t: {"cosqa-dev.json": json.dumps(_qa_items(8, t)).encode()}, "cosqa-dev.json", "json"),
    *[Case("webquery", _webquery, main, kind, extra_args=("--data", "answers={dir}/answers.txt"))
      for main, kind in (("test_webquery.json", "json"), ("answers.txt", "labels"))],
    # run: prediction files (the model reads them, the task's data stays valid)
    Case("csn-ndcg/python", lambda t: {
        "annotationStore.csv": _csv(["Language", "Query", "GitHubUrl", "Relevance", "Notes"],
                                    [["Python", "sort list", "https://g/a", "3", ""]]),
        "queries.csv": _csv(["query"], [["sort list"]]),
        "preds.csv": _csv(["query", "language", "identifier", "url"], [["sort list", "python", "f", f"https://g/a{t}"]])},
         "preds.csv", "csv", model="run:{dir}/preds.csv"),
    Case("{dir}", lambda t: {"corpus.jsonl": _jsonl(_beir_corpus()), "queries.jsonl": _jsonl(_beir_queries()),
                             "qrels/test.tsv": b"query-id\tcorpus-id\tscore\nq0\td0\t1\n",
                             "run.trec": f"q0 Q0 d0{t} 1 2.0 x\r\nq0 Q0 d1 2 1.0 x\r\n".encode()},
         "run.trec", "tsv", model="run:{dir}/run.trec"),
    Case("advtest", lambda t: {"test.jsonl": _jsonl([_adv(i) for i in range(5)]),
                               "preds.jsonl": _jsonl([{"url": f"u{i}{t}", "answers": [1000 + i]} for i in range(5)])},
         "preds.jsonl", "jsonl", model="run:{dir}/preds.jsonl"),
]

_DEEP = 200_000


def _hostile(kind: str, what: str) -> bytes:
    """Hostile content of a file of ``kind`` (before compression)."""
    huge = "9" * 5000
    if what == "nobreak":
        return b"a" * BIG
    if what == "huge_int":
        return {"jsonl": f'{{"url": "u", "idx": {huge}}}\n', "json": f'[{{"idx": {huge}}}]',
                "csv": f"Language,Query,GitHubUrl,Relevance,Notes\r\nPython,sort list,https://g/a,{huge},\r\n",
                "tsv": f"query-id\tcorpus-id\tscore\nq0\td0\t{huge}\n", "labels": f"webquery-test-1\t{huge}\n"}[kind].encode()
    if what == "deep":
        return {"jsonl": "[" * _DEEP + "\n", "json": "[" * _DEEP, "csv": '"' * _DEEP,
                "tsv": "query-id\tcorpus-id\tscore\n" + "q\t" * _DEEP + "\n", "labels": "\t" * _DEEP}[kind].encode()
    if what == "invalid_utf8":
        return {"jsonl": b'{"url": "u\xff\xfe", "idx": 1}\n', "json": b'[{"idx": "a\xc3"}]',
                "csv": b"Language,Query,GitHubUrl,Relevance,Notes\r\nPython,sort \xff list,https://g/a,1,\r\n",
                "tsv": b"query-id\tcorpus-id\tscore\nq\xff0\td0\t1\n", "labels": b"webquery-test-\xff1\t1\n"}[kind]
    raise ValueError(what)


def _write(folder: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        p = folder / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)


def _run(case: Case, folder: Path, out: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    task = case.task.format(dir=folder)
    model = case.model.format(dir=folder)
    args = [sys.executable, "-c", "import sys; from codequarry.cli import main; sys.exit(main())", "bench", "--model", model, "--task", task, "--out", str(out), "-q"]
    if "{dir}" not in case.task:
        args += ["--data", str(folder)]
    args += [a.format(dir=folder) for a in case.extra_args]
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env,
                          errors="backslashreplace")


def _check(proc: subprocess.CompletedProcess[str], out: Path, *, want_error: bool = False) -> None:
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    if want_error or proc.returncode != 0:
        assert proc.returncode == 2, (proc.returncode, proc.stderr[-3000:])
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0], proc.stderr[-3000:]


def _everything(out: Path, proc: subprocess.CompletedProcess[str]) -> str:
    parts = [proc.stdout, proc.stderr]
    if out.is_dir():
        parts += [f.read_bytes().decode("utf-8", "replace") for f in out.rglob("*") if f.is_file()]
    return "\n".join(parts)


def _ids(cases: list[Case]) -> list[str]:
    return [f"{c.task.replace('{dir}', 'beir')}:{c.main}" for c in cases]


@pytest.fixture(scope="module")
def baseline_ok(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The valid folders score (so every failure below comes from the hostile file)."""
    for case in CASES:
        folder = tmp_path_factory.mktemp("valid") / "data"
        _write(folder, case.files(""))
        proc = _run(case, folder, folder.parent / "res")
        assert proc.returncode == 0, (case.task, proc.stderr[-3000:])


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_a_link_out_of_the_folder_is_not_followed(case: Case, tmp_path: Path, baseline_ok: None) -> None:
    folder, outside = tmp_path / "data", tmp_path / "outside"
    _write(folder, case.files(""))
    _write(outside, case.files(MARKER))
    (folder / case.main).unlink()
    (folder / case.main).symlink_to(outside / case.main)
    proc = _run(case, folder, tmp_path / "res")
    _check(proc, tmp_path / "res", want_error=True)
    assert "symbolic link" in proc.stderr
    assert MARKER not in _everything(tmp_path / "res", proc)


@pytest.mark.parametrize("case", [c for c in CASES if "/" in c.main], ids=_ids([c for c in CASES if "/" in c.main]))
def test_a_linked_folder_is_not_followed(case: Case, tmp_path: Path, baseline_ok: None) -> None:
    folder, outside = tmp_path / "data", tmp_path / "outside"
    _write(folder, case.files(""))
    _write(outside, case.files(MARKER))
    top = case.main.split("/", 1)[0]
    import shutil

    shutil.rmtree(folder / top)
    (folder / top).symlink_to(outside / top, target_is_directory=True)
    proc = _run(case, folder, tmp_path / "res")
    _check(proc, tmp_path / "res", want_error=True)
    assert MARKER not in _everything(tmp_path / "res", proc)


def test_a_link_inside_the_folder_is_allowed(tmp_path: Path, baseline_ok: None) -> None:
    """A link that stays inside the folder reads nothing outside it: still accepted."""
    case = CASES[2]
    folder = tmp_path / "data"
    _write(folder, case.files(""))
    (folder / "real").mkdir()
    (folder / case.main).rename(folder / "real" / case.main)
    (folder / case.main).symlink_to(Path("real") / case.main)
    proc = _run(case, folder, tmp_path / "res")
    assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_a_fifo_is_not_opened(case: Case, tmp_path: Path, baseline_ok: None) -> None:
    folder = tmp_path / "data"
    _write(folder, case.files(""))
    (folder / case.main).unlink()
    os.mkfifo(folder / case.main)
    proc = _run(case, folder, tmp_path / "res", timeout=60)  # opening the FIFO would block forever
    _check(proc, tmp_path / "res", want_error=True)
    assert "FIFO" in proc.stderr


@pytest.mark.parametrize("what", ["huge_int", "deep", "invalid_utf8", "nobreak"])
@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_hostile_content_is_a_one_line_error(case: Case, what: str, tmp_path: Path, baseline_ok: None) -> None:
    folder = tmp_path / "data"
    _write(folder, case.files(""))
    data = _hostile(case.kind, what)
    (folder / case.main).write_bytes(_gz(data) if case.compressed else data)
    proc = _run(case, folder, tmp_path / "res", timeout=120)
    _check(proc, tmp_path / "res", want_error=True)


def _reline(data: bytes, how: str) -> bytes:
    if how == "bom":
        return b"\xef\xbb\xbf" + data
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r")


@pytest.mark.parametrize("how", ["bom", "cr_only"])
@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_bom_and_cr_only_read_as_text(case: Case, how: str, tmp_path: Path, baseline_ok: None) -> None:
    """A byte-order mark or CR-only line ends: the same scores, or a one-line error; never a traceback."""
    folder = tmp_path / "data"
    files = case.files("")
    raw = gzip.decompress(files[case.main]) if case.compressed else files[case.main]
    changed = _reline(raw, how)
    files[case.main] = _gz(changed) if case.compressed else changed
    _write(folder, files)
    proc = _run(case, folder, tmp_path / "res")
    _check(proc, tmp_path / "res")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_fifo_named_as_data_and_a_dangling_link_are_refused(tmp_path: Path) -> None:
    from codequarry.benchmarks.tasks.base import Inputs
    from codequarry.errors import CodequarryError

    fifo = tmp_path / "answers.txt"
    os.mkfifo(fifo)
    with pytest.raises(CodequarryError, match=r"--data answers=.*answers\.txt: FIFO, not a regular file"):
        Inputs.of({"answers": fifo})  # opening it would block
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "test.jsonl").symlink_to(tmp_path / "gone.jsonl")
    with pytest.raises(CodequarryError, match=r"test\.jsonl: symbolic link to nothing"):
        Inputs.of(folder)
    (folder / "test.jsonl").unlink()
    snap = tmp_path / "datasets--o--x"
    (snap / "blobs").mkdir(parents=True)
    (snap / "blobs" / "abc").write_text("{}\n")
    (snap / "snapshots" / "rev").mkdir(parents=True)
    (snap / "snapshots" / "rev" / "corpus.jsonl").symlink_to(Path("../../blobs/abc"))
    assert Inputs.of(snap / "snapshots" / "rev").primary == snap / "snapshots" / "rev"  # a Hub cache snapshot
