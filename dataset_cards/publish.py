"""Publish a pairs dir to the Hugging Face Hub as a dataset repo, idempotently and in batched commits.

1. ``PairsDir.verify()``: every shard's sha256 and the content fingerprint must match the manifest,
   so a changed or corrupted shard is refused before anything is sent.
2. Build the upload folder (``upload.build_upload_folder``): README card, manifest, re-packed shards.
3. ``create_repo(exist_ok=True)``; read the branch head and its file list (sizes, LFS sha256, git oids).
4. Send only what differs: adds for new or changed files, deletes for files under ``data/`` and
   ``exclusions/`` that the new folder no longer has (stale shards of the same splits, and of configs or
   splits that are gone — the ``all`` config's glob ``data/*/{split}-*`` would otherwise load them). Files
   elsewhere in the repo (``.gitattributes``, a LICENSE added by hand) are left alone. Unchanged data
   sends no commit.
5. Commits of at most ``commit_batch`` operations (the Hub asks for about 100 files per commit), data
   first, then deletes, the manifest and the card last, so the README only declares the new splits
   once their shards are in. Each commit names its ``parent_commit``; a 409/412 (someone else pushed)
   re-reads the repo and re-plans what is left. 429 and 5xx answers and network errors are retried with
   exponential backoff, honouring ``Retry-After``; 401/403/404 become messages that say what to do.

``layout="retrieval"`` sends the pairs dir's split (``split``, default test) as a retrieval dataset laid out
as the CoIR-Retrieval repos instead (configs ``corpus``, ``queries``, ``default`` = qrels, in Parquet;
``codequarry.fetch.export.write_retrieval_repo``), so MTEB/CoIR/``datasets`` load it as it is; the pairs dir
is verified first all the same, and stale files under ``corpus/``, ``queries/`` and ``qrels/`` are deleted.

``dry_run`` builds the same folder and lists the operations against an empty repo, without any
network call. The token comes from ``token=``, else huggingface_hub's usual lookup (``HF_TOKEN``,
then the login saved by ``hf auth login``).
"""

from __future__ import annotations

import contextlib
import re
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codequarry import __version__
from codequarry.dataset_cards.card import render_card
from codequarry.dataset_cards.card_text import README
from codequarry.dataset_cards.hub_errors import (
    _Conflict,
    _is_network,
    _retry_after,
    _status,
    hub_error,
    hub_offline,
)
from codequarry.dataset_cards.upload import (
    RETRIEVAL_PREFIXES,
    UploadFile,
    UploadFolder,
    build_retrieval_folder,
    build_upload_folder,
)
from codequarry.errors import CodequarryError
from codequarry.pairs import (
    DATA_DIR,
    DEFAULT_MAX_SHARD_BYTES,
    DEFAULT_ROW_GROUP_BYTES,
    EXCLUSIONS_DIR,
    MANIFEST_NAME,
    PairsDir,
)

MANAGED_PREFIXES = (f"{DATA_DIR}/", f"{EXCLUSIONS_DIR}/")
LAYOUTS = ("pairs", "retrieval")
DEFAULT_COMMIT_BATCH = 100
DEFAULT_MAX_RETRIES = 5
BACKOFF_BASE_S = 2.0
MAX_BACKOFF_S = 300.0
OFFLINE_MESSAGE = ("cannot publish while HF_HUB_OFFLINE=1 is set: unset it to reach the Hub, or pass "
                   "--dry-run --out FOLDER to build the upload folder without the network")
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*$")


@dataclass(frozen=True)
class Operation:
    """One change sent (or, in a dry run, to be sent) to the repo."""

    kind: str  # "add" or "delete"
    path: str
    size: int | None = None  # bytes added; None for deletes


@dataclass(frozen=True)
class RemoteFile:
    """A file as the Hub lists it."""

    path: str
    size: int
    sha256: str | None  # LFS/Xet files
    git_oid: str | None

    def same_as(self, local: UploadFile) -> bool:
        if self.sha256:
            return self.sha256 == local.sha256 and self.size == local.size
        return self.git_oid == local.git_oid


@dataclass(frozen=True)
class PublishReport:
    """What publish did (or would do): operations grouped in commits, skipped files, retries."""

    repo_id: str
    revision: str | None
    dry_run: bool
    folder: Path | None  # the upload folder, when kept (``out=``)
    files: tuple[UploadFile, ...]
    commits: tuple[tuple[Operation, ...], ...]  # planned (dry run) or sent
    commit_ids: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    waits: tuple[tuple[str, str, float], ...] = ()  # (call, cause, seconds) for every retry
    warnings: tuple[str, ...] = ()

    @property
    def operations(self) -> tuple[Operation, ...]:
        return tuple(op for c in self.commits for op in c)

    @property
    def url(self) -> str:
        rev = f"/tree/{self.revision}" if self.revision else ""
        return f"https://huggingface.co/datasets/{self.repo_id}{rev}"

    def render(self) -> str:
        """A human-readable account for the CLI."""
        ops = self.operations
        adds = [o for o in ops if o.kind == "add"]
        deletes = [o for o in ops if o.kind == "delete"]
        sent = sum(o.size or 0 for o in adds)
        target = f"datasets/{self.repo_id}" + (f" (revision {self.revision})" if self.revision else "")
        if self.dry_run:
            head = (f"dry run: would send {len(adds)} file(s) ({_human(sent)}) and {len(deletes)} delete(s) to {target} "
                    f"in {len(self.commits)} commit(s); compared with an empty repo, so files already on the Hub "
                    "would be skipped by a real publish")
        elif not ops:
            head = f"{target} is up to date: {len(self.unchanged)} file(s) unchanged, no commit sent"
        else:
            head = (f"published to {target}: {len(adds)} file(s) ({_human(sent)}) added, {len(deletes)} deleted, "
                    f"{len(self.unchanged)} unchanged, in {len(self.commits)} commit(s)")
        lines = [head]
        for i, commit in enumerate(self.commits, 1):
            oid = f" {self.commit_ids[i - 1][:12]}" if i - 1 < len(self.commit_ids) else ""
            lines.append(f"  commit {i}/{len(self.commits)}{oid}: {len(commit)} operation(s)")
            for op in commit:
                size = f"{op.size:>12,} B" if op.size is not None else " " * 14
                lines.append(f"    {op.kind:<6} {size}  {op.path}")
        for call, cause, seconds in self.waits:
            lines.append(f"  retried {call} after {cause}: waited {seconds:g} s")
        lines += [f"  warning: {w}" for w in self.warnings]
        if self.folder is not None:
            lines.append(f"upload folder: {self.folder}")
        if not self.dry_run:
            lines.append(self.url)
        return "\n".join(lines)


def _human(n: int) -> str:
    size = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.1f} {unit}" if unit != "B" else f"{int(size)} B"
        size /= 1000
    return f"{n} B"


# --------------------------------------------------------------------------------------------
# planning


def plan_operations(folder: UploadFolder, remote: Mapping[str, RemoteFile], *,
                    managed: tuple[str, ...] = MANAGED_PREFIXES) -> tuple[list[UploadFile], list[str], list[str]]:
    """(files to add, paths to delete, paths unchanged) to make the repo match the folder; only files under
    ``managed`` folders are ever deleted."""
    adds = [f for f in folder.files if not (f.path in remote and remote[f.path].same_as(f))]
    unchanged = [f.path for f in folder.files if f.path in remote and remote[f.path].same_as(f)]
    local = {f.path for f in folder.files}
    deletes = sorted(p for p in remote if p.startswith(managed) and p not in local)
    return adds, deletes, unchanged


def group_commits(adds: Sequence[UploadFile], deletes: Sequence[str], batch: int, *,
                  managed: tuple[str, ...] = MANAGED_PREFIXES) -> list[list[Operation]]:
    """Order operations (data, deletes, then manifest and card) and cut them into commits of ≤ ``batch``."""
    last = {MANIFEST_NAME: 1, README: 2}
    data = [Operation("add", f.path, f.size) for f in adds if f.path.startswith(managed)]
    others = sorted((f for f in adds if not f.path.startswith(managed)), key=lambda f: (last.get(f.path, 0), f.path))
    ops = data + [Operation("delete", p) for p in deletes] + [Operation("add", f.path, f.size) for f in others]
    return [ops[i:i + batch] for i in range(0, len(ops), batch)]


@dataclass
class _Hub:
    """The calls publish makes, each with retries and user-facing errors."""

    api: Any
    repo_id: str
    revision: str | None
    token: str | None
    max_retries: int
    sleep: Callable[[float], Any]
    waits: list[tuple[str, str, float]] = field(default_factory=list)

    def _kw(self) -> dict[str, Any]:
        return {"token": self.token} if self.token else {}

    def call(self, what: str, fn: Callable[..., Any], *, conflict: bool = False, **kwargs: Any) -> Any:
        attempt = 0
        while True:
            try:
                return fn(**kwargs, **self._kw())
            except Exception as exc:
                status = _status(exc)
                if conflict and status in (409, 412):
                    raise _Conflict(str(exc)) from exc
                retryable = status == 429 or (status is not None and status >= 500) or _is_network(exc)
                if retryable and attempt < self.max_retries:
                    wait = _retry_after(exc) if status == 429 else None
                    if wait is None:
                        wait = min(MAX_BACKOFF_S, BACKOFF_BASE_S * 2 ** attempt)
                    self.waits.append((what, f"HTTP {status}" if status else type(exc).__name__, wait))
                    self.sleep(wait)
                    attempt += 1
                    continue
                err = hub_error(exc, what=what, repo_id=self.repo_id, revision=self.revision, retries=attempt)
                if err is None:
                    raise
                raise err from exc

    def create_repo(self, private: bool) -> None:
        self.call("creating", self.api.create_repo, repo_id=self.repo_id, repo_type="dataset", private=private,
                  exist_ok=True)
        if self.revision and self.revision != "main" and not self.revision.startswith("refs/"):
            self.call("creating branch on", self.api.create_branch, repo_id=self.repo_id, repo_type="dataset",
                      branch=self.revision, exist_ok=True)

    def state(self) -> tuple[str | None, dict[str, RemoteFile]]:
        info = self.call("reading", self.api.repo_info, repo_id=self.repo_id, repo_type="dataset", revision=self.revision)
        head = getattr(info, "sha", None)
        entries = self.call("listing files of", self.api.list_repo_tree, repo_id=self.repo_id, repo_type="dataset",
                            revision=head or self.revision, recursive=True)
        remote: dict[str, RemoteFile] = {}
        for e in entries:
            if not hasattr(e, "blob_id"):
                continue  # a folder
            lfs = getattr(e, "lfs", None)
            sha = (lfs.get("sha256") if isinstance(lfs, Mapping) else getattr(lfs, "sha256", None)) if lfs else None
            remote[e.path] = RemoteFile(e.path, int(e.size), sha, e.blob_id)
        return head, remote

    def commit(self, ops: Sequence[Operation], folder: UploadFolder, *, parent: str | None, message: str,
               description: str) -> str | None:
        from huggingface_hub import CommitOperationAdd, CommitOperationDelete

        operations = [CommitOperationAdd(path_in_repo=o.path, path_or_fileobj=str(folder.root / o.path))
                      if o.kind == "add" else CommitOperationDelete(path_in_repo=o.path) for o in ops]
        info = self.call("committing to", self.api.create_commit, conflict=True, repo_id=self.repo_id,
                         repo_type="dataset", operations=operations, commit_message=message,
                         commit_description=description, revision=self.revision, parent_commit=parent)
        return getattr(info, "oid", None)


# --------------------------------------------------------------------------------------------
# publish


def publish(
    pairs_dir: str | Path,
    repo_id: str,
    *,
    private: bool = False,
    revision: str | None = None,
    dry_run: bool = False,
    out: str | Path | None = None,
    api: Any = None,
    token: str | None = None,
    max_shard_bytes: int = DEFAULT_MAX_SHARD_BYTES,
    row_group_bytes: int = DEFAULT_ROW_GROUP_BYTES,
    commit_batch: int = DEFAULT_COMMIT_BATCH,
    max_retries: int = DEFAULT_MAX_RETRIES,
    sleep: Callable[[float], Any] = time.sleep,
    include_exclusions: bool = False,
    pretty_name: str | None = None,
    license: str | None = None,
    layout: str = "pairs",
    split: str | None = None,
) -> PublishReport:
    """Verify ``pairs_dir``, build its upload folder and make the Hub dataset repo ``repo_id`` match it.

    ``layout``: ``"pairs"`` (the pairs dir as it is, with its card) or ``"retrieval"`` (its ``split`` as CoIR-style
    corpus / queries / qrels configs)."""
    if not isinstance(repo_id, str) or not _REPO_ID.match(repo_id) or "--" in repo_id or ".." in repo_id:
        raise CodequarryError(f"invalid --repo-id {repo_id!r}: use ORG/NAME (letters, digits, '-', '_', '.'), "
                              "e.g. my-org/cosqa-clean")
    if revision is not None and re.fullmatch(r"[0-9a-f]{40}", revision):
        raise CodequarryError(f"--revision {revision} is a commit id; publish to a branch name (or refs/pr/N)")
    if layout not in LAYOUTS:
        raise CodequarryError(f"unknown --layout {layout!r}: use one of {', '.join(LAYOUTS)}")
    if split is not None and layout != "retrieval":
        raise CodequarryError("--split applies to --layout retrieval only (the pairs layout sends every split)")
    if commit_batch < 1 or max_retries < 0:
        raise CodequarryError("commit_batch must be ≥ 1 and max_retries ≥ 0")
    if not dry_run and api is None and hub_offline():
        raise CodequarryError(OFFLINE_MESSAGE)  # say so before minutes of verifying and packing
    pairs = PairsDir(pairs_dir, verify="none")  # verified in full just below
    try:
        pairs.verify()
    except CodequarryError as exc:
        raise CodequarryError(f"refusing to publish {pairs.path}: {exc}. Rebuild it (or restore the original files) "
                              "so that the data matches its manifest") from exc
    managed = RETRIEVAL_PREFIXES if layout == "retrieval" else MANAGED_PREFIXES
    with contextlib.ExitStack() as stack:
        if out is None:
            root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="codequarry-publish-"))) / "upload"
        else:
            root = Path(out)
        if layout == "retrieval":
            folder = build_retrieval_folder(pairs, root, split=split, title=pretty_name)
        else:
            card = render_card(pairs, repo_id=repo_id, pretty_name=pretty_name, license=license)
            folder = build_upload_folder(pairs, root, card_text=card, max_shard_bytes=max_shard_bytes,
                                         row_group_bytes=row_group_bytes, include_exclusions=include_exclusions)
        kept = root if out is not None else None
        if dry_run:
            adds, deletes, _ = plan_operations(folder, {}, managed=managed)
            commits = group_commits(adds, deletes, commit_batch, managed=managed)
            return PublishReport(repo_id, revision, True, kept, folder.files, tuple(tuple(c) for c in commits),
                                 warnings=folder.warnings)
        if api is None:
            from huggingface_hub import HfApi

            api = HfApi(token=token)
        hub = _Hub(api, repo_id, revision, token, max_retries, sleep)
        hub.create_repo(private)
        sent: list[tuple[Operation, ...]] = []
        ids: list[str] = []
        unchanged: list[str] = []
        conflicts = 0
        while True:
            head, remote = hub.state()
            adds, deletes, unchanged_now = plan_operations(folder, remote, managed=managed)
            if not sent:
                unchanged = unchanged_now
            commits = group_commits(adds, deletes, commit_batch, managed=managed)
            try:
                for i, ops in enumerate(commits, 1):
                    part = f" ({i}/{len(commits)})" if len(commits) > 1 else ""
                    shape = " (retrieval layout)" if layout == "retrieval" else ""
                    message = f"Publish {pairs.path.name}{shape} with codequarry {__version__}{part}"
                    description = (f"Content fingerprint {pairs.fingerprint}; {sum(o.kind == 'add' for o in ops)} add(s), "
                                   f"{sum(o.kind == 'delete' for o in ops)} delete(s).")
                    oid = hub.commit(ops, folder, parent=head, message=message, description=description)
                    sent.append(tuple(ops))
                    ids.append(oid or "")
                    head = oid or head
            except _Conflict:
                conflicts += 1
                if conflicts > max_retries:
                    raise CodequarryError(f"{repo_id} kept changing while publishing ({conflicts} conflicting commits, "
                                          "HTTP 409/412); rerun the same command when other pushes are done") from None
                hub.waits.append(("committing to", "HTTP 409/412 (branch moved)", 0.0))
                continue
            break
        return PublishReport(repo_id, revision, False, kept, folder.files, tuple(sent), tuple(ids), tuple(unchanged),
                             tuple(hub.waits), folder.warnings)
