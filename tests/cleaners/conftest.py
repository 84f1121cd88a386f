"""Fixtures for the cleaner tests: small hand-written rows in six languages and real stdlib functions."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from codequarry.pairs import PairsDir, PairsWriter, SourceInfo
from codequarry.schema import make_id, rows_to_table

SAMPLE_CODE = {
    "python": 'def add_numbers(a, b):\n    """Add two numbers and return the sum."""\n    # plain sum\n    return a + b\n',
    "java": "public int addNumbers(int a, int b) {\n    // plain sum\n    int s = a + b;\n    return s;\n}",
    "go": "func AddNumbers(a int, b int) int {\n\t// plain sum\n\ts := a + b\n\treturn s\n}",
    "javascript": "function addNumbers(a, b) {\n  // plain sum\n  const s = a + b;\n  return s;\n}",
    "ruby": "def add_numbers(a, b)\n  # plain sum\n  s = a + b\n  s\nend",
    "php": "<?php\nfunction addNumbers($a, $b) {\n    // plain sum\n    $s = $a + $b;\n    return $s;\n}",
}


def row(i: int | str, **kw: Any) -> dict[str, Any]:
    """A valid python pair; keyword arguments override columns."""
    base = {
        "id": f"row-{i}",
        "query": "Add two numbers and return their sum.",
        "code": SAMPLE_CODE["python"],
        "language": "python",
        "source": "test",
        "repo": "org/repo",
        "path": "pkg/math.py",
        "func_name": "add_numbers",
    }
    base.update(kw)
    return base


def batch(rows: Sequence[Mapping[str, Any]], split: str | Sequence[str] = "train") -> pa.Table:
    """A cleaning batch: pairs columns plus ``split``."""
    table = rows_to_table(rows)
    splits = [split] * table.num_rows if isinstance(split, str) else list(split)
    return table.append_column("split", pa.array(splits, pa.string()))


def write_pairs(path: Path, parts: Mapping[str, Sequence[Mapping[str, Any]]], *, max_shard_rows: int | None = None,
                row_group_bytes: int | None = None) -> PairsDir:
    """Write rows per split into a pairs dir and open it."""
    kw: dict[str, Any] = {}
    if max_shard_rows:
        kw["max_shard_rows"] = max_shard_rows
    if row_group_bytes:
        kw["row_group_bytes"] = row_group_bytes
    with PairsWriter(path, created_by="pytest", sources=[SourceInfo("test", license="MIT")], overwrite=True, **kw) as w:
        for split, rows in parts.items():
            w.write(list(rows), split=split)
    return PairsDir(path)


_STDLIB_MODULES = ("json", "email", "http", "urllib", "logging", "xml/dom", "importlib", "unittest", "asyncio",
                   "concurrent/futures", "html", "csv.py", "textwrap.py", "string.py", "shlex.py", "argparse.py")


def stdlib_rows(stdlib_dir: Path, limit: int) -> list[dict[str, Any]]:
    """Real documented functions of the standard library (CodeSearchNet extraction rules), in a fixed order."""
    from codequarry.languages import extract_functions

    rows: list[dict[str, Any]] = []
    for rel in _STDLIB_MODULES:
        base = stdlib_dir / rel
        files = [base] if base.is_file() else sorted(base.rglob("*.py"))
        for f in files:
            if "test" in f.as_posix().split("/")[-1]:
                continue
            src = f.read_text(encoding="utf-8", errors="replace")
            rel_path = f.relative_to(stdlib_dir).as_posix()
            for fn in extract_functions(src, "python"):
                rows.append({
                    "id": make_id("stdlib", rel_path, fn.qualified_name, fn.start_line),
                    "query": fn.docstring, "code": fn.code, "language": "python", "source": "stdlib",
                    "repo": "python/" + rel_path.split("/")[0].removesuffix(".py"), "path": rel_path,
                    "func_name": fn.qualified_name,
                })
                if len(rows) >= limit:
                    return rows
    return rows


def mutate(r: Mapping[str, Any], k: int) -> dict[str, Any]:
    """A near-copy of a row: renamed first identifier occurrences and reformatted whitespace, new id/repo."""
    code = r["code"].replace("self", "this_obj").replace("    ", "  ") + f"\n# copy {k}\n"
    return {**r, "id": f"{r['id']}-m{k}", "code": code, "repo": f"fork{k}/{r['repo']}"}


def split_of(i: int) -> str:
    return ("train", "train", "train", "valid", "test")[int(hashlib.md5(str(i).encode()).hexdigest(), 16) % 5]


@pytest.fixture
def make_pairs(tmp_path: Path) -> Callable[..., PairsDir]:
    """``make_pairs({"train": rows, ...}, name="in")`` writes a pairs dir under tmp_path."""

    def make(parts: Mapping[str, Sequence[Mapping[str, Any]]], name: str = "in", **kw: Any) -> PairsDir:
        return write_pairs(tmp_path / name, parts, **kw)

    return make


@pytest.fixture(scope="session")
def stdlib_pairs(tmp_path_factory: pytest.TempPathFactory, stdlib_dir: Path) -> PairsDir:
    """~600 real stdlib functions plus exact and near copies, a duplicate id and bad rows, in 3 splits."""
    base = stdlib_rows(stdlib_dir, 500)
    rows = list(base)
    rows += [mutate(r, 1) for r in base[:60]]  # near duplicates
    rows += [{**r, "id": r["id"] + "-exact", "repo": "mirror/" + r["repo"]} for r in base[60:100]]  # exact copies
    rows += [dict(base[5]), dict(base[7])]  # duplicate ids
    rows += [
        row("null-q", query=None), row("empty-code", code="   "), row("bad-lang", language="cobol"),
        row("broken", code="def broken(:\n    x = 1\n    return x\n", func_name="broken"),
        row("url", query="See https://example.com for the full reference docs."),
    ]
    parts: dict[str, list[dict[str, Any]]] = {"train": [], "valid": [], "test": []}
    for i, r in enumerate(rows):
        parts[split_of(i)].append(r)
    return write_pairs(tmp_path_factory.mktemp("stdlib") / "in", parts, max_shard_rows=150)


@pytest.fixture(scope="session")
def mixed_pairs(tmp_path_factory: pytest.TempPathFactory, stdlib_dir: Path) -> PairsDir:
    """~800 real stdlib functions in two configs (python, and ``unknown``: rows whose language is not given) and a
    one-row third (cobol), in 3 splits over 6 input shards, with exact and near copies and bad rows, so a clean
    keeps rows of several (config, split) streams and excludes rows at several steps."""
    base = stdlib_rows(stdlib_dir, 700)
    rows = [dict(r) for r in base[:450]] + [dict(r, language=None) for r in base[450:]]
    rows += [mutate(r, 1) for r in base[:40] + base[450:480]]  # near duplicates
    rows += [{**r, "id": r["id"] + "-exact", "repo": "mirror/" + r["repo"]} for r in base[60:90] + base[500:520]]
    rows += [row("null-q", query=None), row("empty-code", code="   "), row("cobol", language="cobol")]
    parts: dict[str, list[dict[str, Any]]] = {"train": [], "valid": [], "test": []}
    for i, r in enumerate(rows):
        parts[split_of(i)].append(r)
    return write_pairs(tmp_path_factory.mktemp("mixed") / "in", parts, max_shard_rows=150)


def tree_digest(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder``, by its relative path."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="session")
def h() -> Any:
    """The helpers above, for tests (conftest modules are not importable under --import-mode=importlib)."""
    import types

    return types.SimpleNamespace(row=row, batch=batch, write_pairs=write_pairs, stdlib_rows=stdlib_rows,
                                 mutate=mutate, split_of=split_of, SAMPLE_CODE=SAMPLE_CODE, tree_digest=tree_digest)


@contextlib.contextmanager
def two_node_ray() -> Iterator[Any]:
    """A real Ray cluster of two nodes (a head and a worker node, one CPU each) on this machine, connected.

    Its workers inherit this process's environment as it is when the cluster starts."""
    pytest.importorskip("ray")
    import ray
    from ray.cluster_utils import Cluster

    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    c.add_node(num_cpus=1)
    c.wait_for_nodes()
    ray.init(address=c.address, log_to_driver=False)
    try:
        yield c
    finally:
        ray.shutdown()
        c.shutdown()


@pytest.fixture(scope="module")
def start_two_node_ray() -> Callable[[], contextlib.AbstractContextManager[Any]]:
    """``two_node_ray`` for a fixture that must prepare the environment before the cluster starts."""
    return two_node_ray


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """A two-node Ray cluster for one test module."""
    with two_node_ray() as c:
        yield c


def _kill_when(cmd: list[str], env: Mapping[str, str], condition: Callable[[], bool], timeout: float,
              poll: float = 0.01) -> int:
    """Run ``cmd`` in its own process group and SIGKILL the whole group once ``condition()`` holds; returns the
    process's return code. Fails the test if the run ends first or the condition is not reached in ``timeout`` s."""
    proc = subprocess.Popen(cmd, start_new_session=True, env=dict(env), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    try:
        while not condition():
            if proc.poll() is not None:
                out = proc.stdout.read().decode() if proc.stdout else ""
                pytest.fail(f"the run ended (rc {proc.returncode}) before the kill point:\n{out[-3000:]}")
            if time.monotonic() > deadline:
                pytest.fail("kill point not reached in time")
            time.sleep(poll)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    return proc.returncode


def _work_at_step(pairs: PairsDir, work_dir: Path, steps: list[dict[str, Any]], name: str,
                 batch_rows: int) -> tuple[Any, int]:
    """A local engine work dir for a recipe of ``steps``, run up to the pass that maps global step ``name`` (the
    passes before it run and resolve); returns the work dir and that pass's index."""
    from codequarry.cleaners.engine_input import plan_chunks
    from codequarry.cleaners.local_engine import _resolve, _Work
    from codequarry.cleaners.recipe import load_recipe

    work = _Work(work_dir, load_recipe({"name": name, "steps": steps}), plan_chunks(pairs, batch_rows))
    for plan in work.passes:
        work.pass_dir(plan.index).mkdir(parents=True, exist_ok=True)
        for c in work.chunks:
            work.run_chunk(plan.index, c.index)
        if plan.map is not None and work.steps[plan.map].name == name:
            return work, plan.index
        if plan.map is not None:
            _resolve(work, plan)
    raise AssertionError(f"no {name} pass")


@pytest.fixture(scope="session")
def kill_when() -> Callable[..., int]:
    """``_kill_when``: run a command and SIGKILL its process group at a kill point."""
    return _kill_when


@pytest.fixture(scope="session")
def work_at_step() -> Callable[..., tuple[Any, int]]:
    """``_work_at_step``: a local engine work dir run up to the pass that maps a given global step."""
    return _work_at_step
