"""codequarry.storage against a real S3 API served locally (moto's server on a free port), through Arrow's own
S3 client: write, read, list, copy a pairs dir up and down (manifest last), refuse names leaving the folder."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from codequarry.errors import CodequarryError
from codequarry.pairs import PairsDir, PairsWriter
from codequarry.storage import is_uri, local_pairs_dir, location, upload_dir


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """An S3 endpoint (moto in server mode) with a bucket ``cqtest``; the AWS_* variables point every client at it."""
    pytest.importorskip("moto")
    boto3 = pytest.importorskip("boto3")
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    mp = pytest.MonkeyPatch()
    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
                 "AWS_ENDPOINT_URL_S3": endpoint}.items():
        mp.setenv(k, v)
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="cqtest")
    try:
        yield endpoint
    finally:
        mp.undo()
        server.stop()


def _pairs(path: Path) -> PairsDir:
    rows = [{"id": f"r{i}", "query": f"add {i} numbers", "code": f"def f{i}(a, b):\n    return a + b + {i}\n",
             "language": "python" if i % 3 else "go", "repo": "o/r", "path": f"f{i}.py", "func_name": f"f{i}"}
            for i in range(30)]
    w = PairsWriter(path, created_by="test")
    w.write(rows[:20], split="train")
    w.write(rows[20:], split="test")
    w.close()
    return PairsDir(path)


def test_uri_or_path() -> None:
    assert is_uri("s3://b/k") and is_uri("hf://datasets/o/d") and is_uri("gs://b/k")
    assert not is_uri("/tmp/x") and not is_uri("rel/x") and not is_uri("file:///tmp/x")
    assert location("file:///tmp/x").root == "/tmp/x" and location("file:///tmp/x").is_local


def test_location_roundtrip_on_s3(s3_endpoint: str) -> None:
    loc = location("s3://cqtest/roundtrip/")
    assert not loc.is_local and loc.uri == "s3://cqtest/roundtrip"
    loc.write_bytes("a/b.txt", b"hello")
    loc.write_bytes("c.txt", b"")
    assert loc.read_bytes("a/b.txt") == b"hello" and loc.exists("a/b.txt") and not loc.exists("a/zz")
    assert loc.list_files() == ["a/b.txt", "c.txt"]
    loc.delete_dir("a")
    assert loc.list_files() == ["c.txt"]
    with pytest.raises(CodequarryError, match="not a name inside"):
        loc.write_bytes("../escape.txt", b"x")


def test_pairs_dir_up_and_down(s3_endpoint: str, tmp_path: Path) -> None:
    pairs = _pairs(tmp_path / "p")
    upload_dir(pairs.path, "s3://cqtest/pairs")
    listed = location("s3://cqtest/pairs").list_files()
    assert "codequarry.json" in listed and any(n.startswith("data/go/") for n in listed)
    local = local_pairs_dir("s3://cqtest/pairs", cache=tmp_path / "cache")
    copy = PairsDir(local, verify="full")  # every shard's sha256 and the recomputed fingerprint
    assert copy.fingerprint == pairs.fingerprint and copy.num_rows() == 30
    again = local_pairs_dir("s3://cqtest/pairs", cache=tmp_path / "cache")  # shards with the right sha256 are kept
    assert again == local


def test_remote_manifest_cannot_name_files_outside(s3_endpoint: str, tmp_path: Path) -> None:
    loc = location("s3://cqtest/hostile")
    loc.write_bytes("codequarry.json", json.dumps({"files": [{"path": "../../etc/x", "sha256": "0"}]}).encode())
    with pytest.raises(CodequarryError, match="not a name inside"):
        local_pairs_dir("s3://cqtest/hostile", cache=tmp_path / "cache")
    assert not (tmp_path / "etc").exists()
    with pytest.raises(CodequarryError, match="no codequarry.json"):
        local_pairs_dir("s3://cqtest/nothing-here", cache=tmp_path / "cache")


def test_build_bench_task_and_publish_with_s3(s3_endpoint: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                              ) -> None:
    """`build --out s3://…` uploads the built pairs dir; `bench --task s3://…` and `publish s3://…` read it."""
    from codequarry.benchmarks.tasks import resolve_tasks
    from codequarry.cli import main

    src = tmp_path / "cosqa-dev.json"
    src.write_text(json.dumps([{"idx": f"cosqa-dev-{i}", "doc": f"query {i}", "code": f"def f{i}(): pass",
                                "label": 1} for i in range(4)]))
    local = tmp_path / "built"
    assert main(["build", "cosqa", "--path", str(src), "--out", str(local)]) == 0
    assert main(["build", "cosqa", "--path", str(src), "--out", "s3://cqtest/built"]) == 0
    other = tmp_path / "o" / "cosqa-dev.json"
    other.parent.mkdir()
    other.write_text(json.dumps([{"idx": "cosqa-dev-9", "doc": "q", "code": "def g(): pass", "label": 1}]))
    assert main(["build", "cosqa", "--path", str(other), "--out", "s3://cqtest/built"]) == 2  # no silent replace
    assert "--overwrite" in capsys.readouterr().err
    copy = PairsDir(local_pairs_dir("s3://cqtest/built", cache=tmp_path / "cache"), verify="full")
    assert copy.fingerprint == PairsDir(local).fingerprint and copy.num_rows() == 4

    (task,) = resolve_tasks("s3://cqtest/built")
    assert task.name == "pairs/built" and PairsDir(task.options["path"]).fingerprint == copy.fingerprint

    assert main(["publish", "s3://cqtest/built", "--repo-id", "someone/built", "--dry-run"]) == 0
    assert "dry run: would send" in capsys.readouterr().out


def test_any_fsspec_scheme_goes_through_fsspec(tmp_path: Path) -> None:
    """A scheme Arrow has no client for (here fsspec's in-memory filesystem) is wrapped for Arrow."""
    pytest.importorskip("fsspec")
    loc = location("memory://cq-fsspec/pairs")
    assert type(loc.fs).__name__ == "PyFileSystem" and not loc.is_local
    pairs = _pairs(tmp_path / "p")
    upload_dir(pairs.path, "memory://cq-fsspec/pairs")
    copy = PairsDir(local_pairs_dir("memory://cq-fsspec/pairs", cache=tmp_path / "cache"), verify="full")
    assert copy.fingerprint == pairs.fingerprint
    with pytest.raises(CodequarryError, match="no filesystem for nosuchscheme://"):
        location("nosuchscheme://x/y")


def test_ray_clean_refuses_a_foreign_s3_folder(s3_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                               ) -> None:
    """An s3:// --out holding someone else's objects (no manifest, no unfinished clean of ours) is refused, and
    nothing in it is touched."""
    pytest.importorskip("ray")
    from codequarry.cleaners import clean

    monkeypatch.setenv("CODEQUARRY_WORK_DIR", str(tmp_path / "work"))
    loc = location("s3://cqtest/foreign")
    loc.write_bytes("data/keep-me.parquet", b"not ours")
    pairs = _pairs(tmp_path / "p")
    for _ in range(2):  # a rerun is refused too (the refusal leaves no unfinished clean to resume)
        with pytest.raises(CodequarryError, match="is not empty and holds no finished clean"):
            clean(pairs.path, "s3://cqtest/foreign", recipe={"name": "r", "steps": [{"step": "not_null"}]},
                  engine="ray")
    assert loc.read_bytes("data/keep-me.parquet") == b"not ours"
    assert location("s3://cqtest/empty-one").is_empty()
