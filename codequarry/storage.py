"""Where a pairs dir lives: a local path or an object-store URI (``s3://``, ``gs://``, ``hf://``, any fsspec URI).

``location(uri)`` turns what a user typed into a ``Location``: a ``pyarrow.fs`` filesystem and a
path inside it, so code that writes shards (the Ray engine's workers) or reads them does the same
thing on a laptop folder and on a bucket. ``s3://`` and ``gs://`` use Arrow's own native clients
(credentials and region from the usual environment variables and config files; an S3-compatible
endpoint from ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL`` or the URI's ``?endpoint_override=``
query); every other scheme with a ``://`` (``hf://``, ``gcs://``, ``abfs://``, ...) goes through
fsspec, wrapped for Arrow. A plain path (or ``file://``) is the local filesystem.

The location's string form is the URI again, so a ``Location`` can be sent to a Ray worker as a
plain string and rebuilt there with its own credentials.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from codequarry.errors import CodequarryError, one_line

_ARROW_SCHEMES = ("s3", "gs")


@dataclass(frozen=True)
class Location:
    """A folder on some filesystem: ``fs`` (a ``pyarrow.fs.FileSystem``), ``root`` (its path there), ``uri``."""

    uri: str
    fs: Any
    root: str

    @property
    def is_local(self) -> bool:
        return urlsplit(self.uri).scheme in ("", "file")

    def path(self, relative: str) -> str:
        """The filesystem path of ``relative`` (a ``/``-separated name inside the folder)."""
        if relative.startswith("/") or ".." in relative.split("/"):
            raise CodequarryError(f"{relative!r} is not a name inside {self.uri}")
        return f"{self.root.rstrip('/')}/{relative}" if relative else self.root

    def write_bytes(self, relative: str, data: bytes) -> None:
        """Write a whole file (object stores put it in one request; locally through a temporary name)."""
        target = self.path(relative)
        parent = target.rsplit("/", 1)[0]
        try:
            self.fs.create_dir(parent, recursive=True)
            if self.is_local:
                tmp = f"{target}.tmp.{os.getpid()}"
                with self.fs.open_output_stream(tmp) as fh:
                    fh.write(data)
                os.replace(tmp, target)
            else:
                with _hub_bars(self.uri), self.fs.open_output_stream(target) as fh:
                    fh.write(data)
        except (OSError, *_client_errors()) as exc:
            raise CodequarryError(f"cannot write {self.uri}/{relative}: {one_line(exc)}") from None

    def read_bytes(self, relative: str) -> bytes:
        try:
            with self.fs.open_input_stream(self.path(relative)) as fh:
                return bytes(fh.read())
        except FileNotFoundError:
            raise
        except (OSError, *_client_errors()) as exc:
            raise CodequarryError(f"cannot read {self.uri}/{relative}: {one_line(exc)}") from None

    def exists(self, relative: str) -> bool:
        import pyarrow.fs as pafs

        with self._errors("reach", relative):
            return self.fs.get_file_info(self.path(relative)).type != pafs.FileType.NotFound

    def delete_dir(self, relative: str) -> None:
        """Delete a folder inside the location and everything in it (nothing when it is absent)."""
        if self.exists(relative):
            with self._errors("delete", relative):
                self.fs.delete_dir(self.path(relative))

    def is_empty(self) -> bool:
        """Whether nothing is stored under the folder (one listing, not recursive)."""
        import pyarrow.fs as pafs

        with self._errors("list", ""):
            infos = self.fs.get_file_info(pafs.FileSelector(self.root, allow_not_found=True))
        return not infos

    def list_files(self, relative: str = "") -> list[str]:
        """Every file below ``relative``, as names relative to the location, sorted."""
        import pyarrow.fs as pafs

        base = self.path(relative) if relative else self.root
        if not self.exists(relative):
            return []
        with self._errors("list", relative):
            infos = self.fs.get_file_info(pafs.FileSelector(base, recursive=True))
        root = self.root.rstrip("/") + "/"
        return sorted(i.path[len(root):] for i in infos if i.type == pafs.FileType.File)

    @contextlib.contextmanager
    def _errors(self, what: str, relative: str) -> Iterator[None]:
        """A storage failure (an HTTP 401/403/5xx, a refused connection) as a one-line CodequarryError."""
        try:
            yield
        except FileNotFoundError:
            raise
        except (OSError, *_client_errors()) as exc:
            name = f"{self.uri}/{relative}" if relative else self.uri
            raise CodequarryError(f"cannot {what} {name}: {one_line(exc)}") from None

    def key(self) -> str:
        """A short stable name for this location (for local scratch folders that belong to it)."""
        return hashlib.sha256(self.uri.encode("utf-8")).hexdigest()[:16]


def open_parquet(path: str | os.PathLike[str]) -> Any:
    """A ``pyarrow.parquet.ParquetFile`` for a local path or an object-store URI (read through ``location``)."""
    import pyarrow.parquet as pq

    text = os.fspath(path)
    if not is_uri(text):
        return pq.ParquetFile(text)
    folder, name = text.rsplit("/", 1)
    loc = location(folder)
    return pq.ParquetFile(loc.fs.open_input_file(loc.path(name)))


def is_uri(value: str | os.PathLike[str]) -> bool:
    """Whether ``value`` names an object store (``scheme://...``) rather than a local path."""
    scheme = urlsplit(os.fspath(value)).scheme
    return "://" in os.fspath(value) and scheme not in ("", "file")


def location(value: str | os.PathLike[str]) -> Location:
    """The ``Location`` of a local path or a URI; an unknown scheme or missing client is a clear error."""
    import pyarrow.fs as pafs

    text = os.fspath(value)
    if not is_uri(text):
        path = os.path.abspath(text[len("file://"):] if text.startswith("file://") else text)
        return Location(path, pafs.LocalFileSystem(), path)
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme in _ARROW_SCHEMES:
        fs, root = _arrow_fs(scheme, text)
        return Location(text.split("?", 1)[0].rstrip("/"), fs, root.rstrip("/"))
    try:
        import fsspec
        from pyarrow.fs import PyFileSystem
    except ImportError:
        raise CodequarryError(f"{text}: reading {scheme}:// needs fsspec (pip install fsspec)") from None
    try:
        ffs, root = fsspec.core.url_to_fs(text)
    except (ImportError, ValueError) as exc:
        raise CodequarryError(f"{text}: no filesystem for {scheme}:// ({one_line(exc)}); install its fsspec "
                              "package (s3fs, gcsfs, huggingface_hub, adlfs, ...)") from None
    return Location(text.rstrip("/"), PyFileSystem(_handler()(ffs)), root.rstrip("/"))


@functools.cache
def _handler() -> type:
    """pyarrow's fsspec bridge, except that a file that cannot be reached stays that error.

    ``FSSpecHandler`` opens a file only after ``fs.isfile(path)``, which answers False on any OSError, so a
    refused token (HTTP 401), a server error or a lost connection would read as "no such file"; here the
    file's ``info`` is asked instead, and only a FileNotFoundError means absent."""
    from pyarrow import PythonFile
    from pyarrow.fs import FSSpecHandler

    class Handler(FSSpecHandler):
        def _open(self, path: str) -> Any:
            if self.fs.info(path).get("type") != "file":
                raise FileNotFoundError(path)
            return PythonFile(self.fs.open(path, mode="rb"), mode="r")

        def open_input_stream(self, path: str) -> Any:
            return self._open(path)

        def open_input_file(self, path: str) -> Any:
            return self._open(path)

    return Handler


def _arrow_fs(scheme: str, text: str) -> tuple[Any, str]:
    import pyarrow.fs as pafs

    parts = urlsplit(text)
    root = (parts.netloc + parts.path).rstrip("/")
    if scheme == "s3" and not parts.query:
        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        if endpoint:
            ep = urlsplit(endpoint)
            return pafs.S3FileSystem(endpoint_override=ep.netloc or ep.path, scheme=ep.scheme or "https",
                                     region=os.environ.get("AWS_DEFAULT_REGION", "us-east-1")), root
    try:
        fs, path = pafs.FileSystem.from_uri(text)
    except (pa_errors() + (ValueError,)) as exc:
        raise CodequarryError(f"{text}: cannot open ({one_line(exc)})") from None
    return fs, path


def _client_errors() -> tuple[type[BaseException], ...]:
    """HTTP errors a storage client raises that are not OSError (huggingface_hub's are; httpx's are not)."""
    try:
        import httpx2
    except ImportError:
        return ()
    return (httpx2.HTTPError,)


def pa_errors() -> tuple[type[BaseException], ...]:
    import pyarrow as pa

    return (pa.ArrowException, OSError)


def local_pairs_dir(uri: str | os.PathLike[str], cache: str | os.PathLike[str] | None = None) -> str:
    """A local folder holding the pairs dir at ``uri`` (a local path is returned as it is).

    An object-store pairs dir is copied once into ``cache`` (default ``$CODEQUARRY_CACHE_DIR`` or
    ``~/.cache/codequarry/remote``) ``/<hash of the URI>``: its manifest, card and the shards and
    exclusion files the manifest lists, nothing else (names are checked to stay inside the
    folder). A shard already there with the manifest's sha256 is not fetched again. The copy is
    then opened like any pairs dir, so it is checked against its manifest as usual.
    """
    from codequarry.pairs_layout import MANIFEST_NAME

    if not is_uri(uri):
        return os.fspath(uri)
    src = location(uri)
    base = cache or os.environ.get("CODEQUARRY_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache",
                                                                              "codequarry", "remote")
    dst = location(os.path.join(os.fspath(base), src.key()))
    try:
        raw = src.read_bytes(MANIFEST_NAME)
    except FileNotFoundError as exc:  # the reason says when the whole repo or bucket is missing
        raise CodequarryError(f"{src.uri} has no {MANIFEST_NAME} ({one_line(exc)}); is it a pairs dir written by "
                              "codequarry?") from None
    try:
        manifest = json.loads(raw)
    except ValueError as exc:
        raise CodequarryError(f"{src.uri}/{MANIFEST_NAME} is not valid JSON: {one_line(exc)}") from None
    if not isinstance(manifest, dict):
        raise CodequarryError(f"{src.uri}/{MANIFEST_NAME} is not a manifest (a JSON object)")
    wanted: list[tuple[str, str | None]] = []
    for key in ("files", "exclusion_files"):
        entries = manifest.get(key) or []
        if not isinstance(entries, list):
            raise CodequarryError(f"{src.uri}/{MANIFEST_NAME}: {key!r} must be a list")
        for e in entries:
            if not isinstance(e, dict) or not isinstance(e.get("path"), str):
                raise CodequarryError(f"{src.uri}/{MANIFEST_NAME}: an entry of {key!r} has no path")
            wanted.append((e["path"], e.get("sha256") if isinstance(e.get("sha256"), str) else None))
    for rel, sha in wanted:
        dst.path(rel)  # refuses names that leave the folder
        if sha is not None and _sha_of(dst, rel) == sha:
            continue
        dst.write_bytes(rel, src.read_bytes(rel))
    if src.exists("README.md"):
        dst.write_bytes("README.md", src.read_bytes("README.md"))
    dst.write_bytes(MANIFEST_NAME, raw)
    return dst.root


def staging_dir(uri: str | os.PathLike[str], kind: str = "out") -> Path:
    """The local folder where an object-store output is made before it is uploaded (or, for the Ray engine,
    where its work dir lives): ``$CODEQUARRY_WORK_DIR`` (default: the system temp folder)
    ``/codequarry-<kind>-<hash of the URI>``; a rerun of the same command finds it again."""
    import tempfile

    base = os.environ.get("CODEQUARRY_WORK_DIR") or tempfile.gettempdir()
    return Path(base) / f"codequarry-{kind}-{location(uri).key()}"


def upload_dir(folder: str | os.PathLike[str], uri: str, *, overwrite: bool = False) -> None:
    """Copy a finished local pairs dir to ``uri``, its manifest last (the manifest makes it a pairs dir).

    A pairs dir already at ``uri`` is replaced only with ``overwrite`` or when it is this very one
    (same manifest bytes: a rerun of a finished command). On the Hugging Face Hub (``hf://``) the whole
    folder is one commit: the Hub limits commits per repo and hour, and writing file by file through
    ``HfFileSystem`` would make one commit per shard."""
    from codequarry.pairs_layout import MANIFEST_NAME

    src, dst = location(folder), location(uri)
    if dst.exists(MANIFEST_NAME) and not overwrite and dst.read_bytes(MANIFEST_NAME) != src.read_bytes(MANIFEST_NAME):
        raise CodequarryError(f"{dst.uri} already holds a pairs dir; choose another --out or pass --overwrite")
    names = [n for n in src.list_files() if n != MANIFEST_NAME and not n.startswith(".")]
    if urlsplit(dst.uri).scheme.lower() == "hf":
        _commit_to_hub(src, dst, [*names, MANIFEST_NAME])
        return
    for name in [*names, MANIFEST_NAME]:
        dst.write_bytes(name, src.read_bytes(name))


def _commit_to_hub(src: Location, dst: Location, names: list[str]) -> None:
    """Upload the local files ``names`` of ``src`` to the ``hf://`` folder ``dst`` in one Hub commit."""
    from huggingface_hub import CommitOperationAdd, HfApi

    hffs = dst.fs.handler.fs  # the HfFileSystem behind the Arrow wrapper (its endpoint and token)
    try:
        repo = hffs.resolve_path(dst.root)
        prefix = f"{repo.path_in_repo}/" if repo.path_in_repo else ""
        ops = [CommitOperationAdd(path_in_repo=prefix + name, path_or_fileobj=src.path(name)) for name in names]
        with _hub_bars(dst.uri):
            HfApi(endpoint=hffs.endpoint, token=hffs.token).create_commit(
                repo.repo_id, ops, repo_type=repo.repo_type, revision=repo.revision,
                commit_message=f"codequarry: upload a pairs dir ({len(names)} files)")
    except (OSError, ValueError, *_client_errors()) as exc:
        raise CodequarryError(f"cannot write {dst.uri}: {one_line(exc)}") from None
    finally:
        hffs.invalidate_cache()


@contextlib.contextmanager
def _hub_bars(uri: str) -> Iterator[None]:
    """huggingface_hub's upload bars (``hf://``) follow codequarry's rule: off with ``-q``, without a terminal."""
    from codequarry.progress import bars_off

    if urlsplit(uri).scheme.lower() != "hf" or not bars_off():
        yield
        return
    from huggingface_hub.utils import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

    was_off = are_progress_bars_disabled()
    disable_progress_bars()
    try:
        yield
    finally:
        if not was_off:
            enable_progress_bars()


def _sha_of(loc: Location, relative: str) -> str | None:
    if not loc.exists(relative):
        return None
    h = hashlib.sha256()
    with loc.fs.open_input_stream(loc.path(relative)) as fh:
        while block := fh.read(1 << 20):
            h.update(block)
    return h.hexdigest()
