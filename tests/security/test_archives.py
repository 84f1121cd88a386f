"""Archives whose members repeat a name (issue 14 item 9): no copy is lost silently."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import warnings
import zipfile
from pathlib import Path

import pytest

from codequarry.builders._io import Bad, discover
from codequarry.errors import CodequarryError
from codequarry.releases import archive


def _record(name: str) -> bytes:
    rec = {"repo": "o/r", "path": "a.py", "func_name": name, "original_string": f"def {name}(): pass",
           "language": "python", "code": f"def {name}(): pass", "code_tokens": ["def", name], "docstring": "Doc.",
           "docstring_tokens": ["Doc", "."], "sha": "0" * 40, "url": f"https://github.com/o/r/blob/{'0' * 40}/a.py#L1-L2",
           "partition": "test"}
    return gzip.compress((json.dumps(rec) + "\n").encode())


def dup_zip(path: Path) -> Path:
    member = "python/final/jsonl/test/python_test_0.jsonl.gz"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns "Duplicate name" when writing the second copy
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr(member, _record("first"))
            zf.writestr(member, _record("second"))
            zf.writestr("python/final/jsonl/test/python_test_1.jsonl.gz", _record("third"))
    return path


def dup_tar(path: Path) -> Path:
    with tarfile.open(path, "w") as tf:
        for data in (b"one\n", b"two\n"):
            info = tarfile.TarInfo("d/x.txt")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def test_zip_lists_both_copies_of_a_repeated_name_as_unsafe(tmp_path):
    z = dup_zip(tmp_path / "python.zip")
    reasons = [(m.name.rsplit("/", 1)[-1], r) for m, r in archive.iter_members(z)]
    assert reasons == [("python_test_0.jsonl.gz", "duplicate_name"), ("python_test_0.jsonl.gz", "duplicate_name"),
                       ("python_test_1.jsonl.gz", None)]
    inputs, bad = discover([z])
    assert [i.filename for i in inputs] == ["python_test_1.jsonl.gz"]
    assert [b.reason for b in bad] == ["archive_duplicate_name"] * 2 and all(isinstance(b, Bad) for b in bad)


def test_reading_a_repeated_name_is_an_error_not_the_last_copy(tmp_path):
    z = dup_zip(tmp_path / "python.zip")
    with pytest.raises(CodequarryError, match="two or more members with this name"):
        archive.open_member(z, "python/final/jsonl/test/python_test_0.jsonl.gz")
    t = dup_tar(tmp_path / "x.tar")
    with pytest.raises(CodequarryError, match="two or more members with this name"):
        archive.open_member(t, "d/x.txt")


def test_extract_refuses_or_skips_every_copy(tmp_path):
    t = dup_tar(tmp_path / "x.tar")
    with pytest.raises(CodequarryError, match="d/x.txt"):
        archive.extract(t, tmp_path / "out1")
    result = archive.extract(t, tmp_path / "out2", on_unsafe="skip")
    assert result.skipped == [("d/x.txt", "duplicate_name"), ("d/x.txt", "duplicate_name")]
    assert not (tmp_path / "out2" / "d" / "x.txt").exists()


def test_codesearchnet_build_counts_both_copies_as_exclusions(tmp_path):
    from codequarry.builders import codesearchnet

    z = dup_zip(tmp_path / "python.zip")
    manifest = codesearchnet.build(tmp_path / "out", path=z)
    assert manifest["counts"]["written"] == 1 and manifest["counts"]["excluded"] == 2
    assert manifest["counts"]["exclusion_reasons"] == {"build/archive_duplicate_name": 2}


def test_csn_task_refuses_a_zip_with_a_repeated_member(tmp_path):
    from codequarry.benchmarks.tasks import get_task

    z = dup_zip(tmp_path / "python.zip")
    with pytest.raises(CodequarryError, match="two or more members with this name"):
        get_task("csn/python").load(z)


def test_extract_refuses_names_that_land_on_the_same_file(tmp_path):
    """'a/x.txt' and 'a//x.txt' are two members but one file on disk: extracting both would keep only the last."""
    z = tmp_path / "same.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("a/x.txt", b"first")
        zf.writestr("a//x.txt", b"second")
        zf.writestr("a/y.txt", b"kept")
    result = archive.extract(z, tmp_path / "out", on_unsafe="skip")
    assert sorted(result.skipped) == [("a//x.txt", "duplicate_name"), ("a/x.txt", "duplicate_name")]
    assert [p.name for p in result.files] == ["y.txt"] and not (tmp_path / "out" / "a" / "x.txt").exists()
    # read in place, by name, both are distinct and readable
    assert [r for _, r in archive.iter_members(z)] == [None, None, None]
