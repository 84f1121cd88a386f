"""Git plumbing for the ``repos`` source: clone, HEAD, remote → web URL, file listing, blame times.

Every call runs ``git`` with prompts disabled and the repository marked safe for this command
only, and turns failures into CodequarryError messages that say which repository and what to do.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from codequarry.errors import CodequarryError

_URL_RE = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|[\w.-]+@[\w.-]+:)", re.I)
_SCP_RE = re.compile(r"^(?:[\w.-]+@)?([\w.-]+):(?!//)(.+)$")
_HEADER_RE = re.compile(rb"^([0-9a-f]{40,64}) \d+ (\d+)(?: (\d+))?$")
_ZERO_SHA = re.compile(r"^0+$")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update({"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", "GIT_OPTIONAL_LOCKS": "0"})
    return env


def git_available() -> bool:
    return shutil.which("git") is not None


def run_git(args: list[str], cwd: str | os.PathLike[str] | None = None, *, check: bool = True,
            timeout: float | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run git (bytes in, bytes out); a missing git or a failing command raises CodequarryError."""
    if not git_available():
        raise CodequarryError("git is not installed or not on PATH; install git to read git repositories")
    safe = ["-c", f"safe.directory={Path(cwd).resolve()}"] if cwd is not None else []
    try:
        proc = subprocess.run(["git", *safe, *args], cwd=cwd, env=_env(), stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise CodequarryError(f"git {' '.join(args[:2])} timed out after {timeout} s in {cwd}") from exc
    if check and proc.returncode != 0:
        msg = proc.stderr.decode("utf-8", "replace").strip() or f"exit code {proc.returncode}"
        raise CodequarryError(f"git {' '.join(args[:2])} failed in {cwd or os.getcwd()}: {msg}")
    return proc


def is_clone_url(spec: str) -> bool:
    """True for something ``git clone`` fetches (https://, ssh://, file://, git@host:owner/name)."""
    return bool(_URL_RE.match(spec)) and not os.path.exists(spec)


def clone(url: str, dest: Path, *, depth: int | None = 1) -> Path:
    """``git clone`` a URL into ``dest`` (shallow when ``depth``); an existing clone there is reused as is."""
    if (dest / ".git").exists():
        return dest
    if dest.exists() and any(dest.iterdir()):
        raise CodequarryError(f"cannot clone {url} into {dest}: the folder exists and is not a git clone")
    dest.parent.mkdir(parents=True, exist_ok=True)
    args = ["clone", "--quiet", "--no-tags"]
    if depth:
        args += ["--depth", str(depth)]
    run_git([*args, "--", url, str(dest)], cwd=None)
    return dest


def clone_dir_name(url: str) -> str:
    """A folder name for a clone of ``url`` (host, owner and name, filesystem-safe)."""
    tail = re.sub(r"^[a-z][a-z0-9+.-]*://", "", url, flags=re.I)
    tail = re.sub(r"\.git/?$", "", tail.rstrip("/"))
    return re.sub(r"[^A-Za-z0-9._-]+", "_", tail).strip("_") or "repo"


@dataclass(frozen=True)
class GitInfo:
    """What the builder needs to know about a repository root."""

    root: Path
    sha: str | None
    remote: str | None
    shallow: bool


def is_repo_root(path: Path) -> bool:
    """True when ``path`` is the top of a git work tree (it holds ``.git``)."""
    return (path / ".git").exists()


def repo_info(root: Path) -> GitInfo:
    """HEAD commit, origin URL and shallowness of a repository (sha None for a repo without commits)."""
    head = run_git(["rev-parse", "--verify", "--quiet", "HEAD"], cwd=root, check=False)
    sha = head.stdout.decode().strip() or None if head.returncode == 0 else None
    remote = run_git(["config", "--get", "remote.origin.url"], cwd=root, check=False).stdout.decode().strip() or None
    shallow = run_git(["rev-parse", "--is-shallow-repository"], cwd=root, check=False).stdout.decode().strip() == "true"
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
    for which in (["--cached"], ["--others", "--exclude-standard"]):
        out = run_git(["ls-files", "-z", *which], cwd=root).stdout
        for raw in out.split(b"\0"):
            if raw:
                yield os.fsdecode(raw)


def blame_times(root: Path, path: str, *, shallow: bool) -> list[int | None]:
    """Committer time (epoch seconds) of the commit that last changed each line (index 0 = line 1).

    Uncommitted lines get their blame time (now). Lines blamed on a shallow clone's boundary
    commit get None: their true date is older than the history that was fetched.
    """
    args = ["blame", "--porcelain"] + ([] if shallow else ["--root"]) + ["--", path]
    out = run_git(args, cwd=root).stdout
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
