"""The upload folder: loads with `datasets` (split sizes checked), respects shard/row-group limits, verifies."""

from __future__ import annotations

import hashlib
import re

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datasets.exceptions import NonMatchingSplitsSizesError
from huggingface_hub import DatasetCard

from codequarry.dataset_cards.publish import publish
from codequarry.dataset_cards.upload import group_overhead, pack_row_groups, row_bytes
from codequarry.errors import CodequarryError
from codequarry.pairs import PairsDir, PairsWriter, SourceInfo


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tree(root) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): _sha(p) for p in sorted(root.rglob("*")) if p.is_file()}


def test_upload_folder_loads_per_config_with_declared_sizes(pairs_factory, tmp_path):
    d = pairs_factory()
    out = tmp_path / "upload"
    report = publish(d.path, "acme/csn-small", dry_run=True, out=out, max_shard_bytes=3000, row_group_bytes=1000)
    assert report.folder == out
    assert sorted(_tree(out)) == sorted(f.path for f in report.files)
    card = DatasetCard((out / "README.md").read_text())
    declared = {c["config_name"]: {s["name"]: s["num_examples"] for s in c["splits"]} for c in card.data.dataset_info}
    cache = str(tmp_path / "cache")
    everything = datasets.load_dataset(str(out), cache_dir=cache)
    assert {s: everything[s].num_rows for s in everything} == declared["all"] == {"train": 15, "test": 5}
    for config in ("python", "java", "go"):
        ds = datasets.load_dataset(str(out), config, cache_dir=cache)
        assert {s: ds[s].num_rows for s in ds} == declared[config] == d.manifest["splits"][config]
        assert set(ds["train"]["language"]) == {config}
    assert list(everything["train"].features) == [f.name for f in d.schema]
    # the folder is itself a valid pairs dir with the same content fingerprint
    up = PairsDir(out)
    up.verify()
    assert up.fingerprint == d.fingerprint
    assert up.manifest["exclusion_files"] == [] and up.manifest["published"]["exclusions"].startswith("omitted")
    assert (out / "report.png").read_bytes() == (d.path / "report.png").read_bytes()


def test_a_wrong_declared_split_size_fails_to_load(pairs_factory, tmp_path):
    d = pairs_factory()
    out = tmp_path / "upload"
    publish(d.path, "acme/csn-small", dry_run=True, out=out)
    readme = out / "README.md"
    text = readme.read_text()
    # python/test has 3 rows; declare 4 in the python config's dataset_info
    block = text.index("- config_name: python\n  features:")
    fixed = text[:block] + re.sub(r"(name: test\n\s+num_bytes: \d+\n\s+num_examples: )3", r"\g<1>4", text[block:], count=1)
    assert fixed != text
    readme.write_text(fixed)
    with pytest.raises(NonMatchingSplitsSizesError):
        datasets.load_dataset(str(out), "python", cache_dir=str(tmp_path / "cache"))


def test_shards_and_row_groups_respect_the_limits(pairs_factory, tmp_path, cards):
    rows = cards.make_rows(60, 4, 2, pad=200)
    d = pairs_factory(rows=rows, test_every=10)
    out = tmp_path / "upload"
    max_shard, row_group = 12000, 4000  # every row is < 2500 bytes
    publish(d.path, "acme/big", dry_run=True, out=out, max_shard_bytes=max_shard, row_group_bytes=row_group)
    shards = sorted((out / "data" / "python").glob("train-*.parquet"))
    n = len(shards)
    assert n >= 3
    assert [s.name for s in shards] == [f"train-{i:05d}-of-{n:05d}.parquet" for i in range(n)]
    groups = 0
    for s in shards:
        pf = pq.ParquetFile(s)
        sizes = [pf.read_row_group(i).nbytes for i in range(pf.num_row_groups)]
        groups += len(sizes)
        assert max(sizes) <= row_group, s.name
        assert pq.read_table(s).nbytes <= max_shard, s.name
    assert groups > n  # several row groups per shard
    assert sum(pq.read_metadata(s).num_rows for s in shards) == d.manifest["splits"]["python"]["train"]
    # rows keep their order
    ids = pa.concat_tables([pq.read_table(s, columns=["id"]) for s in shards]).column("id").to_pylist()
    assert ids == d.read(split="train", config="python", columns=["id"]).column("id").to_pylist()


def test_packing_is_independent_of_input_batches_and_isolates_huge_rows():
    t = pa.table({"code": ["x" * i for i in range(40)] + ["y" * 5000] + ["z"] * 5,
                  "tokens": [["a"] * (i % 4) for i in range(46)]})
    whole = [(g.num_rows, s) for g, s in pack_row_groups([t], 800)]
    pieces = [(g.num_rows, s) for g, s in pack_row_groups([t.slice(0, 7), t.slice(7, 30), t.slice(37)], 800)]
    assert whole == pieces
    assert sum(n for n, _ in whole) == 46
    assert (1, int(row_bytes(t.slice(40, 1))[0]) + group_overhead(t.schema)) in whole  # the 5000-char row alone
    for g, size in pack_row_groups([t], 800):
        assert g.nbytes <= size and (size <= 800 or g.num_rows == 1)
    assert np.all(row_bytes(t) > 0)


def test_upload_bytes_are_deterministic_and_ignore_source_sharding(tmp_path, cards):
    rows = cards.make_rows()
    src = [SourceInfo("codesearchnet", license="MIT")]

    def build(name, **kw):
        with PairsWriter(tmp_path / name, created_by="pytest", sources=src, **kw) as w:
            w.write(rows[:14], split="train")
            w.write(rows[14:], split="test")
        return tmp_path / name

    a, b = build("a"), build("b", max_shard_rows=2)
    assert len(PairsDir(b).files()) > len(PairsDir(a).files())
    publish(a, "acme/x", dry_run=True, out=tmp_path / "ua", row_group_bytes=700, max_shard_bytes=2000)
    publish(a, "acme/x", dry_run=True, out=tmp_path / "ua2", row_group_bytes=700, max_shard_bytes=2000)
    publish(b, "acme/x", dry_run=True, out=tmp_path / "ub", row_group_bytes=700, max_shard_bytes=2000)
    ua, ua2, ub = _tree(tmp_path / "ua"), _tree(tmp_path / "ua2"), _tree(tmp_path / "ub")
    assert ua == ua2
    data = {k: v for k, v in ua.items() if k.startswith("data/")}
    assert data and data == {k: v for k, v in ub.items() if k.startswith("data/")}


def test_exclusions_are_uploaded_only_when_asked(pairs_factory, tmp_path):
    d = pairs_factory()
    out = tmp_path / "with"
    report = publish(d.path, "acme/x", dry_run=True, out=out, include_exclusions=True)
    assert "exclusions/exclusions-00000-of-00001.parquet" in [f.path for f in report.files]
    assert PairsDir(out).manifest["exclusion_files"] == d.manifest["exclusion_files"]
    assert pq.read_table(out / "exclusions/exclusions-00000-of-00001.parquet").num_rows == 2


def test_upload_folder_must_be_new_or_empty_and_outside_the_dir(pairs_factory, tmp_path):
    d = pairs_factory()
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "x.txt").write_text("keep me")
    with pytest.raises(CodequarryError, match="not empty"):
        publish(d.path, "acme/x", dry_run=True, out=busy)
    with pytest.raises(CodequarryError, match="outside the pairs dir"):
        publish(d.path, "acme/x", dry_run=True, out=d.path / "upload")
    with pytest.raises(CodequarryError, match="row_group_bytes"):
        publish(d.path, "acme/x", dry_run=True, out=tmp_path / "u", row_group_bytes=10, max_shard_bytes=5)
    assert (busy / "x.txt").read_text() == "keep me"
