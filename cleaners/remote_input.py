"""An object-store input read by the Ray engine's workers: one row group at a time, checked against the driver's copy.

The driver copies an ``s3://``/``hf://`` input into a local cache and verifies every shard there
against the manifest's sha256. The workers, on other nodes, read their chunks from the store itself,
so what they read must be checked too: an object replaced after the driver's check would otherwise
be cleaned silently. Downloading and hashing a whole shard per worker would multiply the input's
traffic by the number of workers (each reads only some chunks of each shard), so the check is per
row group instead:

- the driver computes, from its verified copy, the sha256 of a shard's Parquet footer plus the
  byte range of one row group (``row_group_digest``) and sends it with each chunk;
- a worker fetches exactly those bytes from the store (the footer, then the row group's range),
  hashes them, refuses a mismatch with a one-line error, and decodes the row group from those
  bytes alone (``read_row_group``): any read outside them is an error, never a second fetch.

Written here rather than taken from a library: Parquet readers verify page checksums only where the
writer stored them (ours do not), and no reader checks a row group against a digest from elsewhere.
"""

from __future__ import annotations

import hashlib
import io
import struct
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from codequarry.errors import CodequarryError

_TAIL = 8  # a Parquet file ends with the footer's length (4 bytes, little endian) and b"PAR1"


def _row_group_range(meta: Any, rg: int) -> tuple[int, int]:
    """The byte range [start, end) of row group ``rg``'s column chunks."""
    group = meta.row_group(rg)
    starts, ends = [], []
    for i in range(group.num_columns):
        col = group.column(i)
        start = col.data_page_offset
        if col.has_dictionary_page and col.dictionary_page_offset is not None and col.dictionary_page_offset > 0:
            start = min(start, col.dictionary_page_offset)
        starts.append(start)
        ends.append(start + col.total_compressed_size)
    return (min(starts), max(ends)) if starts else (0, 0)


def _digest(read_at: Callable[[int, int], bytes], size: int, rg: int) -> tuple[str, Any, int, bytes]:
    """The sha256 of the footer plus row group ``rg``'s bytes, read with ``read_at``; also the file's metadata
    (parsed from those footer bytes alone), the row group's first offset and its bytes."""
    if size < 2 * len(b"PAR1") + _TAIL // 2:
        raise ValueError("too short to be a Parquet file")
    tail = read_at(size - _TAIL, _TAIL)
    if len(tail) != _TAIL or tail[4:] != b"PAR1":
        raise ValueError("not a Parquet file (no PAR1 at its end)")
    footer_len = struct.unpack("<I", tail[:4])[0]
    if footer_len + _TAIL > size:
        raise ValueError("its footer length is larger than the file")
    footer_start = size - _TAIL - footer_len
    footer = read_at(footer_start, footer_len + _TAIL)
    if len(footer) != footer_len + _TAIL:
        raise ValueError("the file ended early")
    meta = pq.read_metadata(pa.BufferReader(b"PAR1" + footer))  # offsets stay the file's own
    if not 0 <= rg < meta.num_row_groups:
        raise ValueError(f"it has no row group {rg}")
    start, end = _row_group_range(meta, rg)
    if not 0 <= start <= end <= footer_start:
        raise ValueError(f"row group {rg}'s byte range lies outside the file's data")
    body = read_at(start, end - start)
    if len(body) != end - start:
        raise ValueError("the file ended early")
    return hashlib.sha256(footer + body).hexdigest(), meta, start, body


def row_group_digest(path: str, rg: int) -> str:
    """The check of row group ``rg`` of a local (already verified) Parquet file, for the workers to compare."""
    with open(path, "rb") as fh:
        size = fh.seek(0, io.SEEK_END)

        def read_at(offset: int, n: int) -> bytes:
            fh.seek(offset)
            return fh.read(n)

        try:
            return _digest(read_at, size, rg)[0]
        except ValueError as exc:
            raise CodequarryError(f"{path}: {exc}; rebuild the pairs dir") from None


def read_row_group(uri: str, rg: int, digest: str, columns: list[str] | None = None) -> pa.Table:
    """Row group ``rg`` of the Parquet object at ``uri``, read as the footer and that row group's bytes only,
    after checking them against ``digest`` (from ``row_group_digest`` on the driver's verified copy)."""
    from codequarry.storage import location

    folder, name = uri.rsplit("/", 1)
    loc = location(folder)
    try:
        with loc.fs.open_input_file(loc.path(name)) as fh:
            size = fh.size()

            def read_at(offset: int, n: int) -> bytes:
                return bytes(fh.read_at(n, offset))

            got, meta, start, body = _digest(read_at, size, rg)
    except FileNotFoundError:
        raise CodequarryError(f"{uri}: the input shard is gone from the object store; rerun the same command when "
                              "the input is complete again") from None
    except (ValueError, OSError, pa.ArrowException) as exc:
        raise CodequarryError(f"{uri}: the input shard on the object store cannot be read as the manifest's "
                              f"({exc}); restore it or rebuild the input") from None
    if got != digest:
        raise CodequarryError(f"{uri}: the input shard on the object store does not match its manifest (row group "
                              f"{rg}): it changed after the clean started or was tampered with; restore it or "
                              "rebuild the input")
    try:  # the checked metadata is given, so the decoder reads no footer, only the row group's bytes
        source = pa.PythonFile(_Pieces({start: body}, size), mode="r")
        return pq.ParquetFile(source, metadata=meta).read_row_group(rg, columns=columns)
    except (ValueError, OSError, pa.ArrowException) as exc:
        raise CodequarryError(f"{uri}: row group {rg} of the input shard cannot be decoded ({exc}); rebuild the "
                              "input") from None


class _Pieces(io.RawIOBase):
    """A read-only file of ``size`` bytes of which only ``pieces`` (offset → bytes) are known; reading any other
    byte is an error, so a decoder can never make this module fetch what it did not check."""

    def __init__(self, pieces: dict[int, bytes], size: int) -> None:
        super().__init__()
        self._pieces = sorted(pieces.items())
        self._size = size
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = base + offset
        return self._pos

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = self._size - self._pos
        n = max(0, min(n, self._size - self._pos))
        if n == 0:
            return b""
        for start, data in self._pieces:
            if start <= self._pos and self._pos + n <= start + len(data):
                out = data[self._pos - start:self._pos - start + n]
                self._pos += n
                return out
        raise ValueError(f"a read of bytes {self._pos}..{self._pos + n} outside the checked row group and footer")

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)
