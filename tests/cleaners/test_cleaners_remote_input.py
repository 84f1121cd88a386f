"""An object-store input shard as a Ray worker reads it: one row group's bytes plus the footer, checked against the
digest the driver computed on its verified copy (cleaners/remote_input.py)."""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from codequarry.cleaners.remote_input import read_row_group, row_group_digest
from codequarry.errors import CodequarryError


@pytest.fixture
def shard(tmp_path: Path) -> Path:
    """A zstd Parquet file of 3 row groups with dictionary-encoded and plain columns."""
    table = pa.table({"code": [f"def f{i}():\n    return {i}" for i in range(300)],
                      "language": ["python"] * 300, "n": list(range(300))})
    path = tmp_path / "train-00000-of-00001.parquet"
    pq.write_table(table, path, row_group_size=100, compression="zstd")
    return path


def _independent_digest(path: Path, rg: int) -> str:
    """The same check computed another way: pyarrow's own metadata for the ranges, the file read whole."""
    data = path.read_bytes()
    footer_len = struct.unpack("<I", data[-8:-4])[0]
    footer = data[len(data) - 8 - footer_len:]
    group = pq.ParquetFile(path).metadata.row_group(rg)
    starts = [min(c.data_page_offset, c.dictionary_page_offset or c.data_page_offset)
              for c in (group.column(i) for i in range(group.num_columns))]
    ends = [s + group.column(i).total_compressed_size for i, s in enumerate(starts)]
    return hashlib.sha256(footer + data[min(starts):max(ends)]).hexdigest()


def test_each_row_group_reads_back_from_its_own_bytes(shard: Path) -> None:
    whole = pq.ParquetFile(shard)
    for rg in range(3):
        digest = row_group_digest(str(shard), rg)
        assert digest == _independent_digest(shard, rg)
        assert read_row_group(str(shard), rg, digest).equals(whole.read_row_group(rg))
        assert read_row_group(str(shard), rg, digest, ["n"]).equals(whole.read_row_group(rg, columns=["n"]))
    assert len({row_group_digest(str(shard), rg) for rg in range(3)}) == 3


def test_a_changed_row_group_is_refused_and_the_others_still_read(shard: Path) -> None:
    digests = [row_group_digest(str(shard), rg) for rg in range(3)]
    meta = pq.ParquetFile(shard).metadata
    col = meta.row_group(1).column(2)  # the int column of row group 1: flip the last byte of its data page
    start = min(col.data_page_offset, col.dictionary_page_offset or col.data_page_offset)
    data = bytearray(shard.read_bytes())
    data[start + col.total_compressed_size - 1] ^= 0xFF
    shard.write_bytes(bytes(data))
    with pytest.raises(CodequarryError, match="does not match its manifest \\(row group 1\\)"):
        read_row_group(str(shard), 1, digests[1])
    assert read_row_group(str(shard), 0, digests[0]).num_rows == 100
    assert read_row_group(str(shard), 2, digests[2]).num_rows == 100


def test_a_replaced_or_broken_object_is_a_one_line_error(shard: Path, tmp_path: Path) -> None:
    digest = row_group_digest(str(shard), 0)
    other = pa.table({"code": ["x"] * 300, "language": ["python"] * 300, "n": list(range(300))})
    pq.write_table(other, shard, row_group_size=100, compression="zstd")
    with pytest.raises(CodequarryError, match="does not match its manifest"):
        read_row_group(str(shard), 0, digest)
    shard.write_bytes(b"not parquet at all")
    with pytest.raises(CodequarryError, match="cannot be read as the manifest's") as info:
        read_row_group(str(shard), 0, digest)
    assert "\n" not in str(info.value)
    with pytest.raises(CodequarryError, match="gone from the object store"):
        read_row_group(str(tmp_path / "missing.parquet"), 0, digest)
