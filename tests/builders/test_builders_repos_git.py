"""Git plumbing of `build repos`: remote URLs → repo names and web links, blame times, shallow boundaries."""

from __future__ import annotations

import os
import subprocess

import pytest

from codequarry.builders import _git
from codequarry.errors import CodequarryError


@pytest.mark.parametrize("remote,expected", [
    ("https://github.com/acme/widgets.git", ("acme/widgets", "https://github.com/acme/widgets")),
    ("https://github.com/acme/widgets", ("acme/widgets", "https://github.com/acme/widgets")),
    ("git@github.com:acme/widgets.git", ("acme/widgets", "https://github.com/acme/widgets")),
    ("ssh://git@github.com/acme/widgets.git", ("acme/widgets", "https://github.com/acme/widgets")),
    ("https://user:token@GitHub.com/acme/widgets.git/", ("acme/widgets", "https://github.com/acme/widgets")),
    ("https://gitlab.com/group/sub/proj.git", ("sub/proj", "https://gitlab.com/group/sub/proj")),
    ("ssh://git@example.org:2222/team/tool.git", ("team/tool", "https://example.org/team/tool")),
    ("file:///srv/git/tool.git", ("tool", None)),
    ("/srv/git/tool", ("tool", None)),
    ("../sibling", ("sibling", None)),
    (None, (None, None)),
])
def test_remote_web(remote, expected):
    assert _git.remote_web(remote) == expected


def test_clone_url_detection(tmp_path):
    assert _git.is_clone_url("https://github.com/a/b") and _git.is_clone_url("git@github.com:a/b.git")
    assert _git.is_clone_url("file:///tmp/x") and not _git.is_clone_url(str(tmp_path))
    assert not _git.is_clone_url("relative/folder")
    assert _git.clone_dir_name("https://github.com/a/b.git") == "github.com_a_b"


def _git_run(repo, *args, date=None):
    env = dict(os.environ, GIT_AUTHOR_NAME="T", GIT_AUTHOR_EMAIL="t@e", GIT_COMMITTER_NAME="T",
               GIT_COMMITTER_EMAIL="t@e", GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")
    if date:
        env.update(GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
    subprocess.run(["git", "-c", "init.defaultBranch=main", *args], cwd=repo, env=env, check=True, capture_output=True)


def test_blame_times_full_and_shallow(tmp_path):
    repo = tmp_path / "r"
    repo.mkdir()
    _git_run(repo, "init", "-q")
    (repo / "a.py").write_text("one\ntwo\n")
    _git_run(repo, "add", "a.py")
    _git_run(repo, "commit", "-qm", "1", date="2020-01-01T00:00:00+00:00")
    (repo / "a.py").write_text("one\nTWO\nthree\n")
    _git_run(repo, "commit", "-qam", "2", date="2024-01-01T00:00:00+00:00")
    old, new = 1577836800, 1704067200
    assert _git.blame_times(repo, "a.py", shallow=False) == [old, new, new]
    info = _git.repo_info(repo)
    assert not info.shallow and len(info.sha) == 40 and info.remote is None
    clone = _git.clone(repo.as_uri(), tmp_path / "c", depth=1)
    assert _git.repo_info(clone).shallow
    # in a one-commit shallow clone every line is blamed on the boundary: its true date is unknown
    assert _git.blame_times(clone, "a.py", shallow=True) == [None, None, None]
    (repo / "a.py").write_text("one\nTWO\nthree\nfour\n")  # an uncommitted line is new
    assert _git.blame_times(repo, "a.py", shallow=False)[3] > new
    with pytest.raises(CodequarryError, match="no such path"):
        _git.blame_times(repo, "missing.py", shallow=False)
    assert sorted(_git.ls_files(repo)) == ["a.py"]
