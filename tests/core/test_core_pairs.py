"""The pairs dir: writing, reading, fingerprint, manifest accounting, and loading with `datasets`."""

from __future__ import annotations

import json
import random

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from codequarry.errors import CodequarryError
from codequarry.pairs import PairsDir, PairsWriter, SourceInfo, compute_fingerprint
from codequarry.schema import CORE_COLUMNS, make_id


def _rows(n: int, languages=("python", "java")) -> list[dict]:
    return [
        {
            "id": make_id("test", i),
            "query": f"return the {i}th item",
            "code": f"def item_{i}(xs):\n    return xs[{i}]\n",
            "language": languages[i % len(languages)],
            "source": "test",
            "query_tokens": ["return", "the", f"{i}th", "item"],
            "code_tokens": ["def", f"item_{i}", "(", "xs", ")", ":"],
            "label": i % 2,
            "meta": {"i": i, "z": [1, 2]},
            "start_line": i + 1,
        }
        for i in range(n)
    ]


def _write(path, rows, **kw):
    with PairsWriter(path, created_by="pytest", sources=[SourceInfo("test", license="MIT")], **kw) as w:
        w.write(rows[: len(rows) // 2], split="train")
        w.write(rows[len(rows) // 2 :], split="test")
    return PairsDir(path)


def test_layout_and_manifest(tmp_path):
    d = _write(tmp_path / "out", _rows(10))
    assert sorted(p.relative_to(d.path).as_posix() for p in d.files()) == [
        "data/java/test-00000-of-00001.parquet",
        "data/java/train-00000-of-00001.parquet",
        "data/python/test-00000-of-00001.parquet",
        "data/python/train-00000-of-00001.parquet",
    ]
    m = json.loads((d.path / "codequarry.json").read_text())
    assert m["splits"] == {"java": {"train": 2, "test": 3}, "python": {"train": 3, "test": 2}}
    assert m["counts"]["written"] == 10 and m["counts"]["excluded"] == 0
    assert m["sources"][0]["license"] == "MIT"
    assert [c["name"] for c in m["schema"]][: len(CORE_COLUMNS)] == list(CORE_COLUMNS)
    assert m["schema"][-1] == {"name": "start_line", "type": "int32"}
    assert m["fingerprint"].startswith("sha256:")


def test_fingerprint_independent_of_sharding_and_batches(tmp_path):
    rows = _rows(40)
    a = _write(tmp_path / "a", rows)
    b = _write(tmp_path / "b", rows, max_shard_rows=3)
    with PairsWriter(tmp_path / "c", created_by="pytest") as w:  # one row at a time, shuffled within splits
        train, test = rows[:20], rows[20:]
        random.Random(1).shuffle(train)
        for r in train:
            w.write([r], split="train")
        w.write(test, split="test")
    c = PairsDir(tmp_path / "c")
    assert len(b.files()) > len(a.files())
    assert a.fingerprint == b.fingerprint == c.fingerprint
    assert compute_fingerprint(b) == b.fingerprint


def test_fingerprint_changes_with_content_and_split(tmp_path):
    rows = _rows(6)
    base = _write(tmp_path / "a", rows).fingerprint
    changed = [dict(r) for r in rows]
    changed[0]["query"] = "something else"
    assert _write(tmp_path / "b", changed).fingerprint != base
    with PairsWriter(tmp_path / "c", created_by="pytest") as w:  # same rows, another split assignment
        w.write(rows, split="train")
    assert PairsDir(tmp_path / "c").fingerprint != base


def test_read_back_rows_and_split_column(tmp_path):
    rows = _rows(8)
    d = _write(tmp_path / "out", rows)
    table = d.read(with_split=True)
    assert table.num_rows == 8
    got = {r["id"]: r for r in table.to_pylist()}
    assert got[rows[0]["id"]]["split"] == "train" and got[rows[7]["id"]]["split"] == "test"
    assert json.loads(got[rows[1]["id"]]["meta"]) == {"i": 1, "z": [1, 2]}
    assert got[rows[1]["id"]]["start_line"] == 2
    assert d.num_rows(split="train", config="python") == 2
    assert d.splits() == ["train", "test"]


def test_load_dataset_multi_and_single_config(tmp_path):
    d = _write(tmp_path / "multi", _rows(10))
    ds = datasets.load_dataset(str(d.path))
    assert ds["train"].num_rows == 5 and ds["test"].num_rows == 5
    java = datasets.load_dataset(str(d.path), "java")
    assert java["train"].num_rows == 2
    single = _write(tmp_path / "single", _rows(4, languages=("go",)))
    assert datasets.load_dataset(str(single.path))["test"].num_rows == 2


def test_declared_split_sizes_are_checked_by_datasets(tmp_path):
    d = _write(tmp_path / "out", _rows(6))
    readme = (d.path / "README.md").read_text()
    assert datasets.load_dataset(str(d.path))["train"].num_rows == 3
    # the first declared size is the default config's train split: claim one row too many
    (d.path / "README.md").write_text(readme.replace("num_examples: 3", "num_examples: 4", 1))
    with pytest.raises(Exception, match="(?i)split"):
        datasets.load_dataset(str(d.path))


def test_accounting_read_equals_written_plus_excluded(tmp_path):
    w = PairsWriter(tmp_path / "out", created_by="pytest")
    w.add_read(5)
    w.write(_rows(3), split="train")
    w.exclude("malformed_json", locator="f.jsonl:4", raw="{oops")
    with pytest.raises(RuntimeError, match="accounting mismatch"):
        w.close()
    w2 = PairsWriter(tmp_path / "ok", created_by="pytest")
    w2.add_read(4)
    w2.write(_rows(3), split="train")
    w2.exclude("malformed_json", locator="f.jsonl:4", raw="{oops")
    m = w2.close()
    assert m["counts"] == {"written": 3, "excluded": 1, "exclusion_reasons": {"build/malformed_json": 1}, "read": 4}
    ex = pq.read_table(tmp_path / "ok" / m["exclusion_files"][0]["path"]).to_pylist()
    assert ex[0]["reason"] == "malformed_json" and ex[0]["locator"] == "f.jsonl:4" and ex[0]["raw"] == "{oops"


def test_verify_detects_tampering(tmp_path):
    d = _write(tmp_path / "out", _rows(10))
    d.verify()
    shard = d.files()[0]
    table = pq.read_table(shard)
    pq.write_table(table.slice(1), shard)
    with pytest.raises(CodequarryError, match="sha256"):
        PairsDir(d.path).verify()


def test_refuses_non_empty_out_dir(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "keep.txt").write_text("mine")
    with pytest.raises(CodequarryError, match="not empty"):
        PairsWriter(tmp_path / "x", created_by="pytest")
    with pytest.raises(CodequarryError, match="does not look like a pairs dir"):
        PairsWriter(tmp_path / "x", created_by="pytest", overwrite=True)
    _write(tmp_path / "y", _rows(2))
    w = PairsWriter(tmp_path / "y", created_by="pytest", overwrite=True)
    w.write(_rows(1), split="train")
    w.close()
    assert PairsDir(tmp_path / "y").num_rows() == 1


def test_bad_rows_give_clear_errors(tmp_path):
    w = PairsWriter(tmp_path / "out", created_by="pytest")
    with pytest.raises(CodequarryError, match="label"):
        w.write([{"id": "a", "label": "not-a-number"}], split="train")
    with pytest.raises(CodequarryError, match="id"):
        w.write([{"query": "no id"}], split="train")
    with pytest.raises(CodequarryError, match="split"):
        w.write([{"id": "a"}], split="bad split!")
    w.write([{"id": "a", "language": "python"}], split="train")
    with pytest.raises(CodequarryError, match="appeared after the first batch"):
        w.write([{"id": "b", "language": "python", "surprise": 1}], split="train")
    w.abort()


def test_large_shard_rollover_by_bytes(tmp_path):
    rows = _rows(50, languages=("python",))
    d = _write(tmp_path / "out", rows, max_shard_bytes=2_000, row_group_bytes=1_000)
    files = d.files(split="train")
    assert len(files) > 1
    assert sum(pq.read_metadata(f).num_rows for f in files) == 25
    assert all(f.name.endswith(f"-of-{len(files):05d}.parquet") for f in files)


def test_empty_table_writes_nothing(tmp_path):
    with PairsWriter(tmp_path / "out", created_by="pytest") as w:
        w.write(pa.table({"id": pa.array([], pa.string())}), split="train")
    d = PairsDir(tmp_path / "out")
    assert d.num_rows() == 0 and d.files() == []


def test_canonical_rows_are_unambiguous():
    from codequarry.pairs import canonical_rows

    t = pa.table({
        "a": ["ab", "a", None, "", "x"],
        "b": [["c"], ["bc"], [], None, [""]],
        "n": pa.array([1, 1, None, 0, 10], pa.int32()),
    })
    rows = canonical_rows(t).to_pylist()
    assert len(set(rows)) == 5  # "ab"+["c"] ≠ "a"+["bc"]; null ≠ "" ≠ []; [""] ≠ []
    assert rows[0] == b"S2:abL1:S1:cS1:1"
    again = canonical_rows(pa.concat_tables([t.slice(0, 2), t.slice(2)]).combine_chunks()).to_pylist()
    assert again == rows
