"""Safe archives: members that would land outside the target are refused (error or counted skip)."""

from __future__ import annotations

import io
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest

from codequarry.builders._io import discover
from codequarry.errors import CodequarryError
from codequarry.releases import archive as _archive


def _zip(path: Path, members: list[tuple[str, bytes, int | None]]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data, mode in members:
            info = zipfile.ZipInfo(name)
            if mode is not None:
                info.external_attr = mode << 16
            zf.writestr(info, data)
    return path


def _tar(path: Path, members: list[tarfile.TarInfo | tuple[str, bytes]]) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for m in members:
            if isinstance(m, tarfile.TarInfo):
                tf.addfile(m)
            else:
                info = tarfile.TarInfo(m[0])
                info.size = len(m[1])
                tf.addfile(info, io.BytesIO(m[1]))
    return path


def _link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


@pytest.fixture
def evil_zip(tmp_path):
    return _zip(tmp_path / "evil.zip", [
        ("ok/a.txt", b"fine", None),
        ("../escape.txt", b"x", None),
        ("/abs.txt", b"x", None),
        ("ok/../../escape2.txt", b"x", None),
        ("C:/windows.txt", b"x", None),
        ("lnk", b"../../outside", stat.S_IFLNK | 0o777),
        ("dev", b"", stat.S_IFCHR | 0o600),
    ])


@pytest.fixture
def evil_tar(tmp_path):
    fifo = tarfile.TarInfo("pipe")
    fifo.type = tarfile.FIFOTYPE
    dev = tarfile.TarInfo("disk")
    dev.type = tarfile.BLKTYPE
    return _tar(tmp_path / "evil.tar.gz", [
        ("ok/a.txt", b"fine"),
        _link("inside", "ok/a.txt"),
        _link("etc", "/etc/passwd"),
        _link("up", "ok/../.."),
        _link("hard", "../../x", tarfile.LNKTYPE),
        _link("hard_ok", "ok/a.txt", tarfile.LNKTYPE),
        fifo,
        dev,
        ("../../tar-escape.txt", b"x"),
    ])


def test_unsafe_reason_rules():
    M = _archive.Member
    assert _archive.unsafe_reason(M("a/b.txt", "file")) is None
    assert _archive.unsafe_reason(M("/etc/passwd", "file")) == "absolute_path"
    assert _archive.unsafe_reason(M("\\\\server\\x", "file")) == "absolute_path"
    assert _archive.unsafe_reason(M("D:\\x", "file")) == "absolute_path"
    assert _archive.unsafe_reason(M("a/../../b", "file")) == "path_traversal"
    assert _archive.unsafe_reason(M("a\\..\\..\\b", "file")) == "path_traversal"
    assert _archive.unsafe_reason(M("", "file")) == "bad_name"
    assert _archive.unsafe_reason(M("l", "symlink", linkname="a/../..")) == "link_outside"
    assert _archive.unsafe_reason(M("d/l", "symlink", linkname="../x")) is None  # d/../x = x, inside
    assert _archive.unsafe_reason(M("d/l", "symlink", linkname="../../x")) == "link_outside"
    assert _archive.unsafe_reason(M("h", "hardlink", linkname="d/x")) is None
    assert _archive.unsafe_reason(M("dev", "special")) == "special_file"


def test_zip_extract_refuses_on_first_unsafe_member(tmp_path, evil_zip):
    target = tmp_path / "out" / "deep"
    with pytest.raises(CodequarryError, match="refused"):
        _archive.extract(evil_zip, target)
    assert not (tmp_path / "out" / "escape.txt").exists()
    assert not Path("/abs.txt").exists()


def test_zip_extract_skip_mode_counts_every_unsafe_member(tmp_path, evil_zip):
    target = tmp_path / "out" / "deep"
    result = _archive.extract(evil_zip, target, on_unsafe="skip")
    assert sorted(result.skipped) == sorted([
        ("../escape.txt", "path_traversal"), ("/abs.txt", "absolute_path"),
        ("ok/../../escape2.txt", "path_traversal"), ("C:/windows.txt", "absolute_path"),
        ("lnk", "link_outside"), ("dev", "special_file"),
    ])
    assert [p.relative_to(target).as_posix() for p in result.files] == ["ok/a.txt"]
    assert (target / "ok" / "a.txt").read_bytes() == b"fine"
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert written == ["evil.zip", "out/deep/ok/a.txt"]


def test_tar_extract_skip_mode(tmp_path, evil_tar):
    target = tmp_path / "t"
    result = _archive.extract(evil_tar, target, on_unsafe="skip")
    assert dict(result.skipped) == {"etc": "link_outside", "up": "link_outside", "hard": "link_outside",
                                    "pipe": "special_file", "disk": "special_file",
                                    "../../tar-escape.txt": "path_traversal"}
    assert (target / "inside").is_symlink() and (target / "inside").read_bytes() == b"fine"
    assert (target / "hard_ok").read_bytes() == b"fine"
    assert not (tmp_path.parent / "tar-escape.txt").exists()
    with pytest.raises(CodequarryError, match="link points outside"):
        _archive.extract(evil_tar, tmp_path / "t2")


def test_a_link_on_disk_cannot_carry_a_later_member_outside(tmp_path):
    """A safe-looking member under a folder that is already a symlink to elsewhere is refused."""
    target = tmp_path / "t"
    (target).mkdir()
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (target / "sub").symlink_to(outside)
    arch = _zip(tmp_path / "a.zip", [("sub/x.txt", b"x", None)])
    result = _archive.extract(arch, target, on_unsafe="skip")
    assert result.skipped == [("sub/x.txt", "link_outside")]
    assert not (outside / "x.txt").exists()


def test_corrupt_archive_is_a_clear_error(tmp_path):
    bad = tmp_path / "broken.zip"
    bad.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(CodequarryError, match="cannot read archive"):
        _archive.members(bad)


def test_reading_members_in_place_reports_unsafe_ones(tmp_path, evil_zip):
    inputs, bad = discover([evil_zip])
    assert [i.member for i in inputs] == ["ok/a.txt"]
    assert {b.reason for b in bad} == {"archive_path_traversal", "archive_absolute_path", "archive_link_outside",
                                       "archive_special_file"}
    assert len(bad) == 6
    with inputs[0].open() as fh:
        assert fh.read() == b"fine"
    with pytest.raises(CodequarryError):
        _archive.open_member(evil_zip, "../escape.txt")
