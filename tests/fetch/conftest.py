"""Fixtures: a real local HTTP server that honours Range and can drop a connection mid-file; a builder of
folders in the Hugging Face Hub cache layout (what snapshot_download leaves on disk)."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest


@dataclass
class Served:
    """What the server serves and what it saw: files by path, ranges requested, connections to drop."""

    files: dict[str, bytes] = field(default_factory=dict)
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    drop_after: dict[str, int] = field(default_factory=dict)  # path → bytes sent before cutting the next response
    honour_range: bool = True
    base: str = ""

    def url(self, path: str) -> str:
        return f"{self.base}/{path.lstrip('/')}"


def _handler(state: Served) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # keep pytest output clean
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            path = self.path.split("?", 1)[0]
            rng = self.headers.get("Range")
            state.requests.append((path, rng))
            body = state.files.get(path)
            if body is None:
                self.send_error(404)
                return
            start = 0
            if rng and state.honour_range:
                start = int(rng.removeprefix("bytes=").split("-", 1)[0])
                if start >= len(body):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(body)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            else:
                self.send_response(200)
            chunk = body[start:]
            self.send_header("Content-Length", str(len(chunk)))
            self.send_header("Connection", "close")
            self.end_headers()
            cut = state.drop_after.pop(path, None)
            if cut is not None:
                self.wfile.write(chunk[:cut])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(2)  # the server drops the connection mid-file
                return
            self.wfile.write(chunk)

    return Handler


@pytest.fixture
def http_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    """A served folder on 127.0.0.1; network access is allowed for this test (it stays on this machine)."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("CODEQUARRY_OFFLINE", raising=False)
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    state = Served()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


# ---------------------------------------------------------------------------------------------
# Hub cache layout


def snapshot_dir(cache_root: Path, repo_id: str, revision: str) -> Path:
    """``{cache}/data/hub/datasets--OWNER--NAME/snapshots/REV`` with ``refs/main`` pointing at REV."""
    repo = cache_root / "data" / "hub" / ("datasets--" + repo_id.replace("/", "--"))
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(revision)
    snap = repo / "snapshots" / revision
    snap.mkdir(parents=True, exist_ok=True)
    return snap


def write_parquet(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)


def write_beir_repo(snap: Path, corpus: list[dict], queries: list[dict], qrels: list[dict], *,
                    subset: str | None = None) -> None:
    """A BEIR-shaped dataset repo as CoIR publishes it: corpus / queries / qrels configs declared in README.md."""
    pre = f"{subset}-" if subset else ""
    qrels_config = f"{subset}-qrels" if subset else "default"
    write_parquet(snap / f"{pre}corpus" / "corpus-00000-of-00001.parquet", corpus)
    write_parquet(snap / f"{pre}queries" / "queries-00000-of-00001.parquet", queries)
    write_parquet(snap / f"{pre}qrels" / "test-00000-of-00001.parquet", qrels)
    configs = [(f"{pre}corpus", "corpus", f"{pre}corpus/corpus-*.parquet"),
               (f"{pre}queries", "queries", f"{pre}queries/queries-*.parquet"),
               (qrels_config, "test", f"{pre}qrels/test-*.parquet")]
    readme = snap / "README.md"
    old = readme.read_text().split("---\n")[1].removeprefix("configs:\n") if readme.exists() else ""
    body = "".join(f"- config_name: {name}\n  data_files:\n  - split: {split}\n    path: {path}\n"
                   for name, split, path in configs)
    readme.write_text(f"---\nconfigs:\n{old}{body}---\n# fixture\n")


@pytest.fixture
def hub_layout() -> SimpleNamespace:
    """The Hub-layout builders: snapshot_dir, write_parquet, write_beir_repo."""
    return SimpleNamespace(snapshot_dir=snapshot_dir, write_parquet=write_parquet, write_beir_repo=write_beir_repo)
