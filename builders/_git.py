"""Git plumbing for the ``repos`` source: clone, HEAD, remote → web URL, file listing, blame times.

A repository handed to ``build repos`` is untrusted, and so is its ``.git`` folder: its config can
name commands (``core.fsmonitor``, ``filter.*.clean``, ``diff.*.textconv``, ``core.hooksPath``,
``include``/``includeIf`` chains …) that git would run. So git never sees that config. Every command
on an existing repository runs against a *sandbox* git dir that this module writes: our own minimal
config, HEAD resolved by reading the refs as data, the repository's objects reached through
``objects/info/alternates``, its ``shallow`` list and ``info/exclude`` copied as data, and its index
read through ``GIT_INDEX_FILE``. The system and global configs are switched off as well
(``GIT_CONFIG_NOSYSTEM``, ``GIT_CONFIG_GLOBAL``), hooks point at /dev/null, the fsmonitor is off and
blame runs with ``--no-textconv``. Values the builder needs from the repository's config (the
origin URL, the object format) are read with ``git config --file``, which parses the file and runs
nothing. A repository owned by another user is refused as git refuses it, unless the user's own
``safe.directory`` setting trusts it. Failures become CodequarryError messages that say which
repository and what to do.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from codequarry.errors import CodequarryError

_URL_RE = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|[\w.-]+@[\w.-]+:)", re.I)
_SCP_RE = re.compile(r"^(?:[\w.-]+@)?([\w.-]+):(?!//)(.+)$")
_HEADER_RE = re.compile(rb"^([0-9a-f]{40,64}) \d+ (\d+)(?: (\d+))?$")
_SHA_RE = re.compile(r"^[0-9a-f]{40}(?:[0-9a-f]{24})?$")
_REF_RE = re.compile(r"^refs/[A-Za-z0-9._/@+-]+$")
_SMALL_FILE = 1 << 16  # HEAD, a loose ref, a .git pointer file
_DATA_FILE = 64 << 20  # packed-refs, shallow, info/exclude: copied or read as data, never more than this
# inherited variables that would point git somewhere else than the sandbox, or feed it config
_DROPPED_ENV = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR", "GIT_OBJECT_DIRECTORY",
                "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_CONFIG", "GIT_CONFIG_PARAMETERS", "GIT_CONFIG_COUNT",
                "GIT_NAMESPACE", "GIT_CEILING_DIRECTORIES", "GIT_DISCOVERY_ACROSS_FILESYSTEM", "GIT_EXTERNAL_DIFF",
                "GIT_PAGER", "GIT_EDITOR", "GIT_SEQUENCE_EDITOR", "GIT_REPLACE_REF_BASE")
# command-line config outranks every file git could still read: belt and braces over the sandbox
_HARDEN = ("-c", "core.fsmonitor=false", "-c", f"core.hooksPath={os.devnull}", "-c", "core.untrackedCache=false",
           "-c", "protocol.ext.allow=never")


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED_ENV and not k.startswith("GIT_CONFIG_")}
    env.update({"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", "GIT_OPTIONAL_LOCKS": "0",
                "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_ATTR_NOSYSTEM": "1",
                "GIT_NO_REPLACE_OBJECTS": "1", "GIT_ALLOW_PROTOCOL": "https:http:ssh:git:file"})
    env.update(extra or {})
    return env


def git_available() -> bool:
    return shutil.which("git") is not None


def run_git(args: list[str], cwd: str | os.PathLike[str] | None = None, *, check: bool = True,
            timeout: float | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run git with the global/system config off and hooks/fsmonitor disabled (bytes in, bytes out).

    ``env`` adds variables (the sandbox's ``GIT_DIR`` …); a missing git or a failing command raises
    CodequarryError. Commands on an existing repository go through ``sandbox`` instead of a ``cwd``
    inside it, so that the repository's own config is never read.
    """
    if not git_available():
        raise CodequarryError("git is not installed or not on PATH; install git to read git repositories")
    try:
        proc = subprocess.run(["git", *_HARDEN, *args], cwd=cwd, env=_env(env), stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise CodequarryError(f"git {' '.join(args[:2])} timed out after {timeout} s in {cwd}") from exc
    if check and proc.returncode != 0:
        msg = proc.stderr.decode("utf-8", "replace").strip() or f"exit code {proc.returncode}"
        where = (env or {}).get("GIT_WORK_TREE") or cwd or os.getcwd()
        raise CodequarryError(f"git {' '.join(args[:2])} failed in {where}: {msg}")
    return proc


def is_clone_url(spec: str) -> bool:
    """True for something ``git clone`` fetches (https://, ssh://, file://, git@host:owner/name)."""
    return bool(_URL_RE.match(spec)) and not os.path.exists(spec)


def clone(url: str, dest: Path, *, depth: int | None = 1) -> Path:
    """``git clone`` a URL into ``dest`` (shallow when ``depth``); an existing clone there is reused as is.

    The clone gets no hooks and no filters (our config is empty), so checking the files out runs
    nothing from the fetched repository; a reused clone's config is never read (see ``sandbox``).
    """
    if (dest / ".git").exists():
        return dest
    if dest.exists() and any(dest.iterdir()):
        raise CodequarryError(f"cannot clone {url} into {dest}: the folder exists and is not a git clone")
    dest.parent.mkdir(parents=True, exist_ok=True)
    args = ["clone", "--quiet", "--no-tags", "--no-recurse-submodules"]
    if depth:
        args += ["--depth", str(depth)]
    run_git([*args, "--", url, str(dest)], cwd=None)
    return dest


def clone_dir_name(url: str) -> str:
    """A folder name for a clone of ``url`` (host, owner and name, filesystem-safe)."""
    tail = re.sub(r"^[a-z][a-z0-9+.-]*://", "", url, flags=re.I)
    tail = re.sub(r"\.git/?$", "", tail.rstrip("/"))
    return re.sub(r"[^A-Za-z0-9._-]+", "_", tail).strip("_") or "repo"


# --------------------------------------------------------------------------------------------
# reading a repository's git dir as data


@dataclass(frozen=True)
class GitInfo:
    """What the builder needs to know about a repository root."""

    root: Path
    sha: str | None
    remote: str | None
    shallow: bool


@dataclass(frozen=True)
class GitDirs:
    """Where a work tree's git data lives: its own git dir (HEAD, index) and the common dir (objects, refs)."""

    gitdir: Path
    common: Path


def is_repo_root(path: Path) -> bool:
    """True when ``path`` is the top of a git work tree (it holds ``.git``)."""
    return os.path.lexists(path / ".git")


def _read_small(path: Path, limit: int = _SMALL_FILE) -> str | None:
    """A small regular file's text (no link followed); None when it is absent."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CodequarryError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise CodequarryError(f"{path} is not a regular file; this git repository cannot be read safely")
    if st.st_size > limit:
        raise CodequarryError(f"{path} is larger than {limit:,} bytes; this git repository cannot be read safely")
    with open(path, "rb") as fh:
        return fh.read(limit).decode("utf-8", "replace")


def git_dirs(root: Path) -> GitDirs:
    """The git dir and common dir of the work tree at ``root``, following a ``.git`` pointer file by reading it."""
    dotgit = root / ".git"
    try:
        st = os.lstat(dotgit)
    except OSError as exc:
        raise CodequarryError(f"{root} is not a git repository: {exc.strerror or exc}") from None
    if stat.S_ISLNK(st.st_mode):
        raise CodequarryError(f"{dotgit} is a symbolic link; codequarry does not follow it. Give the repository "
                              "it points to, or copy the files and build the copy as a plain folder")
    if stat.S_ISDIR(st.st_mode):
        gitdir = dotgit
    else:
        text = _read_small(dotgit) or ""
        if not text.startswith("gitdir: "):
            raise CodequarryError(f"{dotgit} is neither a folder nor a 'gitdir:' pointer file")
        gitdir = (root / text[len("gitdir: "):].strip()).resolve()
        if not gitdir.is_dir():
            raise CodequarryError(f"{dotgit} points to {gitdir}, which is not a folder")
    pointer = _read_small(gitdir / "commondir")
    common = (gitdir / pointer.strip()).resolve() if pointer else gitdir
    if os.path.lexists(common / "reftable"):
        raise CodequarryError(f"{root}: reftable repositories are not supported; build a clone made with "
                              "the default ref storage, or the files as a plain folder")
    return GitDirs(gitdir=gitdir, common=common)


def _head_sha(dirs: GitDirs) -> str | None:
    """HEAD's commit id, read from HEAD, a loose ref or packed-refs (None for a branch without commits)."""
    head = (_read_small(dirs.gitdir / "HEAD") or "").strip()
    if _SHA_RE.match(head):
        return head
    for _ in range(5):  # a symbolic ref may point to another one
        if not head.startswith("ref: "):
            return None
        ref = head[len("ref: "):].strip()
        if not _REF_RE.match(ref) or ".." in ref.split("/"):
            raise CodequarryError(f"{dirs.gitdir}/HEAD names {ref!r}, which is not a valid ref")
        base = dirs.gitdir if ref.startswith(("refs/bisect/", "refs/worktree/")) else dirs.common
        loose = _read_small(base / ref)
        if loose is not None:
            head = loose.strip()
            if _SHA_RE.match(head):
                return head
            continue
        return _packed_ref(dirs.common / "packed-refs", ref)
    return None


def _packed_ref(path: Path, ref: str) -> str | None:
    text = _read_small(path, _DATA_FILE)
    for line in (text or "").splitlines():
        sha, _, name = line.partition(" ")
        if name == ref and _SHA_RE.match(sha):
            return sha
    return None


def config_value(dirs: GitDirs, key: str) -> str | None:
    """One value of the repository's config file, parsed by ``git config --file`` (no includes, nothing run)."""
    path = dirs.common / "config"
    try:
        st = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return _config_value(str(path), key, (st.st_ino, st.st_size, st.st_mtime_ns))


@lru_cache(maxsize=256)
def _config_value(path: str, key: str, version: tuple[int, int, int]) -> str | None:
    """``config_value`` for one version of the file (``version``: inode, size, mtime): blame asks once per file."""
    proc = run_git(["config", "--file", path, "--no-includes", "--get", key], check=False)
    return proc.stdout.decode("utf-8", "replace").strip() or None


def check_owner(root: Path, dirs: GitDirs | None = None, *, uid: int | None = None) -> None:
    """Refuse a repository owned by another user, as git does, unless the user's ``safe.directory`` trusts it."""
    uid = os.geteuid() if uid is None else uid
    dirs = dirs or git_dirs(root)
    paths = [root, root / ".git", dirs.gitdir]
    owners = {p: os.lstat(p).st_uid for p in paths}
    foreign = [p for p, owner in owners.items() if owner != uid]
    if not foreign or _trusted(root):
        return
    raise CodequarryError(
        f"{root} is a git repository owned by another user (uid {owners[foreign[0]]}); git refuses to use such "
        "repositories and so does codequarry. If you trust it, mark it safe in your own git config: "
        f"git config --global --add safe.directory {root}")


def _trusted(root: Path) -> bool:
    """True when the user's own (global or system) git config lists ``root`` or ``*`` under safe.directory."""
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED_ENV}
    try:
        proc = subprocess.run(["git", "config", "--get-all", "safe.directory"], cwd=tempfile.gettempdir(), env=env,
                              stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    values = proc.stdout.decode("utf-8", "replace").splitlines()
    wanted = {str(root), str(root.resolve()), "*"}
    return any(v.strip() in wanted for v in values)


_BOXES: dict[tuple[int, str], Path] = {}
_WRITTEN: dict[Path, str | None] = {}  # what this process last wrote to each sandbox file (None: absent)


def _put(path: Path, text: str | None) -> None:
    """Make a sandbox file hold ``text`` (None: no file), writing only when it changes (opens are slow on some filesystems)."""
    if _WRITTEN.get(path, "") == text and (text is None) != path.exists():
        return
    if text is None:
        if path.exists():
            path.unlink()
    else:
        path.write_text(text, encoding="utf-8")
    _WRITTEN[path] = text


def _box_for(root: Path) -> Path:
    """This process's sandbox folder for ``root``, made once and removed when the process exits.

    Re-used across calls (blame runs once per file): making and removing folders costs more than
    the git command on some filesystems. Keyed by process id, so forked workers never share one.
    """
    key = (os.getpid(), str(root))
    box = _BOXES.get(key)
    if box is None or not box.is_dir():
        from multiprocessing import util

        box = Path(tempfile.mkdtemp(prefix="codequarry-git-"))
        util.Finalize(None, shutil.rmtree, args=(str(box),), kwargs={"ignore_errors": True}, exitpriority=0)
        (box / "refs").mkdir()
        (box / "objects" / "info").mkdir(parents=True)
        (box / "info").mkdir()
        _BOXES[key] = box
    return box


@contextmanager
def sandbox(root: Path) -> Iterator[dict[str, str]]:
    """Environment variables that run git on ``root``'s work tree and objects without its git config.

    The sandbox git dir holds our config, a detached HEAD at the repository's HEAD commit, an
    alternates file naming the repository's object store, and copies of ``shallow`` and
    ``info/exclude``; hooks, config includes and per-repository commands therefore do not exist
    for git. The index is the repository's own, read in place. Each call refreshes every file
    from the repository, so a new commit or a changed exclude list is seen.
    """
    dirs = git_dirs(root)
    sha = _head_sha(dirs)
    fmt = config_value(dirs, "extensions.objectformat")
    if fmt and fmt not in ("sha1", "sha256"):
        raise CodequarryError(f"{root}: unknown git object format {fmt!r}")
    box = _box_for(root)
    _put(box / "objects" / "info" / "alternates", str(dirs.common.resolve() / "objects") + "\n")
    _put(box / "HEAD", f"{sha}\n" if sha else "ref: refs/heads/unborn\n")
    config = f"[core]\n\trepositoryformatversion = {1 if fmt else 0}\n\tbare = false\n"
    if fmt:
        config += f"[extensions]\n\tobjectformat = {fmt}\n"
    _put(box / "config", config)
    _put(box / "shallow", _read_small(dirs.common / "shallow", _DATA_FILE))
    _put(box / "info" / "exclude", _read_small(dirs.common / "info" / "exclude", _DATA_FILE))
    index = dirs.gitdir / "index"
    yield {"GIT_DIR": str(box), "GIT_WORK_TREE": str(root),
           "GIT_INDEX_FILE": str(index) if os.path.isfile(index) and not os.path.islink(index) else str(box / "index")}


def repo_info(root: Path) -> GitInfo:
    """HEAD commit, origin URL and shallowness of a repository (sha None for a repo without commits)."""
    dirs = git_dirs(root)
    check_owner(root, dirs)
    with sandbox(root) as env:
        head = run_git(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], cwd=root, env=env, check=False)
    sha = head.stdout.decode().strip() or None if head.returncode == 0 else None
    remote = config_value(dirs, "remote.origin.url")
    shallow = os.path.isfile(dirs.common / "shallow") and os.path.getsize(dirs.common / "shallow") > 0
    return GitInfo(root=root, sha=sha, remote=remote, shallow=shallow)


def remote_web(remote: str | None) -> tuple[str | None, str | None]:
    """(``owner/name``, web base URL for ``/blob/`` links) of a remote URL; (None, None) when it has no web form.

    https://github.com/o/n(.git), git@github.com:o/n.git and ssh://git@github.com/o/n all give
    ("o/n", "https://github.com/o/n"); other http(s) and ssh hosts give ``https://host/path``
    (GitLab and Gitea serve ``/blob/`` there too); file:// and local paths give (name, None).
    """
    if not remote:
        return None, None
    url = remote.strip()
    host = path = None
    m = re.match(r"^(?:https?|ssh|git)://(?:[^@/]+@)?([^/:]+)(?::\d+)?/(.+)$", url, re.I)
    if m:
        host, path = m.group(1), m.group(2)
    else:
        m = _SCP_RE.match(url)
        if m and "/" not in m.group(1) and not url.startswith(("/", ".", "file:")):
            host, path = m.group(1), m.group(2)
    if host is None or path is None:
        name = re.sub(r"\.git/?$", "", url.rstrip("/")).rsplit("/", 1)[-1]
        return (name or None), None
    path = re.sub(r"\.git/?$", "", path.strip("/"))
    parts = [p for p in path.split("/") if p]
    if not parts:
        return None, None
    repo = "/".join(parts[-2:]) if len(parts) >= 2 else parts[0]
    return repo, f"https://{host.lower()}/{'/'.join(parts)}"


def ls_files(root: Path) -> Iterator[str]:
    """Tracked files (index order), then untracked files that .gitignore does not exclude, as POSIX paths."""
    with sandbox(root) as env:
        outs = [run_git(["ls-files", "-z", *which], cwd=root, env=env).stdout
                for which in (["--cached"], ["--others", "--exclude-standard"])]
    for out in outs:
        for raw in out.split(b"\0"):
            if raw:
                yield os.fsdecode(raw)


def blame_times(root: Path, path: str, *, shallow: bool) -> list[int | None]:
    """Committer time (epoch seconds) of the commit that last changed each line (index 0 = line 1).

    Uncommitted lines get their blame time (now). Lines blamed on a shallow clone's boundary
    commit get None: their true date is older than the history that was fetched.
    """
    args = ["blame", "--porcelain", "--no-textconv"] + ([] if shallow else ["--root"]) + ["--", path]
    with sandbox(root) as env:
        out = run_git(args, cwd=root, env=env).stdout
    times: dict[bytes, int | None] = {}
    boundary: set[bytes] = set()
    lines: list[int | None] = []
    order: list[tuple[int, bytes]] = []
    current: bytes | None = None
    for line in out.split(b"\n"):
        if line.startswith(b"\t") or not line:
            continue
        m = _HEADER_RE.match(line)
        if m:
            current = m.group(1)
            order.append((int(m.group(2)), current))
            continue
        if current is None:
            continue
        if line.startswith(b"committer-time "):
            times[current] = int(line.split()[1])
        elif line == b"boundary":
            boundary.add(current)
    if not order:
        return lines
    lines = [None] * max(n for n, _ in order)
    for n, sha in order:
        lines[n - 1] = None if sha in boundary else times.get(sha)
    return lines
