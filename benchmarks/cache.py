"""Embedding cache: vectors keyed by model key + sha256 of each text, append-only, resumable.

Layout under ``root/embeddings/<sha256(model_key)[:32]>/``:

* ``key.txt``      the model key (model + revision + settings, built by the caller), checked on open;
* ``vectors.f32``  float32 rows, appended in commit order;
* ``hashes.bin``   32-byte sha256 digests of the texts, one per row, same order;
* ``index.json``   ``{"version": 1, "dim": d, "rows": n}`` written atomically after each batch is appended
  and flushed. Bytes past ``rows`` in the data files (a batch torn by a crash) are ignored and truncated
  before the next append, so an interrupted run keeps every committed batch and recomputes only the rest.

Appends take an exclusive ``fcntl`` lock (where available) so two processes never interleave writes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

from codequarry.errors import CodequarryError
from codequarry.progress import progress

ENCODE_PROGRESS_DELAY_S = 2.0  # an encode shorter than this shows no bar

_DIGEST = 32
_VERSION = 1


def default_cache_root() -> Path:
    """``$CODEQUARRY_CACHE`` or ``~/.cache/codequarry``."""
    env = os.environ.get("CODEQUARRY_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "codequarry"


def model_key(**parts: object) -> str:
    """A canonical model key from named parts (name, revision, settings …): sorted-key compact JSON."""
    return json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)


def text_digest(text: str) -> bytes:
    """sha256 of the UTF-8 text (the per-text cache key)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


def _atomic_write(path: Path, data: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "a+b") as fh:
        try:
            import fcntl
        except ImportError:  # Windows: no advisory lock
            yield
            return
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


class _Store:
    """One model key's files: committed rows, digest → row lookup, and appends."""

    def __init__(self, folder: Path, key: str) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        key_file = folder / "key.txt"
        if key_file.exists():
            stored = key_file.read_text(encoding="utf-8")
            if stored != key:
                raise CodequarryError(f"embedding cache {folder}: holds key {stored!r}, not {key!r} "
                                      "(hash collision or edited file); delete the folder to rebuild it")
        else:
            _atomic_write(key_file, key)
        self.vectors = folder / "vectors.f32"
        self.hashes = folder / "hashes.bin"
        self.index = folder / "index.json"
        self.dim: int | None = None
        self.rows = 0
        self.lookup: dict[bytes, int] = {}
        self.reload()

    def _committed(self) -> tuple[int | None, int]:
        try:
            meta = json.loads(self.index.read_text(encoding="utf-8"))
            return int(meta["dim"]), int(meta["rows"])
        except (OSError, ValueError, KeyError, TypeError):
            return None, -1

    def reload(self) -> None:
        """Read the committed rows; anything past them in the data files is a torn batch and is ignored."""
        dim, rows = None, 0
        if self.index.exists():
            try:
                meta = json.loads(self.index.read_text(encoding="utf-8"))
                dim, rows = int(meta["dim"]), int(meta["rows"])
            except (ValueError, KeyError, TypeError) as exc:
                raise CodequarryError(f"embedding cache index {self.index} is unreadable ({exc}); "
                                      f"delete {self.folder} to rebuild it") from exc
        if dim is not None and rows:
            have_vec = self.vectors.stat().st_size // (4 * dim) if self.vectors.exists() else 0
            have_hash = self.hashes.stat().st_size // _DIGEST if self.hashes.exists() else 0
            rows = min(rows, have_vec, have_hash)  # a lost tail (unflushed before a crash) is recomputed
        self.dim, self.rows = dim, rows
        self.lookup = {}
        if rows:
            with open(self.hashes, "rb") as fh:
                raw = fh.read(rows * _DIGEST)
            for i in range(rows):
                self.lookup.setdefault(raw[i * _DIGEST:(i + 1) * _DIGEST], i)

    def append(self, digests: list[bytes], vecs: np.ndarray) -> None:
        """Append one batch and commit it (flush, fsync, then atomically rewrite the index)."""
        with _locked(self.folder / ".lock"):
            if self._committed() != (self.dim, self.rows):
                self.reload()  # another process committed meanwhile
            if self.dim is None:
                self.dim = int(vecs.shape[1])
            elif vecs.shape[1] != self.dim:
                raise CodequarryError(f"embedding cache {self.folder}: encoder returned dimension {vecs.shape[1]} "
                                      f"but the cache holds {self.dim}; the model key must change with the model")
            fresh = [i for i, d in enumerate(digests) if d not in self.lookup]
            if fresh:
                for path, size in ((self.vectors, self.rows * 4 * self.dim), (self.hashes, self.rows * _DIGEST)):
                    with open(path, "ab") as fh:
                        fh.truncate(size)  # drop a torn tail before appending
                with open(self.vectors, "ab") as fv, open(self.hashes, "ab") as fd:
                    fv.write(np.ascontiguousarray(vecs[fresh], dtype="<f4").tobytes())
                    fd.write(b"".join(digests[i] for i in fresh))
                    fv.flush()
                    fd.flush()
                    os.fsync(fv.fileno())
                    os.fsync(fd.fileno())
                for j, i in enumerate(fresh):
                    self.lookup[digests[i]] = self.rows + j
                self.rows += len(fresh)
                _atomic_write(self.index, json.dumps({"version": _VERSION, "dim": self.dim, "rows": self.rows}))

    def read(self, rows: np.ndarray) -> np.ndarray:
        """The committed vectors at ``rows`` (float32)."""
        if not rows.size:
            return np.zeros((0, self.dim or 0), dtype=np.float32)
        mm = np.memmap(self.vectors, dtype="<f4", mode="r", shape=(self.rows, self.dim))
        return np.asarray(mm[rows], dtype=np.float32)


class EmbeddingCache:
    """Cache of text embeddings under ``root`` keyed by (model key, sha256 of text); see the module docstring."""

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root).expanduser() if root is not None else default_cache_root()

    def folder(self, model_key: str) -> Path:
        """Where one model key's vectors live."""
        return self.root / "embeddings" / hashlib.sha256(model_key.encode("utf-8")).hexdigest()[:32]

    def encode(self, model_key: str, texts: Sequence[str], encode_fn: Callable[[list[str]], np.ndarray], *,
               batch_size: int = 256, progress_desc: str | None = None) -> np.ndarray:
        """Vectors (len(texts) × dim, float32) for ``texts``, calling ``encode_fn`` only on texts not cached yet.

        Missing texts are deduplicated, sorted by length (longest first, so batches pad little and memory
        peaks early), encoded in batches of ``batch_size`` and committed batch by batch; the output is in
        input order. An exception inside ``encode_fn`` leaves every finished batch in the cache.
        """
        if not model_key:
            raise CodequarryError("embedding cache: empty model key; include model name, revision and settings")
        if batch_size < 1:
            raise CodequarryError(f"embedding cache: batch_size must be positive, got {batch_size}")
        texts = list(texts)
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise CodequarryError(f"embedding cache: text #{i} is {type(t).__name__}, not str")
        store = _Store(self.folder(model_key), model_key)
        digests = [text_digest(t) for t in texts]
        missing: dict[bytes, str] = {}
        for d, t in zip(digests, texts):
            if d not in store.lookup and d not in missing:
                missing[d] = t
        if missing:
            todo = sorted(missing.items(), key=lambda item: (-len(item[1]), item[0]))
            # shown on a terminal or not (logs of long runs), once an encode lasts ENCODE_PROGRESS_DELAY_S
            bar = progress(total=len(todo), desc=progress_desc or "encoding", unit="text", always=True,
                           delay=ENCODE_PROGRESS_DELAY_S)
            try:
                for b0 in range(0, len(todo), batch_size):
                    batch = todo[b0:b0 + batch_size]
                    batch_texts = [t for _, t in batch]
                    vecs = self._check(encode_fn(batch_texts), batch_texts)
                    store.append([d for d, _ in batch], vecs)
                    bar.update(len(batch))
            finally:
                bar.close()
        rows = np.fromiter((store.lookup[d] for d in digests), dtype=np.int64, count=len(digests))
        return store.read(rows)

    @staticmethod
    def _check(vecs: object, texts: list[str]) -> np.ndarray:
        n = len(texts)
        if hasattr(vecs, "detach"):  # a torch tensor
            vecs = vecs.detach().cpu().float().numpy()
        arr = np.asarray(vecs, dtype=np.float32)
        if arr.ndim != 2 or arr.shape[0] != n:
            raise CodequarryError(f"embedding cache: encoder returned shape {arr.shape} for {n} texts; "
                                  "it must return one vector per text (n × dim)")
        bad = ~np.isfinite(arr).all(axis=1)
        if bad.any():
            first = texts[int(np.flatnonzero(bad)[0])]
            raise CodequarryError(f"embedding cache: encoder returned NaN/inf for {int(bad.sum())} text(s), "
                                  f"first for {first[:80]!r}; nothing from this batch was cached")
        return arr

    def stats(self, model_key: str) -> dict[str, int | None]:
        """Committed row count and dimension for one model key (0/None when nothing is cached)."""
        folder = self.folder(model_key)
        if not folder.exists():
            return {"rows": 0, "dim": None}
        store = _Store(folder, model_key)
        return {"rows": store.rows, "dim": store.dim}
