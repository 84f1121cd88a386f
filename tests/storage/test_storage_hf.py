"""``hf://`` end to end through huggingface_hub's own HfFileSystem and HfApi, against a local Hub stand-in (the
``hub`` fixture, tests/storage/conftest.py): ``build --out hf://``, ``clean`` from and to ``hf://`` on the local
and the Ray engine, ``bench --task hf://`` and ``publish hf://``; what the stand-in received (commits, file bytes
by sha256) is what a real Hub would hold. A tampered shard, a bad token and a missing repo are one-line errors."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from codequarry.cli import main
from codequarry.errors import CodequarryError
from codequarry.pairs import PairsDir
from codequarry.storage import local_pairs_dir, location, upload_dir

RECIPE = {"name": "hf-test", "steps": [{"step": "not_null"}, {"step": "exact_dedup"}, {"step": "near_dedup"},
                                       {"step": "split"}]}


def _tree(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def cosqa(shared_data: Path, tmp_path: Path) -> Path:
    """A local pairs dir built from CoSQA's real dev file (604 labelled pairs)."""
    out = tmp_path / "cosqa-local"
    assert main(["-q", "build", "cosqa", "--path", str(shared_data / "cosqa" / "cosqa-dev.json"), "--out", str(out)]) == 0
    return out


def test_location_roundtrip_on_hf(hub: Any) -> None:
    hub.create("acme/roundtrip")
    loc = location("hf://datasets/acme/roundtrip")
    assert not loc.is_local and loc.is_empty()
    loc.write_bytes("a/b.txt", b"hello")
    loc.write_bytes("c.bin", b"\0binary")
    assert loc.read_bytes("a/b.txt") == b"hello" and loc.exists("a/b.txt") and not loc.exists("a/zz")
    assert loc.list_files() == ["a/b.txt", "c.bin"]
    loc.delete_dir("a")
    assert loc.list_files() == ["c.bin"] and hub.files("acme/roundtrip") == {"c.bin": hashlib.sha256(b"\0binary").hexdigest()}
    # one commit per file written, the binary one through LFS (basic transfer), never Xet
    assert [c["operations"] for c in hub.commits] == [
        [("add", "a/b.txt", hashlib.sha256(b"hello").hexdigest())],
        [("add", "c.bin", hashlib.sha256(b"\0binary").hexdigest())],
        [("delete", "a/b.txt", None)]]
    assert hub.count("PUT", "/_lfs/") == 1 and not any("xet" in p for _, p in hub.requests)


def test_build_to_hf_then_bench_and_publish_from_it(hub: Any, cosqa: Path, shared_data: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """`build --out hf://` sends the local build's very bytes; `bench --task hf://` scores it like the local dir;
    `publish hf://…` publishes it to another repo of the same Hub."""
    hub.create("acme/cosqa")
    src = str(shared_data / "cosqa" / "cosqa-dev.json")
    capsys.readouterr()
    assert main(["-q", "build", "cosqa", "--path", src, "--out", "hf://datasets/acme/cosqa"]) == 0
    assert capsys.readouterr().err == ""  # -q: not even huggingface_hub's upload bars
    local, sent = _tree(cosqa), hub.files("acme/cosqa")
    assert sorted(sent) == sorted(local)
    assert {k: v for k, v in sent.items() if k.startswith("data/")} == {k: v for k, v in local.items()
                                                                        if k.startswith("data/")}  # same shard bytes
    (commit,) = hub.commits  # the whole pairs dir in one commit (the Hub limits commits per repo and hour)
    assert sorted(p for _, p, _ in commit["operations"]) == sorted(local)
    on_hub = PairsDir(hub.repo_dir("acme/cosqa"), verify="full")  # the repo as a clone holds it: a valid pairs dir
    assert on_hub.fingerprint == PairsDir(cosqa).fingerprint

    capsys.readouterr()
    assert main(["-q", "bench", "--model", "bm25", "--task", str(cosqa), "--out", str(tmp_path / "r1")]) == 0
    assert main(["-q", "bench", "--model", "bm25", "--task", "hf://datasets/acme/cosqa",
                 "--out", str(tmp_path / "r2")]) == 0
    (r1,), (r2,) = list((tmp_path / "r1").rglob("*.json")), list((tmp_path / "r2").rglob("*.json"))
    s1, s2 = json.loads(r1.read_text()), json.loads(r2.read_text())
    assert s1["scores"] == s2["scores"] and s1["per_query"] == s2["per_query"] and s1["scores"]["mrr"] > 0.5

    dry = tmp_path / "upload"
    assert main(["-q", "publish", "hf://datasets/acme/cosqa", "--repo-id", "acme/cosqa-pub", "--dry-run", "--out",
                 str(dry)]) == 0
    assert main(["-q", "publish", "hf://datasets/acme/cosqa", "--repo-id", "acme/cosqa-pub"]) == 0
    assert hub.files("acme/cosqa-pub") == _tree(dry)  # exactly the upload folder publish builds
    (published,) = [c for c in hub.commits if c["repo"] == "acme/cosqa-pub"]  # one commit, every file in it
    assert sorted(p for _, p, _ in published["operations"]) == sorted(_tree(dry))
    assert PairsDir(hub.repo_dir("acme/cosqa-pub"), verify="full").fingerprint == PairsDir(cosqa).fingerprint


def test_clean_hf_to_hf_on_the_local_and_the_ray_engine(hub: Any, cosqa: Path, tmp_path: Path) -> None:
    """`clean hf://in --out hf://out` with either engine gives the fingerprint of a local clean of the same rows;
    the Ray workers (a local one-node instance, which inherits the Hub settings) read their chunks from the Hub
    and write their shards there themselves."""
    pytest.importorskip("ray")
    from codequarry.cleaners import clean

    reference = clean(cosqa, tmp_path / "clean-local", recipe=RECIPE, batch_rows=200)
    assert reference["counts"]["excluded"] > 0  # CoSQA's dev set repeats code: the dedup steps have work
    for repo in ("acme/in", "acme/out-local", "acme/out-ray"):
        hub.create(repo)
    upload_dir(cosqa, "hf://datasets/acme/in")

    m = clean("hf://datasets/acme/in", "hf://datasets/acme/out-local", recipe=RECIPE, batch_rows=200)
    assert m["fingerprint"] == reference["fingerprint"]
    assert PairsDir(hub.repo_dir("acme/out-local"), verify="full").fingerprint == reference["fingerprint"]
    assert len([c for c in hub.commits if c["repo"] == "acme/out-local"]) == 1  # uploaded in one commit
    assert {k: v for k, v in hub.files("acme/out-local").items() if k.startswith(("data/", "exclusions/"))} == {
        k: v for k, v in _tree(tmp_path / "clean-local").items() if k.startswith(("data/", "exclusions/"))}

    shard_reads = hub.count("GET", "/datasets/acme/in/resolve/main/data/")
    m = clean("hf://datasets/acme/in", "hf://datasets/acme/out-ray", recipe=RECIPE, engine="ray", workers=2,
              batch_rows=200)
    assert m["fingerprint"] == reference["fingerprint"] and m["counts"] == reference["counts"]
    assert hub.count("GET", "/datasets/acme/in/resolve/main/data/") > shard_reads  # the workers read the Hub
    names = set(hub.files("acme/out-ray"))
    assert {"codequarry.json", "README.md", "report.md"} <= names and not any(".codequarry-work" in n for n in names)
    ray_commits = [c for c in hub.commits if c["repo"] == "acme/out-ray"]
    assert ray_commits[-1]["operations"][0][1] == "codequarry.json"  # the manifest is the last file sent
    shards = ("data/", "exclusions/")
    assert {k: v for k, v in hub.files("acme/out-ray").items() if k.startswith(shards)} == {
        k: v for k, v in _tree(tmp_path / "clean-local").items() if k.startswith(shards)}  # the same bytes
    copy = PairsDir(local_pairs_dir("hf://datasets/acme/out-ray", cache=tmp_path / "c2"), verify="full")
    assert copy.fingerprint == reference["fingerprint"]
    again = clean("hf://datasets/acme/in", "hf://datasets/acme/out-ray", recipe=RECIPE, engine="ray", batch_rows=200)
    assert again["fingerprint"] == reference["fingerprint"] and ray_commits == [
        c for c in hub.commits if c["repo"] == "acme/out-ray"]  # a finished clean is found on the Hub, not redone


def test_a_tampered_shard_on_the_hub_is_refused(hub: Any, cosqa: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    hub.create("acme/tampered")
    upload_dir(cosqa, "hf://datasets/acme/tampered")
    shard = sorted(p for p in hub.repo_dir("acme/tampered").rglob("*.parquet") if "data" in p.parts)[0]
    raw = bytearray(shard.read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # one flipped byte in the middle of a shard another pusher sent
    shard.write_bytes(bytes(raw))
    for argv in (["bench", "--model", "bm25", "--task", "hf://datasets/acme/tampered", "--out", str(tmp_path / "r")],
                 ["clean", "hf://datasets/acme/tampered", "--out", str(tmp_path / "o"), "--preset", "default"],
                 ["publish", "hf://datasets/acme/tampered", "--repo-id", "acme/x", "--dry-run"]):
        capsys.readouterr()
        assert main(["-q", *argv]) == 2, argv
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "sha256" in err and shard.name in err, (argv, err)
        assert "Traceback" not in err


def test_ray_workers_refuse_a_shard_changed_after_the_driver_checked_its_copy(hub: Any, cosqa: Path) -> None:
    """The driver checks its cached copy of an hf:// input; the Ray workers read the Hub itself, so they check
    what they read against the manifest too: a shard replaced on the Hub by another valid Parquet file (after the
    driver's copy was made) stops the clean with a one-line error instead of cleaning other rows."""
    pytest.importorskip("ray")
    import pyarrow.parquet as pq

    from codequarry.cleaners import clean

    for repo in ("acme/in", "acme/out"):
        hub.create(repo)
    upload_dir(cosqa, "hf://datasets/acme/in")
    local_pairs_dir("hf://datasets/acme/in")  # the driver's checked copy, as a first clean leaves it
    (shard,) = [p for p in hub.repo_dir("acme/in").rglob("*.parquet") if "data" in p.parts]
    table = pq.read_table(shard)
    codes = table.column("code").to_pylist()
    codes[0] = codes[0] + "\n# changed on the Hub"
    pq.write_table(table.set_column(table.schema.get_field_index("code"), "code", [codes]), shard)
    with pytest.raises(CodequarryError) as info:
        clean("hf://datasets/acme/in", "hf://datasets/acme/out", recipe=RECIPE, engine="ray", batch_rows=200)
    msg = str(info.value)
    assert "does not match its manifest" in msg and shard.name in msg and "\n" not in msg
    assert "codequarry.json" not in hub.files("acme/out")


def test_hub_errors_are_one_line(hub: Any, cosqa: Path, shared_data: Path, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A missing repo (404) and a refused token (401) reach the user as one line, exit 2."""
    src = str(shared_data / "cosqa" / "cosqa-dev.json")
    cases = [(["build", "cosqa", "--path", src, "--out", "hf://datasets/acme/missing"], "repository not found"),
             (["bench", "--model", "bm25", "--task", "hf://datasets/acme/missing", "--out", str(tmp_path / "r")],
              "repository not found"),
             (["clean", "hf://datasets/acme/missing", "--out", str(tmp_path / "o"), "--preset", "default"],
              "repository not found")]
    for argv, what in cases:
        capsys.readouterr()
        assert main(["-q", *argv]) == 2, argv
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and what in err and "Traceback" not in err, (argv, err)
    hub.create("acme/locked")
    monkeypatch.setenv("HF_TOKEN", "hf_not_the_right_one")
    for argv in (["clean", str(cosqa), "--out", "hf://datasets/acme/locked", "--preset", "default"],
                 ["bench", "--model", "bm25", "--task", "hf://datasets/acme/locked", "--out", str(tmp_path / "r")]):
        capsys.readouterr()
        assert main(["-q", *argv]) == 2, argv
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "401" in err and "Traceback" not in err, (argv, err)
    with pytest.raises(CodequarryError, match="401"):
        location("hf://datasets/acme/locked").write_bytes("x.txt", b"x")


def test_the_stand_in_refuses_what_it_does_not_implement(hub: Any) -> None:
    """An endpoint the stand-in does not know answers 501 and is recorded (the fixture then fails the test)."""
    import urllib.error
    import urllib.request

    hub.create("acme/x")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(f"{hub.base}/api/datasets/acme/x/refs")
    seen, hub.unknown[:] = list(hub.unknown), []
    assert info.value.code == 501 and len(seen) == 1 and seen[0].startswith("GET /api/datasets/acme/x/refs: ")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(f"{hub.base}/api/datasets/acme/nope/tree/main")
    assert info.value.code == 404 and info.value.headers["X-Error-Code"] == "RepoNotFound"
