"""`build repos` on a repository whose own git config names commands: none of them may run.

Each case plants, in the repository's ``.git`` (or in a file its config includes), a setting git
would obey by running a program; the program writes a marker file. The build must succeed, give the
function, and leave no marker. Every build runs ``--since`` so that ``git blame`` runs too.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from codequarry.builders import _git, repos
from codequarry.errors import CodequarryError

pytestmark = pytest.mark.skipif(not _git.git_available(), reason="needs git")

_SOURCE = 'def area(r):\n    """Area of a circle."""\n    return 3.14159 * r * r\n'


def _git_run(repo: Path, *args: str) -> None:
    env = dict(os.environ, GIT_AUTHOR_NAME="T", GIT_AUTHOR_EMAIL="t@e", GIT_COMMITTER_NAME="T",
               GIT_COMMITTER_EMAIL="t@e", GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1",
               GIT_AUTHOR_DATE="2024-05-01T00:00:00+00:00", GIT_COMMITTER_DATE="2024-05-01T00:00:00+00:00")
    subprocess.run(["git", "-c", "init.defaultBranch=main", *args], cwd=repo, env=env, check=True, capture_output=True)


def _hostile_repo(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(repo, marker, evil script): a committed, then locally edited, documented function and a marker-writing program."""
    repo = tmp_path / "victim"
    repo.mkdir()
    _git_run(repo, "init", "-q")
    (repo / "geo.py").write_text(_SOURCE)
    (repo / ".gitattributes").write_text("*.py filter=evil diff=evil merge=evil\n")
    _git_run(repo, "add", ".")
    _git_run(repo, "commit", "-qm", "init")
    (repo / "geo.py").write_text(_SOURCE + "\n\ndef volume(r):\n    \"\"\"Volume of a ball.\"\"\"\n    return 4 * r ** 3\n")
    marker = tmp_path / "MARKER"
    evil = tmp_path / "evil.sh"
    evil.write_text(f"#!/bin/sh\necho \"$0 $*\" >> {marker}\ncat\n")
    evil.chmod(0o755)
    return repo, marker, evil


def _plant(repo: Path, text: str) -> None:
    with open(repo / ".git" / "config", "a") as fh:
        fh.write(text)


_EVIL = "{evil}"
CASES = {
    "core.fsmonitor": "[core]\n\tfsmonitor = {evil}\n",
    "filter.clean": "[filter \"evil\"]\n\tclean = {evil}\n\tsmudge = {evil}\n\trequired = false\n",
    "filter.process": "[filter \"evil\"]\n\tprocess = {evil}\n",
    "diff.textconv": "[diff \"evil\"]\n\ttextconv = {evil}\n\tcommand = {evil}\n",
    "diff.external": "[diff]\n\texternal = {evil}\n",
    "core.hooksPath": "[core]\n\thooksPath = {hooks}\n",
    "core.sshCommand": "[core]\n\tsshCommand = {evil}\n[remote \"origin\"]\n\turl = ssh://example.invalid/x\n",
    "core.pager": "[core]\n\tpager = {evil}\n[pager]\n\tblame = {evil}\n",
    "include.path": "[include]\n\tpath = {inc}\n",
    "includeIf": "[includeIf \"gitdir:/\"]\n\tpath = {inc}\n",
    "core.alternateRefsCommand": "[core]\n\talternateRefsCommand = {evil}\n",
}


@pytest.mark.parametrize("key", sorted(CASES))
def test_repository_config_runs_nothing(tmp_path, key):
    repo, marker, evil = _hostile_repo(tmp_path)
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    for name in ("post-index-change", "post-checkout", "pre-commit", "reference-transaction", "fsmonitor-watchman"):
        (hooks / name).write_text(f"#!/bin/sh\necho hook {name} >> {marker}\n")
        (hooks / name).chmod(0o755)
        (repo / ".git" / "hooks" / name).write_text((hooks / name).read_text())
        (repo / ".git" / "hooks" / name).chmod(0o755)
    inc = tmp_path / "included.cfg"
    inc.write_text(f"[core]\n\tfsmonitor = {evil}\n[filter \"evil\"]\n\tclean = {evil}\n[diff \"evil\"]\n\ttextconv = {evil}\n")
    _plant(repo, CASES[key].format(evil=evil, hooks=hooks, inc=inc))
    manifest = repos.build(tmp_path / "out", paths=[str(repo)], languages=["python"], since="2020-01-01")
    assert not marker.exists(), f"{key} ran: {marker.read_text()}"
    assert manifest["counts"]["written"] == 2  # the committed function and the uncommitted one
    info = _git.repo_info(repo)
    assert len(info.sha or "") == 40 and not marker.exists()


def test_git_itself_would_run_the_planted_command(tmp_path):
    """The hostile repository really is hostile: plain git (as the builder ran it before) runs the filter."""
    repo, marker, evil = _hostile_repo(tmp_path)
    _plant(repo, CASES["filter.clean"].format(evil=evil))
    _git_run(repo, "blame", "--porcelain", "--", "geo.py")
    assert marker.exists()


def test_ls_files_and_blame_see_the_repository(tmp_path):
    repo, _, _ = _hostile_repo(tmp_path)
    (repo / "notes.txt").write_text("untracked\n")
    (repo / "ignored.py").write_text("x = 1\n")
    (repo / ".git" / "info").mkdir(exist_ok=True)
    (repo / ".git" / "info" / "exclude").write_text("ignored.py\n")
    assert list(_git.ls_files(repo)) == [".gitattributes", "geo.py", "notes.txt"]
    times = _git.blame_times(repo, "geo.py", shallow=False)
    assert times[:3] == [1714521600] * 3 and len(times) == 8


def test_pointer_file_and_packed_refs(tmp_path):
    """A .git pointer file (as submodules and worktrees use) and a HEAD held only in packed-refs are read as data."""
    repo, _, _ = _hostile_repo(tmp_path)
    _git_run(repo, "pack-refs", "--all")
    sha = (repo / ".git" / "packed-refs").read_text().split()[-2]
    elsewhere = tmp_path / "store.git"
    (repo / ".git").rename(elsewhere)
    (repo / ".git").write_text(f"gitdir: {elsewhere}\n")
    assert _git.repo_info(repo).sha == sha
    assert "geo.py" in list(_git.ls_files(repo))


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the repository to another user")
def test_repository_owned_by_another_user_is_refused(tmp_path, monkeypatch):
    repo, _, _ = _hostile_repo(tmp_path)
    for dirpath, _, files in os.walk(repo):
        os.chown(dirpath, 4242, 4242)
        for f in files:
            os.chown(os.path.join(dirpath, f), 4242, 4242)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.delenv("GIT_CONFIG_GLOBAL", raising=False)
    with pytest.raises(CodequarryError, match="owned by another user.*safe.directory"):
        repos.build(tmp_path / "out", paths=[str(repo)], languages=["python"])
    # the user's own git config can opt in, as with git itself
    (home / ".gitconfig").write_text(f"[safe]\n\tdirectory = {repo.resolve()}\n")
    manifest = repos.build(tmp_path / "out2", paths=[str(repo)], languages=["python"])
    assert manifest["counts"]["written"] == 2


def test_cloning_a_hostile_repository_runs_nothing(tmp_path):
    """A clone URL (file://) of a repository carrying every hostile key: neither clone, checkout nor build runs one."""
    repo, marker, evil = _hostile_repo(tmp_path)
    _git_run(repo, "add", "-A")
    _git_run(repo, "commit", "-qm", "second")
    inc = tmp_path / "included.cfg"
    inc.write_text(f"[core]\n\tfsmonitor = {evil}\n")
    for key, text in CASES.items():
        if key not in ("core.hooksPath", "core.sshCommand"):
            _plant(repo, text.format(evil=evil, hooks=tmp_path, inc=inc))
    manifest = repos.build(tmp_path / "out", paths=[repo.as_uri()], languages=["python"], since="2020-01-01",
                           clone_dir=tmp_path / "clones")
    assert not marker.exists(), marker.read_text()
    assert manifest["counts"]["written"] == 2
