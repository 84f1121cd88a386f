"""Where every builder sends its rows: validation, duplicate ids, batching and the read/written/excluded books.

Each record a builder reads ends in exactly one call: ``add(row, split)`` (written, or excluded
when it fails validation or repeats an id) or ``exclude(reason, …)``. Both count one record read,
so ``PairsWriter.close`` can check read = written + excluded. Records that a user's selection
leaves out (``--languages``, ``--splits``) are not read into the build; ``skip`` counts them in
the manifest's ``skipped`` block instead.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from codequarry.builders._io import Bad, Input
from codequarry.errors import CodequarryError
from codequarry.pairs import PairsWriter, SourceInfo
from codequarry.progress import progress
from codequarry.schema import CORE_COLUMNS, KNOWN_EXTRA_FIELDS, check_config_name, dump_meta

_TEXT_FIELDS = ("query", "code", "language", "source", "repo", "path", "func_name", "url", "sha", "license")
_TOKEN_FIELDS = ("query_tokens", "code_tokens")
_INT32 = (-(2**31), 2**31 - 1)


def _bad_text(value: str) -> bool:
    """True when ``value`` cannot be stored as UTF-8 (lone surrogates from invalid bytes or escapes)."""
    if value.isascii():
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _clean(text: str | None) -> str | None:
    """Text safe to store in an exclusion record (invalid code points shown as escapes)."""
    if text is None:
        return None
    return text.encode("utf-8", "backslashreplace").decode("utf-8") if _bad_text(text) else text


def check_row(row: Mapping[str, Any], extra: Sequence[str] = ()) -> tuple[str, str] | None:
    """(reason, detail) when a row cannot be written as is; None when it can."""
    rid = row.get("id")
    if not isinstance(rid, str) or not rid:
        return "missing_id", f"id is {rid!r}"
    code = row.get("code")
    if code is None or (isinstance(code, str) and not code.strip()):
        return "missing_code", "no code text"
    for name in _TEXT_FIELDS:
        v = row.get(name)
        if v is None:
            continue
        if not isinstance(v, str):
            return "wrong_type", f"{name}: expected text, got {type(v).__name__} {v!r:.60}"
        if _bad_text(v):
            return "invalid_utf8", f"{name} is not valid UTF-8 text"
    lang = row.get("language")
    if lang is not None:
        try:
            check_config_name(lang)
        except CodequarryError as exc:
            return "bad_language", str(exc)
    label = row.get("label")
    if label is not None and (isinstance(label, bool) or not isinstance(label, int) or not _INT32[0] <= label <= _INT32[1]):
        return "wrong_type", f"label: expected an integer, got {type(label).__name__} {label!r:.60}"
    for name in _TOKEN_FIELDS:
        toks = row.get(name)
        if toks is None:
            continue
        try:
            joined = "".join(toks) if isinstance(toks, list) else None  # one C-speed pass checks every item is text
        except TypeError:
            joined = None
        if joined is None:
            return "wrong_type", f"{name}: expected a list of strings, got {toks!r:.60}"
        if _bad_text(joined):
            return "invalid_utf8", f"{name} is not valid UTF-8 text"
    meta = row.get("meta")
    if meta is not None:
        if not isinstance(meta, str):
            return "wrong_type", "meta must be serialized"
        if _bad_text(meta):
            return "invalid_utf8", "meta holds text that is not valid UTF-8"
    for name in extra:
        v = row.get(name)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or not _INT32[0] <= v <= _INT32[1]):
            return "wrong_type", f"{name}: expected an integer, got {v!r:.60}"
    return None


class _IdSet:
    """Ids written so far, kept as 96-bit digests (≈80 bytes each: about 160 MB for CodeSearchNet's 2M rows)."""

    def __init__(self) -> None:
        self._seen: set[int] = set()

    def add(self, rid: str) -> bool:
        """Add ``rid``; False when it was already there."""
        key = int.from_bytes(hashlib.blake2b(rid.encode("utf-8", "surrogatepass"), digest_size=12).digest(), "big")
        if key in self._seen:
            return False
        self._seen.add(key)
        return True


def _file_digest(path: Path) -> str | None:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    except OSError:
        return None
    return "sha256:" + h.hexdigest()


class Sink:
    """Validated, deduplicated, batched writing of builder rows into a pairs dir."""

    def __init__(
        self,
        out: str | os.PathLike[str],
        *,
        source: SourceInfo,
        params: Mapping[str, Any],
        overwrite: bool = False,
        created_by: str | None = None,
        extra_fields: Sequence[pa.Field] = (),
        batch_rows: int = 10_000,
    ) -> None:
        if isinstance(batch_rows, bool) or not isinstance(batch_rows, int) or batch_rows < 1:
            raise CodequarryError(f"batch_rows must be a positive integer, got {batch_rows!r}")
        self.source = source
        self.extra = [f.name for f in extra_fields]
        for name in self.extra:
            if name not in KNOWN_EXTRA_FIELDS:
                raise ValueError(f"undeclared extra column {name!r}")
        self.writer = PairsWriter(
            out, created_by=created_by or f"codequarry.builders.build({source.name!r})", sources=[source],
            params=dict(params), overwrite=overwrite, extra_fields=list(extra_fields),
        )
        self.batch_rows = batch_rows
        self._buffers: dict[str, list[dict[str, Any]]] = {}
        self._ids = _IdSet()
        self.skipped: Counter[str] = Counter()
        self.inputs: list[dict[str, Any]] = []
        self._hashed: set[Path] = set()
        self._bar = progress(desc=f"build {source.name}", unit=" rows")
        self._pending = 0

    # -- inputs -------------------------------------------------------------------------------
    def note_input(self, inp: Input | Path | str, *, kind: str | None = None) -> None:
        """Record an input file (name, size, sha256) in the manifest's ``inputs`` for provenance."""
        if isinstance(inp, Input):
            path, name, member = inp.path, inp.name, inp.member
        else:
            path, name, member = Path(inp), Path(inp).name, None
        entry: dict[str, Any] = {"name": name}
        if kind:
            entry["kind"] = kind
        if member is not None:
            entry["archive"] = path.name
        if path not in self._hashed and path.is_file():
            self._hashed.add(path)
            entry["bytes"] = path.stat().st_size
            entry["sha256"] = _file_digest(path)
        self.inputs.append(entry)

    # -- records ------------------------------------------------------------------------------
    def add(self, row: dict[str, Any], split: str) -> bool:
        """Write one row to ``split`` (or exclude it with the reason it cannot be written)."""
        if isinstance(row.get("meta"), dict):
            row["meta"] = dump_meta(row["meta"])
        problem = check_row(row, self.extra)
        if problem is not None:
            reason, detail = problem
            self.exclude(reason, locator=row.get("id") if isinstance(row.get("id"), str) else None, detail=detail,
                         raw=_clean(repr(row)[:2000]), split=split)
            return False
        if not self._ids.add(row["id"]):
            self.exclude("duplicate_id", locator=row["id"], detail="a row with this id was already written",
                         row=row, split=split)
            return False
        self.writer.add_read(1)
        buf = self._buffers.setdefault(split, [])
        buf.append(row)
        if len(buf) >= self.batch_rows:
            self._flush(split)
        return True

    def exclude(self, reason: str, *, locator: str | None = None, detail: str | None = None, raw: str | None = None,
                row: Mapping[str, Any] | None = None, split: str | None = None) -> None:
        """Count one record read and excluded, with its reason."""
        self.writer.add_read(1)
        self.writer.exclude(reason, step="build", locator=_clean(locator), detail=_clean(detail), raw=_clean(raw),
                            row=row, split=split)
        self._tick()

    def bad(self, item: Bad, *, split: str | None = None) -> None:
        """Exclude a record that a reader could not read."""
        self.exclude(item.reason, locator=item.locator, detail=item.detail, raw=item.raw, split=split)

    def skip(self, reason: str, n: int = 1) -> None:
        """Count records left out by the user's selection (not read into the build)."""
        self.skipped[reason] += n

    def note(self, key: str, value: Any) -> None:
        """Add a key to the manifest."""
        self.writer.set_manifest(key, value)

    def _tick(self, n: int = 1) -> None:
        self._pending += n
        if self._pending >= 1000:
            self._bar.update(self._pending)
            self._pending = 0

    def _flush(self, split: str) -> None:
        rows = self._buffers.pop(split, [])
        if rows:
            self.writer.write(rows, split=split)
            self._tick(len(rows))

    # -- closing ------------------------------------------------------------------------------
    @property
    def written(self) -> int:
        return self.writer.written + sum(len(b) for b in self._buffers.values())

    def close(self) -> dict[str, Any]:
        for split in sorted(self._buffers):
            self._flush(split)
        self._bar.close()
        if self.skipped:
            self.writer.set_manifest("skipped", dict(sorted(self.skipped.items())))
        if self.inputs:
            self.writer.set_manifest("inputs", self.inputs)
        return self.writer.close()

    def abort(self) -> None:
        self._bar.close()
        self.writer.abort()

    def __enter__(self) -> Sink:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()


def base_row(source: str) -> dict[str, Any]:
    """A row with every core column set to None and ``source`` filled in."""
    row: dict[str, Any] = dict.fromkeys(CORE_COLUMNS)
    row["source"] = source
    return row
