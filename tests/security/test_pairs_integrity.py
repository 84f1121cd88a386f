"""Every reader of a pairs dir checks it against its manifest (issue 14 item 7): `clean` and `bench`
refuse edited rows, a changed shard or schema, a deleted shard, a malformed manifest and a shard path
leading outside the dir, each with a one-line error and exit status 2; `--verify full` also catches a
forger who updated the manifest's hashes."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from codequarry.cli import main
from codequarry.errors import CodequarryError
from codequarry.pairs import MANIFEST_NAME, PairsDir, PairsWriter, SourceInfo

WORDS = ["parse", "render", "merge", "split", "sort", "load", "dump", "scan"]


def _pairs(path: Path) -> Path:
    rows = [{"id": f"r{i}", "query": f"{w} the given records", "language": "python",
             "code": f"def {w}_records(rs):\n    return [r for r in rs if r]\n"} for i, w in enumerate(WORDS)]
    with PairsWriter(path, created_by="pytest", sources=[SourceInfo("t", license="MIT")], max_shard_rows=3) as w:
        w.write(rows, split="test")
    return path


def _manifest(d: Path) -> dict:
    return json.loads((d / MANIFEST_NAME).read_text())


def _save(d: Path, manifest: object) -> None:
    (d / MANIFEST_NAME).write_text(json.dumps(manifest))


def _rewrite(shard: Path, table: pa.Table, d: Path, *, update_manifest: bool) -> None:
    pq.write_table(table, shard)
    if update_manifest:  # a careful forger: the manifest's hash and size follow the edit
        m = _manifest(d)
        for e in m["files"]:
            if d / e["path"] == shard:
                e["sha256"] = hashlib.sha256(shard.read_bytes()).hexdigest()
                e["bytes"] = shard.stat().st_size
        _save(d, m)


def _first_shard(d: Path) -> Path:
    return d / _manifest(d)["files"][0]["path"]


def edited_rows(d: Path) -> None:
    shard = _first_shard(d)
    t = pq.read_table(shard)
    q = t.column("query").to_pylist()
    q[0] = "tampered"
    _rewrite(shard, t.set_column(t.schema.get_field_index("query"), "query", pa.array(q, pa.string())), d,
             update_manifest=False)


def changed_schema(d: Path) -> None:
    shard = _first_shard(d)
    t = pq.read_table(shard)
    _rewrite(shard, t.append_column("extra", pa.array(["x"] * t.num_rows)), d, update_manifest=True)


def deleted_shard(d: Path) -> None:
    _first_shard(d).unlink()


def manifest_is_a_list(d: Path) -> None:
    _save(d, [_manifest(d)])


def manifest_without_files(d: Path) -> None:
    m = _manifest(d)
    del m["files"]
    _save(d, m)


def path_outside(d: Path) -> None:
    outside = d.parent / "outside.parquet"
    outside.write_bytes(_first_shard(d).read_bytes())
    m = _manifest(d)
    m["files"][0]["path"] = "data/../../outside.parquet"
    _save(d, m)


def symlink_outside(d: Path) -> None:
    shard = _first_shard(d)
    outside = d.parent / "elsewhere.parquet"
    outside.write_bytes(shard.read_bytes())
    shard.unlink()
    shard.symlink_to(outside)


def absolute_path(d: Path) -> None:
    m = _manifest(d)
    m["files"][0]["path"] = str(_first_shard(d).resolve())
    _save(d, m)


def split_counts_lie(d: Path) -> None:
    m = _manifest(d)
    m["splits"]["python"]["test"] += 5
    _save(d, m)


def rows_count_lies(d: Path) -> None:
    m = _manifest(d)
    m["files"][0]["rows"] += 1
    m["splits"]["python"]["test"] += 1
    _save(d, m)


def manifest_is_a_link(d: Path) -> None:
    outside = d.parent / "elsewhere.json"
    outside.write_bytes((d / MANIFEST_NAME).read_bytes())
    (d / MANIFEST_NAME).unlink()
    (d / MANIFEST_NAME).symlink_to(outside)


def manifest_nested_deeply(d: Path) -> None:
    (d / MANIFEST_NAME).write_text("[" * 100_000 + "]" * 100_000)


def manifest_not_utf8(d: Path) -> None:
    (d / MANIFEST_NAME).write_bytes(b'{"format_version": 1, "x": "\xff"}')


def config_name_escapes(d: Path) -> None:
    m = _manifest(d)
    m["files"][0]["config"] = "../../evil"
    m["splits"]["../../evil"] = {"test": m["files"][0]["rows"]}
    m["splits"]["python"]["test"] -= m["files"][0]["rows"]
    _save(d, m)


CASES: dict[str, tuple[Callable[[Path], None], str]] = {
    "config_name_escapes": (config_name_escapes, "invalid config name"),
    "manifest_is_a_link": (manifest_is_a_link, "leads outside the pairs dir"),
    "manifest_nested_deeply": (manifest_nested_deeply, "not valid JSON"),
    "manifest_not_utf8": (manifest_not_utf8, "not valid JSON"),
    "edited_rows": (edited_rows, "sha256"),
    "changed_schema": (changed_schema, "columns"),
    "deleted_shard": (deleted_shard, "missing"),
    "manifest_is_a_list": (manifest_is_a_list, "JSON object"),
    "manifest_without_files": (manifest_without_files, "'files'"),
    "path_outside": (path_outside, "inside data/"),
    "symlink_outside": (symlink_outside, "outside the pairs dir"),
    "absolute_path": (absolute_path, "inside data/"),
    "split_counts_lie": (split_counts_lie, "claims"),
    "rows_count_lies": (rows_count_lies, "rows"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_tampered_pairs_dir_is_refused_by_reader_clean_and_bench(tmp_path: Path, case: str,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    tamper, message = CASES[case]
    d = _pairs(tmp_path / "pairs")
    PairsDir(d)  # intact: opens
    tamper(d)
    with pytest.raises(CodequarryError, match=message):
        PairsDir(d)
    capsys.readouterr()
    commands = {
        "clean": ["clean", str(d), "--out", str(tmp_path / "cleaned"), "--preset", "default"],
        "bench": ["bench", "--model", "bm25", "--task", str(d), "--split", "test", "--out", str(tmp_path / "res")],
    }
    for name, argv in commands.items():
        assert main(argv) == 2, name
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1, (name, err)
    assert not (tmp_path / "cleaned" / MANIFEST_NAME).exists()
    assert not list((tmp_path / "res").rglob("*.json")) if (tmp_path / "res").exists() else True


def test_forger_who_updates_hashes_is_caught_by_verify_full(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = _pairs(tmp_path / "pairs")
    shard = _first_shard(d)
    t = pq.read_table(shard)
    q = t.column("query").to_pylist()
    q[0] = "tampered"
    _rewrite(shard, t.set_column(t.schema.get_field_index("query"), "query", pa.array(q, pa.string())), d,
             update_manifest=True)
    assert PairsDir(d).num_rows() == len(WORDS)  # the cheap default trusts the manifest's hashes
    with pytest.raises(CodequarryError, match="fingerprint"):
        PairsDir(d, verify="full")
    capsys.readouterr()
    assert main(["clean", str(d), "--out", str(tmp_path / "c"), "--preset", "default", "--verify", "full"]) == 2
    assert "fingerprint" in capsys.readouterr().err
    assert main(["bench", "--model", "bm25", "--task", str(d), "--split", "test", "--out", str(tmp_path / "r"),
                 "--verify", "full"]) == 2
    assert "fingerprint" in capsys.readouterr().err


def test_unlisted_shard_is_caught_by_verify_full(tmp_path: Path) -> None:
    d = _pairs(tmp_path / "pairs")
    (d / "data" / "python" / "test-extra.parquet").write_bytes(_first_shard(d).read_bytes())
    PairsDir(d)
    with pytest.raises(CodequarryError, match="files not in"):
        PairsDir(d, verify="full")


def test_verify_none_still_checks_structure_and_unknown_level_is_refused(tmp_path: Path) -> None:
    d = _pairs(tmp_path / "pairs")
    edited_rows(d)
    assert PairsDir(d, verify="none").num_rows() == len(WORDS)
    with pytest.raises(CodequarryError, match="unknown verify level"):
        PairsDir(d, verify="fast")
    manifest_without_files(d)
    with pytest.raises(CodequarryError, match="'files'"):
        PairsDir(d, verify="none")


def test_a_check_that_passed_is_redone_once_a_shard_changes(tmp_path: Path) -> None:
    d = _pairs(tmp_path / "pairs")
    PairsDir(d)
    PairsDir(d)  # remembered
    edited_rows(d)
    with pytest.raises(CodequarryError, match="sha256"):
        PairsDir(d)


def test_a_shard_that_cannot_be_decoded_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = _pairs(tmp_path / "pairs")
    shard = _first_shard(d)
    data = bytearray(shard.read_bytes())
    footer = int.from_bytes(data[-8:-4], "little") + 8
    for i in range(4, len(data) - footer):  # the pages, not the footer: the metadata still reads
        data[i] = 0xA5
    shard.write_bytes(bytes(data))
    m = _manifest(d)
    m["files"][0]["sha256"] = hashlib.sha256(bytes(data)).hexdigest()
    _save(d, m)
    PairsDir(d)  # hashes and footers agree with the manifest
    with pytest.raises(CodequarryError, match="cannot be read"):
        PairsDir(d).read()
    capsys.readouterr()
    for argv in (["clean", str(d), "--out", str(tmp_path / "c"), "--preset", "default"],
                 ["bench", "--model", "bm25", "--task", str(d), "--split", "test", "--out", str(tmp_path / "r")],
                 ["clean", str(d), "--out", str(tmp_path / "c2"), "--verify", "full"]):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert "cannot be read" in err and len(err.splitlines()) == 1, err
