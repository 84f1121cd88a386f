"""Checking a pairs dir against its manifest before any of it is used (every reader shares these checks).

A pairs dir is untrusted input: its manifest or shards may have been edited, removed or forged.
Three levels, chosen with ``verify=`` (``--verify`` on the command line):

``none``
    The manifest's structure only: a JSON object of this format version whose ``files`` list
    names Parquet shards inside ``data/`` (no absolute path, no ``..``, no link leading out),
    whose ``splits`` counts agree with those files, and every listed shard exists.
``sha256`` (the default)
    Also each listed shard's sha256, row count and column schema match the manifest. This reads
    every byte once, which costs far less than reading the rows; a process remembers a check that
    passed for as long as no file's size, mtime or inode changes.
``full``
    Also the content fingerprint is recomputed from the rows, and no unlisted shard lies in
    ``data/``. ``publish`` always checks at this level.

Every failure is a ``CodequarryError`` with a one-line message naming the pairs dir. A reader
deep inside a command (a benchmark task opening its pairs dir) takes the level the command set
with ``verify_level(...)``; code that opens a dir it just wrote may pass ``verify="none"``.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import pyarrow.parquet as pq

from codequarry.errors import CodequarryError, one_line
from codequarry.pairs_fingerprint import file_sha256, type_name
from codequarry.pairs_layout import DATA_DIR, DEFAULT_VERIFY, FORMAT_VERSION, MANIFEST_NAME, VERIFY_LEVELS
from codequarry.schema import check_config_name, check_split_name

_ENTRY_KEYS = ("path", "config", "split", "rows", "sha256")

_LEVEL: contextvars.ContextVar[str] = contextvars.ContextVar("codequarry_verify", default=DEFAULT_VERIFY)

#: resolved dir → (what was checked: manifest hash and every shard's stat, level reached)
_PASSED: dict[str, tuple[tuple[Any, ...], int]] = {}


@contextlib.contextmanager
def verify_level(level: str) -> Iterator[None]:
    """Within the block, pairs dirs opened without an explicit ``verify=`` are checked at ``level``."""
    check_level(level)
    token = _LEVEL.set(level)
    try:
        yield
    finally:
        _LEVEL.reset(token)


def current_level(level: str | None = None) -> str:
    """``level`` if given, else the one ``verify_level`` set (default ``sha256``)."""
    return _LEVEL.get() if level is None else level


def check_level(level: str) -> int:
    """The rank of a verify level (refusing unknown names)."""
    if level not in VERIFY_LEVELS:
        raise CodequarryError(f"unknown verify level {level!r}; choose one of {', '.join(VERIFY_LEVELS)}")
    return VERIFY_LEVELS.index(level)


def check_manifest(root: Path, manifest: Any) -> None:
    """The manifest's structure, file paths and split counts (no file is read)."""
    where = f"{root / MANIFEST_NAME}"
    if not isinstance(manifest, dict):
        raise CodequarryError(f"{where}: the manifest must be a JSON object, not {type(manifest).__name__}")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise CodequarryError(f"{where}: unsupported format_version {version!r} (this codequarry reads {FORMAT_VERSION})")
    files = manifest.get("files")
    if not isinstance(files, list):
        raise CodequarryError(f"{where}: 'files' must be a list of shards (it is {_kind(files)})")
    splits = manifest.get("splits")
    if not isinstance(splits, dict) or not all(
            isinstance(c, str) and isinstance(p, dict) and all(isinstance(s, str) and _count(n) for s, n in p.items())
            for c, p in splits.items()):
        raise CodequarryError(f"{where}: 'splits' must map config → split → row count (it is {_kind(splits)})")
    if not isinstance(manifest.get("fingerprint"), str):
        raise CodequarryError(f"{where}: 'fingerprint' must be a string")
    listed: dict[tuple[str, str], int] = {}
    seen: set[str] = set()
    for i, entry in enumerate(files):
        if not isinstance(entry, dict) or not all(k in entry for k in _ENTRY_KEYS):
            raise CodequarryError(f"{where}: files[{i}] must be an object with {', '.join(_ENTRY_KEYS)}")
        path, config, split, rows, sha = (entry[k] for k in _ENTRY_KEYS)
        if not (isinstance(path, str) and isinstance(config, str) and isinstance(split, str) and _count(rows)
                and isinstance(sha, str)):
            raise CodequarryError(f"{where}: files[{i}] has a value of the wrong type")
        _check_inside(root, path, where)
        if path in seen:
            raise CodequarryError(f"{where}: {path} is listed twice")
        seen.add(path)
        listed[(config, split)] = listed.get((config, split), 0) + rows
    claimed = {(c, s): n for c, parts in splits.items() for s, n in parts.items()}
    for config, split in sorted(set(listed) | set(claimed)):  # later used to build paths (upload, card): checked
        try:
            check_config_name(config)
            check_split_name(split)
        except CodequarryError as exc:
            raise CodequarryError(f"{where}: {exc}") from None
    for key in sorted(set(listed) | set(claimed)):
        if listed.get(key, 0) != claimed.get(key, 0):
            raise CodequarryError(f"{where}: config {key[0]!r} split {key[1]!r} claims {claimed.get(key, 0)} rows "
                                  f"but its files hold {listed.get(key, 0)}")
        if key not in claimed:
            raise CodequarryError(f"{where}: files of config {key[0]!r} split {key[1]!r} are missing from 'splits'")


def _check_inside(root: Path, rel: str, where: str) -> None:
    pure = PurePosixPath(rel)
    if pure.is_absolute() or ".." in pure.parts or "\\" in rel or not pure.parts or pure.parts[0] != DATA_DIR \
            or pure.suffix != ".parquet":
        raise CodequarryError(f"{where}: shard path {rel!r} is not a .parquet file inside {DATA_DIR}/ of the pairs dir")
    full = root / rel
    try:
        resolved = full.resolve(strict=True)
    except (OSError, RuntimeError):
        raise CodequarryError(f"{full} is listed in {MANIFEST_NAME} but missing") from None
    if not resolved.is_relative_to(root.resolve()) or not resolved.is_file():
        raise CodequarryError(f"{where}: shard {rel!r} leads outside the pairs dir or is not a regular file")


def check_files(root: Path, manifest: Mapping[str, Any], level: str) -> None:
    """Check the listed shards at ``level`` (see the module docstring); remembers what passed."""
    rank = check_level(level)
    if rank == 0:
        return
    key = str(root.resolve())
    state = _state(root, manifest)
    done = _PASSED.get(key)
    if done is not None and done[0] == state and done[1] >= rank:
        return
    expected_schema = manifest.get("schema")
    for entry in manifest["files"]:
        path = root / entry["path"]
        if file_sha256(path) != entry["sha256"]:
            raise CodequarryError(f"{path} does not match its sha256 in {MANIFEST_NAME}: the file was changed after "
                                  "it was written")
        try:
            meta = pq.read_metadata(path)
        except Exception as exc:  # noqa: BLE001 - any unreadable footer is the same user-facing error
            raise CodequarryError(f"{path} is not a readable Parquet file: {one_line(exc)}") from None
        if meta.num_rows != entry["rows"]:
            raise CodequarryError(f"{path} holds {meta.num_rows} rows but {MANIFEST_NAME} says {entry['rows']}")
        if isinstance(expected_schema, list):
            got = [{"name": f.name, "type": type_name(f.type)} for f in meta.schema.to_arrow_schema()]
            if got != expected_schema:
                raise CodequarryError(f"{path}: its columns {[g['name'] + ':' + g['type'] for g in got]} differ from "
                                      f"the schema in {MANIFEST_NAME}")
    if rank == 2:
        listed = {e["path"] for e in manifest["files"]}
        on_disk = {p.relative_to(root).as_posix() for p in (root / DATA_DIR).rglob("*.parquet")}
        if on_disk - listed:
            raise CodequarryError(f"{root}: files not in {MANIFEST_NAME}: {sorted(on_disk - listed)[:5]}")
        from codequarry.pairs_reader import compute_fingerprint

        fp = compute_fingerprint(root, verify="none")
        if fp != manifest["fingerprint"]:
            raise CodequarryError(f"{root}: content fingerprint {fp} does not match the manifest's "
                                  f"{manifest['fingerprint']}")
    _PASSED[key] = (state, rank)


def _state(root: Path, manifest: Mapping[str, Any]) -> tuple[Any, ...]:
    stats = []
    for entry in [{"path": MANIFEST_NAME}, *manifest["files"]]:
        st = os.stat(root / entry["path"])
        stats.append((entry["path"], st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns))
    digest = hashlib.sha256((root / MANIFEST_NAME).read_bytes()).hexdigest()
    return digest, tuple(stats)


def _count(n: Any) -> bool:
    return isinstance(n, int) and not isinstance(n, bool) and n >= 0


def _kind(value: Any) -> str:
    return "missing" if value is None else f"a {type(value).__name__}"
