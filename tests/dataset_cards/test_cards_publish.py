"""Publishing through an injected fake HfApi at the network boundary: operations, idempotence, errors."""

from __future__ import annotations

import hashlib
import importlib
import inspect
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from huggingface_hub import CommitInfo, CommitOperationAdd, CommitOperationDelete, HfApi
from huggingface_hub.errors import HfHubHTTPError
from huggingface_hub.hf_api import RepoFile, RepoFolder
from huggingface_hub.utils import hf_raise_for_status

from codequarry.dataset_cards.publish import publish
from codequarry.errors import CodequarryError
from codequarry.pairs import MANIFEST_NAME, PairsDir, write_manifest

REPO = "acme/csn-small"
# the HTTP client huggingface_hub is built on (httpx2 in 2.x, httpx in 1.x): its errors are what the Hub raises
http = importlib.import_module(HfHubHTTPError.__bases__[0].__module__.split(".")[0])


def http_error(status: int, headers: dict[str, str] | None = None) -> Exception:
    """The exception huggingface_hub itself raises for this HTTP answer."""
    request = http.Request("POST", f"https://huggingface.co/api/datasets/{REPO}/commit/main")
    response = http.Response(status, headers=headers or {}, request=request, json={"error": f"status {status}"})
    try:
        hf_raise_for_status(response)
    except Exception as exc:  # noqa: BLE001 - we want whatever the library raises
        return exc
    raise AssertionError(f"{status} did not raise")


class FakeHub:
    """An in-memory Hub dataset repo with the HfApi methods publish calls; records every call."""

    LFS = (".parquet", ".png")

    def __init__(self) -> None:
        self.exists = False
        self.states: dict[str, dict[str, bytes]] = {}
        self.branches: dict[str, str] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.commits: list[dict[str, Any]] = []
        self.fail: dict[str, list[Exception]] = {}
        self.before_commit: list[Any] = []  # callbacks run before a commit is checked (concurrent pushes)

    # helpers ---------------------------------------------------------------------------------
    def _enter(self, name: str, kwargs: dict[str, Any]) -> None:
        # every call must bind to the installed HfApi method: the fake cannot drift from the real API
        inspect.signature(getattr(HfApi, name)).bind(None, **kwargs)
        self.calls.append((name, kwargs))
        if self.fail.get(name):
            raise self.fail[name].pop(0)

    def _new_commit(self, branch: str, files: dict[str, bytes]) -> str:
        parent = self.branches.get(branch, "")
        oid = hashlib.sha1((parent + json.dumps(sorted((k, hashlib.sha256(v).hexdigest()) for k, v in files.items())))
                           .encode()).hexdigest()
        self.states[oid] = dict(files)
        self.branches[branch] = oid
        return oid

    def files(self, branch: str = "main") -> dict[str, bytes]:
        return self.states[self.branches[branch]]

    def push_directly(self, path: str, data: bytes, branch: str = "main") -> None:
        """Someone else commits to the branch."""
        files = dict(self.files(branch))
        files[path] = data
        self._new_commit(branch, files)

    def count(self, name: str) -> int:
        return sum(1 for n, _ in self.calls if n == name)

    # HfApi surface (keyword arguments only, as publish calls them) ----------------------------
    def create_repo(self, **kw: Any) -> str:
        self._enter("create_repo", kw)
        assert kw["repo_type"] == "dataset" and kw["exist_ok"] is True
        if not self.exists:
            self.exists = True
            self._new_commit("main", {".gitattributes": b"*.parquet filter=lfs diff=lfs merge=lfs -text\n"})
        return f"https://huggingface.co/datasets/{kw['repo_id']}"

    def create_branch(self, **kw: Any) -> None:
        self._enter("create_branch", kw)
        self.branches.setdefault(kw["branch"], self.branches["main"])

    def repo_info(self, **kw: Any) -> Any:
        self._enter("repo_info", kw)
        return SimpleNamespace(id=kw["repo_id"], sha=self.branches[kw.get("revision") or "main"])

    def list_repo_tree(self, **kw: Any) -> list[Any]:
        self._enter("list_repo_tree", kw)
        assert kw["recursive"] is True
        revision = kw["revision"]
        state = self.states[revision] if revision in self.states else self.files(revision)
        out: list[Any] = []
        folders = sorted({"/".join(p.split("/")[:i]) for p in state for i in range(1, p.count("/") + 1)})
        out += [RepoFolder(path=f, oid="0" * 40) for f in folders]
        for path, data in sorted(state.items()):
            git = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
            if path.endswith(self.LFS):
                lfs = {"size": len(data), "oid": hashlib.sha256(data).hexdigest(), "pointerSize": 134}
                out.append(RepoFile(path=path, size=len(data), oid="f" * 40, lfs=lfs))
            else:
                out.append(RepoFile(path=path, size=len(data), oid=git))
        return out

    def create_commit(self, **kw: Any) -> CommitInfo:
        self._enter("create_commit", kw)
        while self.before_commit:
            self.before_commit.pop(0)(self)
        branch = kw.get("revision") or "main"
        parent = kw.get("parent_commit")
        if parent is not None and parent != self.branches[branch]:
            raise http_error(412)
        files = dict(self.files(branch))
        record = []
        for op in kw["operations"]:
            if isinstance(op, CommitOperationAdd):
                data = Path(op.path_or_fileobj).read_bytes()
                files[op.path_in_repo] = data
                record.append(("add", op.path_in_repo, len(data)))
            elif isinstance(op, CommitOperationDelete):
                if op.path_in_repo not in files:
                    raise http_error(404)
                del files[op.path_in_repo]
                record.append(("delete", op.path_in_repo, None))
        oid = self._new_commit(branch, files)
        self.commits.append({"ops": record, "parent": parent, "oid": oid, "message": kw["commit_message"],
                             "branch": branch})
        return CommitInfo(commit_url=f"https://huggingface.co/datasets/{kw['repo_id']}/commit/{oid}",
                          commit_message=kw["commit_message"], commit_description="", oid=oid)


class NoNetwork:
    """Any attribute access is a test failure: proves a code path never touches the Hub."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"network call {name} in a dry run")


def _publish(d: PairsDir | Path, api: FakeHub, **kw: Any):
    waits: list[float] = []
    kw.setdefault("max_shard_bytes", 4000)
    kw.setdefault("row_group_bytes", 1500)
    report = publish(getattr(d, "path", d), REPO, api=api, sleep=waits.append, **kw)
    return report, waits


def test_first_publish_sends_the_upload_folder_in_one_guarded_commit(pairs_factory, tmp_path):
    d = pairs_factory()
    hub = FakeHub()
    report, waits = _publish(d, hub, out=tmp_path / "upload")
    assert hub.count("create_repo") == 1 and hub.count("create_commit") == 1 and waits == []
    (commit,) = hub.commits
    first_head = next(oid for oid, st in hub.states.items() if list(st) == [".gitattributes"])
    assert commit["parent"] == first_head
    local = {p.relative_to(tmp_path / "upload").as_posix(): p.stat().st_size
             for p in (tmp_path / "upload").rglob("*") if p.is_file()}
    assert {path: size for kind, path, size in commit["ops"]} == local  # paths and sizes, exactly the folder
    assert [path for _, path, _ in commit["ops"]][-2:] == [MANIFEST_NAME, "README.md"]  # card last
    assert set(hub.files()) == set(local) | {".gitattributes"}
    assert report.commit_ids == (commit["oid"],) and not report.dry_run
    assert "published to datasets/acme/csn-small" in report.render()
    # what landed on the Hub is a loadable, verifiable pairs dir
    mirror = tmp_path / "mirror"
    for path, data in hub.files().items():
        (mirror / path).parent.mkdir(parents=True, exist_ok=True)
        (mirror / path).write_bytes(data)
    PairsDir(mirror).verify()


def test_republishing_unchanged_data_sends_no_commit(pairs_factory):
    d = pairs_factory()
    hub = FakeHub()
    _publish(d, hub)
    before = dict(hub.branches)
    report, _ = _publish(d, hub)
    assert hub.count("create_commit") == 1  # only the first publish committed
    assert hub.branches == before
    assert report.commits == () and len(report.unchanged) == len(report.files)
    assert "is up to date" in report.render() and "no commit sent" in report.render()


def test_changed_split_replaces_and_deletes_stale_shards(pairs_factory, cards):
    hub = FakeHub()
    big = pairs_factory("v1", rows=cards.make_rows(40, 6, 4, pad=150))
    _publish(big, hub)
    old = set(hub.files())
    old_py_train = sorted(p for p in old if p.startswith("data/python/train-"))
    assert len(old_py_train) >= 3
    # v2: 8 fewer python rows (fewer train shards), no go rows (config gone); java rows and their splits unchanged
    v1 = cards.make_rows(40, 6, 4, pad=150)
    rows = [r for i, r in enumerate(v1) if r["language"] == "java" or (r["language"] == "python" and i < 32)]
    small = pairs_factory("v2", rows=rows)
    report, _ = _publish(small, hub)
    new = set(hub.files())
    deleted = {op.path for op in report.operations if op.kind == "delete"}
    assert deleted == {p for p in old if p.startswith("data/") and p not in new}
    assert set(old_py_train) - new <= deleted
    assert not any(p.startswith("data/go/") for p in new)
    assert {p for p in new if p.startswith("data/")} == {f.path for f in report.files if f.path.startswith("data/")}
    assert ".gitattributes" in new  # files outside data/ and exclusions/ are left alone
    # java shards (same rows, same bytes) were not re-sent
    sent = {op.path for op in report.operations if op.kind == "add"}
    java = {p for p in new if p.startswith("data/java/")}
    assert java and java <= set(report.unchanged) and not (java & sent)
    assert "README.md" in sent and "codequarry.json" in sent
    assert hub.commits[-1]["ops"][-1][1] == "README.md"


def test_commits_are_batched_and_chained_by_parent_commit(pairs_factory):
    d = pairs_factory()
    hub = FakeHub()
    report, _ = _publish(d, hub, commit_batch=4)
    n_files = len(report.files)
    assert len(hub.commits) == -(-n_files // 4) >= 3
    assert all(len(c["ops"]) <= 4 for c in hub.commits)
    for prev, nxt in zip(hub.commits, hub.commits[1:]):
        assert nxt["parent"] == prev["oid"]
    assert hub.commits[-1]["ops"][-1][1] == "README.md"
    assert "(1/" in hub.commits[0]["message"]
    assert report.commit_ids == tuple(c["oid"] for c in hub.commits)


def test_tampered_shard_is_refused_before_any_network_call(pairs_factory):
    d = pairs_factory()
    shard = d.files(split="train", config="python")[0]
    table = pq.read_table(shard)
    queries = table.column("query").to_pylist()
    queries[0] = "tampered"
    pq.write_table(table.set_column(table.schema.get_field_index("query"), "query", pa.array(queries, pa.string())), shard)
    with pytest.raises(CodequarryError, match="refusing to publish.*sha256"):
        publish(d.path, REPO, api=NoNetwork())
    # a forger who also updates the manifest's sha256 is caught by the content fingerprint
    m = dict(d.manifest)
    rel = shard.relative_to(d.path).as_posix()
    m["files"] = [dict(e, sha256=hashlib.sha256(shard.read_bytes()).hexdigest()) if e["path"] == rel else e
                  for e in m["files"]]
    write_manifest(d.path, m)
    with pytest.raises(CodequarryError, match="refusing to publish.*fingerprint"):
        publish(d.path, REPO, api=NoNetwork())


def test_rate_limit_and_server_errors_are_retried_with_backoff(pairs_factory):
    d = pairs_factory()
    hub = FakeHub()
    hub.fail["create_commit"] = [http_error(429, {"Retry-After": "7"}), http_error(503), http_error(429)]
    report, waits = _publish(d, hub)
    assert waits == [7.0, 4.0, 8.0]  # Retry-After honoured, else 2 s doubling per attempt
    assert len(hub.commits) == 1 and hub.count("create_commit") == 4
    assert [w[1] for w in report.waits] == ["HTTP 429", "HTTP 503", "HTTP 429"]


def test_network_errors_are_retried_then_reported(pairs_factory):
    d = pairs_factory()
    hub = FakeHub()
    hub.fail["list_repo_tree"] = [http.ConnectError("connection reset")]
    _, waits = _publish(d, hub)
    assert waits == [2.0] and len(hub.commits) == 1
    hub2 = FakeHub()
    hub2.fail["repo_info"] = [http.ConnectError("no route to host")] * 3
    with pytest.raises(CodequarryError, match="could not reach the Hub.*after 2 retries.*rerun"):
        _publish(d, hub2, max_retries=2)


def test_rate_limit_exhausted_says_what_to_do(pairs_factory):
    d = pairs_factory()
    hub = FakeHub()
    hub.fail["create_commit"] = [http_error(429)] * 3
    with pytest.raises(CodequarryError, match="HTTP 429.*128 commits per hour.*rerun the same command"):
        _publish(d, hub, max_retries=2)


@pytest.mark.parametrize("status, where, pattern", [
    (401, "create_repo", r"HTTP 401.*hf auth login.*HF_TOKEN"),
    (403, "create_commit", r"HTTP 403.*namespace 'acme'.*hf auth login"),
    (404, "repo_info", r"not found.*acme/csn-small.*--repo-id"),
    (400, "create_commit", r"refused committing to acme/csn-small \(HTTP 400\)"),
])
def test_auth_and_missing_repo_errors_are_clear(pairs_factory, status, where, pattern):
    d = pairs_factory()
    hub = FakeHub()
    hub.fail[where] = [http_error(status)]
    with pytest.raises(CodequarryError, match=pattern):
        _publish(d, hub)
    assert hub.commits == []


def test_offline_mode_is_not_retried(pairs_factory):
    from huggingface_hub.errors import OfflineModeIsEnabled

    d = pairs_factory()
    hub = FakeHub()
    hub.fail["create_repo"] = [OfflineModeIsEnabled("offline")]
    with pytest.raises(CodequarryError, match="HF_HUB_OFFLINE=1.*--dry-run"):
        _publish(d, hub)
    assert hub.count("create_repo") == 1


def test_concurrent_push_conflict_refetches_and_replans(pairs_factory):
    d = pairs_factory()
    hub = FakeHub()
    hub.before_commit.append(lambda h: h.push_directly("LICENSE", b"MIT\n"))
    report, _ = _publish(d, hub)
    assert hub.count("create_commit") == 2 and len(hub.commits) == 1
    first_try, second_try = [kw for name, kw in hub.calls if name == "create_commit"]
    assert first_try["revision"] is None and second_try["repo_type"] == "dataset"
    assert first_try["parent_commit"] != second_try["parent_commit"]
    assert hub.commits[0]["parent"] == second_try["parent_commit"]
    assert "LICENSE" in hub.files() and "README.md" in hub.files()  # nothing of theirs was lost
    assert any("409/412" in w[1] for w in report.waits)


def test_revision_branch_is_created_and_targeted(pairs_factory):
    d = pairs_factory()
    hub = FakeHub()
    report, _ = _publish(d, hub, revision="v1.0")
    assert hub.count("create_branch") == 1
    assert hub.commits[0]["branch"] == "v1.0" and "README.md" not in hub.files("main")
    assert "README.md" in hub.files("v1.0") and report.url.endswith("/tree/v1.0")
    with pytest.raises(CodequarryError, match="commit id"):
        publish(d.path, REPO, api=NoNetwork(), revision="a" * 40)


def test_dry_run_touches_no_network_and_lists_the_operations(pairs_factory, tmp_path):
    d = pairs_factory()
    out = tmp_path / "dry"
    report = publish(d.path, REPO, dry_run=True, out=out, api=NoNetwork(), commit_batch=5, max_shard_bytes=4000,
                     row_group_bytes=1500)
    text = report.render()
    assert text.startswith("dry run: would send") and f"in {len(report.commits)} commit(s)" in text
    add_lines = [line.split() for line in text.splitlines() if line.strip().startswith("add ")]
    assert [(w[-1], int(w[1].replace(",", ""))) for w in add_lines] == [(f.path, f.size) for f in report.files]
    assert len(report.commits) == -(-len(report.files) // 5)
    # a real publish of the same dir sends exactly the dry run's folder
    hub = FakeHub()
    _publish(d, hub)
    real = {p: hashlib.sha256(b).hexdigest() for p, b in hub.files().items() if p != ".gitattributes"}
    dry = {p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in out.rglob("*") if p.is_file()}
    assert real == dry


def test_invalid_repo_id_is_refused(pairs_factory):
    d = pairs_factory()
    for bad in ("no-namespace", "a/b/c", "acme/", "acme/na me"):
        with pytest.raises(CodequarryError, match="invalid --repo-id"):
            publish(d.path, bad, api=NoNetwork())


def test_explicit_token_is_passed_to_every_hub_call(pairs_factory):
    d = pairs_factory()
    hub = FakeHub()
    _publish(d, hub, token="hf_test_token")
    assert hub.calls and all(kw.get("token") == "hf_test_token" for _, kw in hub.calls)


# --layout retrieval: the pairs dir's split as CoIR-style corpus / queries / qrels configs ------------------

RETRIEVAL_FILES = {"corpus/corpus-00000-of-00001.parquet", "queries/queries-00000-of-00001.parquet",
                   "qrels/test-00000-of-00001.parquet", "README.md"}


def _retrieval_pairs(pairs_factory, cards):
    """4 test rows (java 0, 2 and go 0, 2 of make_rows), each its own code, every row a positive."""
    d = pairs_factory("ret", rows=cards.make_rows(n_python=0, n_java=4, n_go=4), test_every=2)
    test = [r for i, r in enumerate(cards.make_rows(n_python=0, n_java=4, n_go=4)) if not i % 2]
    return d, {(r["query"], r["code"]) for r in test}, len(test)


def test_retrieval_layout_publishes_coir_configs_that_datasets_loads(pairs_factory, cards, tmp_path):
    import datasets

    d, pairs, n = _retrieval_pairs(pairs_factory, cards)
    hub = FakeHub()
    report, _ = _publish(d, hub, layout="retrieval", out=tmp_path / "upload")
    (commit,) = hub.commits
    assert {path for _, path, _ in commit["ops"]} == RETRIEVAL_FILES  # exactly these files, nothing of the pairs layout
    assert [path for _, path, _ in commit["ops"]][-1] == "README.md" and "(retrieval layout)" in commit["message"]
    assert set(hub.files()) == RETRIEVAL_FILES | {".gitattributes"}
    mirror = tmp_path / "mirror"
    for path, data in hub.files().items():
        (mirror / path).parent.mkdir(parents=True, exist_ok=True)
        (mirror / path).write_bytes(data)
    assert sorted(datasets.get_dataset_config_names(str(mirror))) == ["corpus", "default", "queries"]
    corpus = datasets.load_dataset(str(mirror), "corpus", split="corpus")
    queries = datasets.load_dataset(str(mirror), "queries", split="queries")
    qrels = datasets.load_dataset(str(mirror), "default", split="test")
    assert (corpus.num_rows, queries.num_rows, qrels.num_rows) == (n, n, n)
    assert set(corpus.column_names) == {"_id", "title", "text"} and set(queries.column_names) == {"_id", "text"}
    assert set(qrels.column_names) == {"query-id", "corpus-id", "score"}
    text_of = {r["_id"]: r["text"] for r in corpus} | {r["_id"]: r["text"] for r in queries}
    assert {(text_of[r["query-id"]], text_of[r["corpus-id"]]) for r in qrels} == pairs  # each row's query → its code
    assert set(qrels["score"]) == {1}
    # the same files again: nothing sent
    again, _ = _publish(d, hub, layout="retrieval")
    assert len(hub.commits) == 1 and again.operations == () and set(again.unchanged) == RETRIEVAL_FILES


def test_retrieval_layout_replaces_stale_qrels_and_leaves_other_files(pairs_factory, cards):
    d, _, _ = _retrieval_pairs(pairs_factory, cards)
    hub = FakeHub()
    _publish(d, hub, layout="retrieval")
    hub.push_directly("qrels/dev-00000-of-00001.parquet", b"old")
    hub.push_directly("LICENSE", b"MIT")
    _publish(d, hub, layout="retrieval")
    assert ("delete", "qrels/dev-00000-of-00001.parquet", None) in hub.commits[-1]["ops"]
    assert "LICENSE" in hub.files() and "qrels/dev-00000-of-00001.parquet" not in hub.files()


def test_retrieval_layout_verifies_the_pairs_dir_first(pairs_factory, cards):
    d, _, _ = _retrieval_pairs(pairs_factory, cards)
    shard = d.files(split="test")[0]
    shard.write_bytes(shard.read_bytes() + b"x")
    with pytest.raises(CodequarryError, match="refusing to publish"):
        publish(d.path, REPO, api=NoNetwork(), layout="retrieval")
    with pytest.raises(CodequarryError, match="unknown --layout"):
        publish(d.path, REPO, api=NoNetwork(), layout="beir")


def test_publish_cli_layout_retrieval_dry_run(pairs_factory, cards, tmp_path, capsys):
    from codequarry.cli import main

    d, _, _ = _retrieval_pairs(pairs_factory, cards)
    out = tmp_path / "upload"
    assert main(["publish", str(d.path), "--repo-id", REPO, "--layout", "retrieval", "--dry-run", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "would send 4 file(s)" in text and all(p in text for p in RETRIEVAL_FILES)
    assert {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} == RETRIEVAL_FILES
    assert main(["publish", str(d.path), "--repo-id", REPO, "--split", "train", "--dry-run"]) == 2
    assert "--layout retrieval" in capsys.readouterr().err
