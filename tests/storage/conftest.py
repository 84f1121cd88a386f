"""A local stand-in for the Hugging Face Hub, for ``hf://`` tests: a real HTTP server on 127.0.0.1 over a folder in
the Hub's layout, answering only the part of the Hub HTTP API that huggingface_hub's ``HfFileSystem`` and ``HfApi``
call for reading and writing dataset repos. It is a fake at the network boundary, so the client under test is the
real one, unchanged; every request is recorded and an endpoint it does not know answers 501 and fails the test.

The folder: ``ROOT/datasets/ORG/NAME/<files>`` is the tip of each repo's ``main`` branch (no history is kept; an
older commit id answers 404 as an unknown revision). Endpoints (the paths huggingface_hub 2.x uses):

- ``GET /api/datasets/ORG/NAME[/revision/REV]``: repo info (id, sha, siblings); ``GET /api/agent-harnesses``
  (the registry huggingface_hub reads to name an AI agent in its user agent): empty;
- ``GET /api/datasets/ORG/NAME/tree/REV[/PATH]?recursive=``: a folder's entries; ``POST .../paths-info/REV``;
- ``GET|HEAD /datasets/ORG/NAME/resolve/REV/PATH``: the file, honouring ``Range``;
- ``POST /api/validate-yaml`` (a README.md's front matter must parse as a YAML mapping);
  ``POST /api/repos/create``; ``POST /api/datasets/ORG/NAME/preupload/REV`` (binary samples → ``lfs``,
  else ``regular``, like the Hub's default rules); ``POST /datasets/ORG/NAME.git/info/lfs/objects/batch`` (basic
  transfer only: no Xet is offered); ``PUT /_lfs/OID`` (the upload, checked against its sha256);
  ``POST /api/datasets/ORG/NAME/commit/REV`` (NDJSON: header, file, lfsFile, deletedFile, deletedFolder), applied
  to the folder atomically and recorded with each file's sha256.

Auth as on the Hub: reads need no token, writes need the stand-in's token; a wrong token is a 401 "Invalid
credentials in Authorization header" on any request. A missing repo is 404 ``RepoNotFound``.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import yaml

TOKEN = "hf_standin_write_token"
_LFS_MIN_SIZE = 10 * 1024 * 1024  # the Hub stores files above 10 MB in LFS whatever their content


def _git_oid(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _is_lfs(sample: bytes, size: int) -> bool:
    return size >= _LFS_MIN_SIZE or b"\0" in sample[:512]


@dataclass
class HubStandIn:
    """What the stand-in serves (``root``) and what it saw: ``requests`` (method, path), ``commits`` (repo, summary,
    operations as (kind, path, sha256 or None)), ``unknown`` (requests it could not answer)."""

    root: Path
    base: str = ""
    token: str = TOKEN
    requests: list[tuple[str, str]] = field(default_factory=list)
    commits: list[dict[str, Any]] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    heads: dict[str, str] = field(default_factory=dict)
    lfs: dict[str, bytes] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def create(self, repo_id: str) -> Path:
        """Create an empty dataset repo (as ``hf repo create --repo-type dataset``) and return its folder."""
        folder = self.repo_dir(repo_id)
        folder.mkdir(parents=True, exist_ok=True)
        self.heads.setdefault(repo_id, hashlib.sha1(f"init {repo_id}".encode()).hexdigest())
        return folder

    def repo_dir(self, repo_id: str) -> Path:
        return self.root / "datasets" / repo_id

    def files(self, repo_id: str) -> dict[str, str]:
        """Every file of a repo with its sha256 (what a clone would hold)."""
        folder = self.repo_dir(repo_id)
        return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(folder.rglob("*")) if p.is_file()}

    def count(self, method: str, prefix: str) -> int:
        return sum(m == method and p.startswith(prefix) for m, p in self.requests)


class _Reply(Exception):
    def __init__(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


def _not_found(kind: str, what: str) -> _Reply:
    return _Reply(404, {"error": f"{what} not found"}, {"X-Error-Code": kind, "X-Error-Message": f"{what} not found"})


def _handler(hub: HubStandIn) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        # -- plumbing ---------------------------------------------------------------------------

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                out = b""
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return out
                    out += self.rfile.read(size)
                    self.rfile.readline()
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _send(self, status: int, body: Any, headers: dict[str, str] | None = None, *, head: bool = False) -> None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            if not isinstance(body, bytes):
                self.send_header("Content-Type", "application/json")
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if not head:
                self.wfile.write(data)

        def _serve(self, method: str) -> None:
            parts = urlsplit(self.path)
            path, query = unquote(parts.path), parse_qs(parts.query)
            hub.requests.append((method, path))
            body = self._body() if method in ("POST", "PUT") else b""
            try:
                auth = self.headers.get("Authorization")
                if auth is not None and auth != f"Bearer {hub.token}":
                    raise _Reply(401, {"error": "Invalid credentials in Authorization header"},
                                 {"X-Error-Message": "Invalid credentials in Authorization header"})
                status, out, headers = self._route(method, path, query, body)
            except _Reply as reply:
                status, out, headers = reply.status, reply.body, reply.headers
                if status == 501:  # a call the stand-in cannot answer as the Hub would: the test fails
                    hub.unknown.append(f"{method} {self.path}: {out}")
            self._send(status, out, headers, head=method == "HEAD")

        def do_GET(self) -> None:  # noqa: N802 - http.server's names
            self._serve("GET")

        def do_HEAD(self) -> None:  # noqa: N802
            self._serve("HEAD")

        def do_POST(self) -> None:  # noqa: N802
            self._serve("POST")

        def do_PUT(self) -> None:  # noqa: N802
            self._serve("PUT")

        def do_DELETE(self) -> None:  # noqa: N802
            self._serve("DELETE")

        # -- the API ----------------------------------------------------------------------------

        def _route(self, method: str, path: str, query: dict[str, list[str]], body: bytes
                   ) -> tuple[int, Any, dict[str, str]]:
            seg = path.strip("/").split("/")
            if query.get("expand", ["false"])[0].lower() not in ("false", "0") or query.get("blobs"):
                raise _Reply(501, {"error": "the stand-in does not expand entries (last commits, security scans)"})
            if method == "GET" and path == "/api/agent-harnesses":  # the client's user-agent registry: none here
                return 200, {"standardEnvVars": [], "harnesses": {}}, {}
            if method == "POST" and path == "/api/validate-yaml":  # a README.md's metadata, checked before a commit
                return self._validate_yaml(json.loads(body))
            if method == "POST" and path == "/api/repos/create":
                return self._create(json.loads(body))
            if method == "PUT" and len(seg) == 2 and seg[0] == "_lfs":
                return self._lfs_put(seg[1], body)
            if len(seg) >= 3 and seg[0] == "api" and seg[1] == "datasets":
                repo_id = "/".join(seg[2:4])
                rest = seg[4:]
                if method == "GET" and (not rest or rest[0] == "revision"):
                    return self._info(repo_id, rest[1] if len(rest) > 1 else None)
                if len(rest) >= 2:
                    kind, rev, inner = rest[0], rest[1], "/".join(rest[2:])
                    if method == "GET" and kind == "tree":
                        return self._tree(repo_id, rev, inner, query.get("recursive", ["false"])[0].lower() == "true")
                    if method == "POST" and kind == "paths-info":
                        form = parse_qs(body.decode())
                        if form.get("expand", ["False"])[0].lower() not in ("false", "0"):
                            raise _Reply(501, {"error": "the stand-in does not expand entries"})
                        return self._paths_info(repo_id, rev, form.get("paths", []))
                    if method == "POST" and kind == "preupload":
                        return self._preupload(repo_id, rev, json.loads(body))
                    if method == "POST" and kind == "commit":
                        return self._commit(repo_id, rev, body)
            if len(seg) >= 4 and seg[0] == "datasets" and seg[2].endswith(".git") and path.endswith(
                    "/info/lfs/objects/batch") and method == "POST":
                return self._lfs_batch(f"{seg[1]}/{seg[2].removesuffix('.git')}", json.loads(body))
            if len(seg) >= 6 and seg[0] == "datasets" and seg[3] == "resolve" and method in ("GET", "HEAD"):
                return self._resolve(f"{seg[1]}/{seg[2]}", seg[4], "/".join(seg[5:]))
            raise _Reply(501, {"error": f"the Hub stand-in does not implement {method} {path}"})

        def _repo(self, repo_id: str, rev: str | None, *, write: bool = False) -> Path:
            if write and self.headers.get("Authorization") is None:
                raise _Reply(401, {"error": "You must be authenticated to write"},
                             {"X-Error-Message": "Invalid credentials in Authorization header"})
            folder = hub.repo_dir(repo_id)
            if repo_id not in hub.heads or not folder.is_dir():
                raise _not_found("RepoNotFound", f"Repository {repo_id}")
            if rev is not None and unquote(rev) not in ("main", hub.heads[repo_id]):
                raise _not_found("RevisionNotFound", f"Revision {rev}")
            return folder

        def _entry(self, folder: Path, p: Path) -> dict[str, Any]:
            rel = p.relative_to(folder).as_posix()
            if p.is_dir():
                return {"type": "directory", "path": rel, "oid": hashlib.sha1(rel.encode()).hexdigest()}
            data = p.read_bytes()
            entry: dict[str, Any] = {"type": "file", "path": rel, "size": len(data), "oid": _git_oid(data)}
            if _is_lfs(data, len(data)):
                entry["lfs"] = {"oid": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 134}
            return entry

        def _info(self, repo_id: str, rev: str | None) -> tuple[int, Any, dict[str, str]]:
            folder = self._repo(repo_id, rev)
            siblings = [{"rfilename": p.relative_to(folder).as_posix()} for p in sorted(folder.rglob("*"))
                        if p.is_file()]
            return 200, {"id": repo_id, "sha": hub.heads[repo_id], "private": False, "siblings": siblings}, {}

        def _tree(self, repo_id: str, rev: str, inner: str, recursive: bool) -> tuple[int, Any, dict[str, str]]:
            folder = self._repo(repo_id, rev)
            base = folder / inner if inner else folder
            if not base.is_dir():
                raise _not_found("EntryNotFound", f"Path {inner}")
            items = sorted(base.rglob("*") if recursive else base.iterdir())
            return 200, [self._entry(folder, p) for p in items], {}

        def _paths_info(self, repo_id: str, rev: str, paths: list[str]) -> tuple[int, Any, dict[str, str]]:
            folder = self._repo(repo_id, rev)
            return 200, [self._entry(folder, folder / p) for p in paths if p and (folder / p).exists()], {}

        def _resolve(self, repo_id: str, rev: str, inner: str) -> tuple[int, Any, dict[str, str]]:
            folder = self._repo(repo_id, rev)
            target = folder / inner
            if not target.is_file():
                raise _not_found("EntryNotFound", f"File {inner}")
            data = target.read_bytes()
            headers = {"ETag": f'"{_git_oid(data)}"', "X-Repo-Commit": hub.heads[repo_id], "Accept-Ranges": "bytes"}
            if _is_lfs(data, len(data)):
                headers["X-Linked-Etag"] = f'"{hashlib.sha256(data).hexdigest()}"'
                headers["X-Linked-Size"] = str(len(data))
            rng = self.headers.get("Range")
            if rng:
                first, _, last = rng.removeprefix("bytes=").partition("-")
                start, end = int(first), min(len(data) - 1, int(last) if last else len(data) - 1)
                if start >= len(data):
                    raise _Reply(416, b"", {"Content-Range": f"bytes */{len(data)}"})
                headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
                return 206, data[start:end + 1], headers
            return 200, data, headers

        def _validate_yaml(self, payload: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
            text = payload.get("content", "")
            if not text.startswith("---\n") or "\n---" not in text[3:]:
                return 200, {"errors": [], "warnings": [{"message": "empty or missing yaml metadata"}]}, {}
            try:
                meta = yaml.safe_load(text[4:text.index("\n---", 3)])
            except yaml.YAMLError as exc:
                raise _Reply(400, {"errors": [{"message": " ".join(str(exc).split())}]}) from None
            if not isinstance(meta, dict):
                raise _Reply(400, {"errors": [{"message": "the metadata must be a YAML mapping"}]})
            return 200, {"errors": [], "warnings": []}, {}

        def _create(self, payload: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
            if self.headers.get("Authorization") is None:
                raise _Reply(401, {"error": "You must be authenticated"},
                             {"X-Error-Message": "Invalid credentials in Authorization header"})
            if payload.get("type") != "dataset":
                raise _Reply(501, {"error": "the stand-in holds dataset repos only"})
            repo_id = f"{payload['organization']}/{payload['name']}" if payload.get("organization") else payload["name"]
            url = f"{hub.base}/datasets/{repo_id}"
            if repo_id in hub.heads:
                raise _Reply(409, {"error": "You already created this dataset repo", "url": url})
            hub.create(repo_id)
            return 200, {"url": url, "name": repo_id, "id": repo_id}, {}

        def _preupload(self, repo_id: str, rev: str, payload: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
            self._repo(repo_id, rev, write=True)
            files = [{"path": f["path"], "shouldIgnore": False,
                      "uploadMode": "lfs" if _is_lfs(base64.b64decode(f["sample"]), int(f["size"])) else "regular"}
                     for f in payload["files"]]
            return 200, {"files": files, "commitOid": hub.heads[repo_id]}, {}

        def _lfs_batch(self, repo_id: str, payload: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
            self._repo(repo_id, None, write=True)
            if payload.get("operation") != "upload" or "basic" not in payload.get("transfers", ["basic"]):
                raise _Reply(501, {"message": "the stand-in offers the basic upload transfer only"})
            objects = []
            for obj in payload["objects"]:
                entry: dict[str, Any] = {"oid": obj["oid"], "size": obj["size"], "authenticated": True}
                if obj["oid"] not in hub.lfs:
                    entry["actions"] = {"upload": {"href": f"{hub.base}/_lfs/{obj['oid']}"}}
                objects.append(entry)
            return 200, {"transfer": "basic", "objects": objects}, {}

        def _lfs_put(self, oid: str, body: bytes) -> tuple[int, Any, dict[str, str]]:
            if hashlib.sha256(body).hexdigest() != oid:
                raise _Reply(400, {"message": f"the uploaded bytes do not hash to {oid}"})
            hub.lfs[oid] = body
            return 200, b"", {}

        def _commit(self, repo_id: str, rev: str, body: bytes) -> tuple[int, Any, dict[str, str]]:
            folder = self._repo(repo_id, rev, write=True)
            lines = [json.loads(x) for x in body.splitlines() if x.strip()]
            if not lines or lines[0].get("key") != "header":
                raise _Reply(400, {"error": "a commit starts with its header"})
            header, ops = lines[0]["value"], lines[1:]
            with hub.lock:
                parent = header.get("parentCommit")
                if parent is not None and parent != hub.heads[repo_id]:
                    raise _Reply(412, {"error": "A commit has happened since. Please refresh and try again."})
                staged: list[tuple[str, str, bytes | None]] = []
                for op in ops:
                    key, value = op["key"], op["value"]
                    rel = value["path"]
                    if rel.startswith("/") or ".." in rel.split("/"):
                        raise _Reply(400, {"error": f"invalid path {rel}"})
                    if key == "file":
                        staged.append(("add", rel, base64.b64decode(value["content"])))
                    elif key == "lfsFile":
                        data = hub.lfs.get(value["oid"])
                        if data is None or ("size" in value and len(data) != value["size"]):
                            raise _Reply(400, {"error": f"LFS object {value['oid']} was not uploaded"})
                        staged.append(("add", rel, data))
                    elif key in ("deletedFile", "deletedFolder"):
                        target = folder / rel.rstrip("/")
                        if not target.exists():
                            raise _not_found("EntryNotFound", f"{rel}")
                        staged.append(("delete", rel, None))
                    else:
                        raise _Reply(501, {"error": f"the stand-in does not apply {key} operations"})
                for kind, rel, data in staged:
                    target = folder / rel.rstrip("/")
                    if kind == "delete":
                        shutil.rmtree(target) if target.is_dir() else target.unlink()
                    else:
                        target.parent.mkdir(parents=True, exist_ok=True)
                        target.write_bytes(data or b"")
                oid = hashlib.sha1(f"{hub.heads[repo_id]} {len(hub.commits)} {body!r}".encode()).hexdigest()
                hub.heads[repo_id] = oid
                hub.commits.append({"repo": repo_id, "oid": oid, "summary": header.get("summary"), "operations": [
                    (kind, rel, hashlib.sha256(data).hexdigest() if data is not None else None)
                    for kind, rel, data in staged]})
            return 200, {"success": True, "commitOid": oid, "commitUrl": f"{hub.base}/datasets/{repo_id}/commit/{oid}"}, {}

    return Handler


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HubStandIn]:
    """A Hub stand-in on 127.0.0.1 that huggingface_hub (this process's and any process started while the test runs,
    Ray workers included) talks to: ``HF_ENDPOINT`` and ``HF_TOKEN`` point at it and Xet is off
    (``HF_HUB_DISABLE_XET``: with hf_xet installed, huggingface_hub sends every upload through Xet storage, a
    protocol this stand-in does not speak). The library reads those variables at import, so its ``constants`` are
    set too; everything is restored after the test, and the test fails if the client called an endpoint the
    stand-in does not implement."""
    pytest.importorskip("huggingface_hub")
    from huggingface_hub import HfFileSystem, constants

    state = HubStandIn(tmp_path / "hub")
    state.root.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True  # kept-alive client connections must not hold the teardown
    server.block_on_close = False
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    # the tests' offline switches (tests/conftest.py) are lifted: the Hub is on this machine (datasets, imported in
    # a Ray worker, would turn huggingface_hub's offline mode on again from HF_DATASETS_OFFLINE)
    for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE", "CODEQUARRY_OFFLINE", "http_proxy",
                "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    for k, v in {"HF_ENDPOINT": state.base, "HF_TOKEN": state.token, "HF_HUB_DISABLE_XET": "1",
                 "HF_HOME": str(tmp_path / "hf-home"),  # what the client caches about this Hub stays in the test
                 "CODEQUARRY_WORK_DIR": str(tmp_path / "work"), "CODEQUARRY_CACHE_DIR": str(tmp_path / "cache")
                 }.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setattr(constants, "ENDPOINT", state.base)
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", state.base + "/{repo_id}/resolve/{revision}/{filename}")
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "AGENT_HARNESSES_PATH", str(tmp_path / "hf-home" / ".agent_harnesses.json"))
    HfFileSystem.clear_instance_cache()
    try:
        yield state
    finally:
        HfFileSystem.clear_instance_cache()
        server.shutdown()
        server.server_close()
    assert not state.unknown, f"the client called endpoints the Hub stand-in does not implement: {state.unknown}"
