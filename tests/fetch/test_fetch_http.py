"""Downloads against a real local HTTP server: resume after a dropped connection, checksums, offline errors."""

from __future__ import annotations

import hashlib
import json
import socket
from pathlib import Path

import pytest

from codequarry.fetch import FetchError, HttpSource, OfflineError, data_root, fetch_sources
from codequarry.fetch.http import download

BODY = bytes(range(256)) * 4096  # 1 MiB, every byte value


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_interrupted_download_resumes_with_range(http_server, tmp_path: Path) -> None:
    http_server.files["/big.bin"] = BODY
    http_server.drop_after["/big.bin"] = 300_000
    dest = tmp_path / "big.bin"
    digest = download(http_server.url("big.bin"), dest, sha256=sha(BODY), progress=False)
    assert dest.read_bytes() == BODY and digest == sha(BODY)
    assert not dest.with_name("big.bin.part").exists()
    # first request whole, the second continues exactly where the dropped one stopped
    assert http_server.requests == [("/big.bin", None), ("/big.bin", "bytes=300000-")]


def test_partial_file_left_by_a_killed_run_is_resumed(http_server, tmp_path: Path) -> None:
    http_server.files["/big.bin"] = BODY
    http_server.drop_after["/big.bin"] = 123_456
    dest = tmp_path / "big.bin"
    with pytest.raises(FetchError, match="rerun to resume"):
        download(http_server.url("big.bin"), dest, sha256=sha(BODY), retries=0, progress=False)
    assert not dest.exists() and dest.with_name("big.bin.part").stat().st_size == 123_456
    download(http_server.url("big.bin"), dest, sha256=sha(BODY), progress=False)
    assert dest.read_bytes() == BODY
    assert http_server.requests[-1] == ("/big.bin", "bytes=123456-")


def test_server_without_range_support_restarts_the_file(http_server, tmp_path: Path) -> None:
    http_server.files["/big.bin"] = BODY
    http_server.honour_range = False
    dest = tmp_path / "big.bin"
    dest.with_name("big.bin.part").write_bytes(b"stale bytes")
    download(http_server.url("big.bin"), dest, sha256=sha(BODY), progress=False)
    assert dest.read_bytes() == BODY


def test_wrong_checksum_is_refused_and_nothing_stays_in_place(http_server, tmp_path: Path) -> None:
    http_server.files["/f.txt"] = b"tampered\n"
    dest = tmp_path / "f.txt"
    with pytest.raises(FetchError, match="does not match the pinned"):
        download(http_server.url("f.txt"), dest, sha256=sha(b"original\n"), progress=False)
    assert not dest.exists() and not dest.with_name("f.txt.part").exists()


def test_http_error_is_one_line(http_server, tmp_path: Path) -> None:
    with pytest.raises(FetchError, match="HTTP 404") as exc:
        download(http_server.url("missing.txt"), tmp_path / "x", progress=False)
    assert "\n" not in str(exc.value)


def test_offline_mode_names_url_and_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    src = HttpSource(url="https://example.org/data/search/code_idx_map.txt")
    with pytest.raises(OfflineError) as exc:
        fetch_sources([src], cache_dir=tmp_path, progress=False)
    msg = str(exc.value)
    folder = data_root(tmp_path) / "http" / "example.org" / "data" / "search"
    assert src.url in msg and str(folder) in msg and "code_idx_map.txt" in msg and "\n" not in msg


def test_no_network_names_url_and_folder(http_server, tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on: connection refused, as with no network
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/resources/queries.csv"
    with pytest.raises(OfflineError) as exc:
        download(url, tmp_path / "q" / "queries.csv", progress=False)
    assert url in str(exc.value) and str(tmp_path / "q") in str(exc.value)


def test_unpinned_checksum_is_recorded_then_verified(http_server, tmp_path: Path) -> None:
    http_server.files["/r/queries.csv"] = b"query\nfoo\nbar\n"
    src = HttpSource(url=http_server.url("r/queries.csv"), rows=2, give="file")
    path = Path(fetch_sources([src], cache_dir=tmp_path, progress=False))
    assert path.read_bytes() == b"query\nfoo\nbar\n"
    recorded = json.loads((data_root(tmp_path) / "checksums.json").read_text())
    assert recorded[src.url]["sha256"] == sha(b"query\nfoo\nbar\n")
    # a second fetch uses the cache (no request), a changed cached file is refused against the record
    n = len(http_server.requests)
    assert Path(fetch_sources([src], cache_dir=tmp_path, progress=False)) == path
    assert len(http_server.requests) == n
    path.write_bytes(b"query\nfoo\nbaz\n")
    with pytest.raises(FetchError, match="recorded"):
        fetch_sources([src], cache_dir=tmp_path, progress=False)


def test_row_count_is_verified(http_server, tmp_path: Path) -> None:
    http_server.files["/a.json"] = json.dumps([1, 2, 3]).encode()
    src = HttpSource(url=http_server.url("a.json"), rows=4)
    with pytest.raises(FetchError, match="3 rows, expected 4"):
        fetch_sources([src], cache_dir=tmp_path, progress=False)


def test_files_of_one_folder_are_one_input_and_shared_by_url(http_server, tmp_path: Path) -> None:
    http_server.files["/d/a.txt"] = b"a\n"
    http_server.files["/d/b.txt"] = b"b\n"
    a, b = HttpSource(url=http_server.url("d/a.txt")), HttpSource(url=http_server.url("d/b.txt"))
    folder = Path(fetch_sources([a, b], cache_dir=tmp_path, progress=False))
    assert sorted(p.name for p in folder.glob("*.txt")) == ["a.txt", "b.txt"]
    n = len(http_server.requests)
    assert Path(fetch_sources([b], cache_dir=tmp_path, progress=False)) == folder  # another task, same file
    assert len(http_server.requests) == n


def test_cache_root_env_and_flag(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CODEQUARRY_CACHE", str(tmp_path / "env"))
    assert data_root() == tmp_path / "env" / "data"
    assert data_root(tmp_path / "flag") == tmp_path / "flag" / "data"
