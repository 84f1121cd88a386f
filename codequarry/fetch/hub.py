"""Hub dataset repos at a pinned commit, through ``huggingface_hub.snapshot_download``.

The snapshot lives in the Hub's own cache layout under the codequarry data cache
(``{cache}/hub/datasets--OWNER--NAME/snapshots/COMMIT/…``), so a folder copied from another machine's cache
(or from ``huggingface-cli download --cache-dir``) is found without network. A cached snapshot is used
first; only when it is missing is the Hub asked. Row counts are checked from the Parquet footers.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from pathlib import Path

from codequarry.fetch.http import FetchError, OfflineError, offline_requested


def repo_folder(cache: Path, repo_id: str) -> Path:
    """The Hub cache folder of a dataset repo (``datasets--owner--name``)."""
    return cache / "hub" / ("datasets--" + repo_id.replace("/", "--"))


def snapshot(repo_id: str, revision: str, cache: Path, *, files: tuple[str, ...] = (),
             rows: Mapping[str, int] | None = None) -> Path:
    """The local folder of ``repo_id`` at ``revision`` (downloaded when not cached); rows per split verified."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    hub_cache = cache / "hub"
    patterns = list(files) or None
    where = repo_folder(cache, repo_id) / "snapshots" / revision
    url = f"https://huggingface.co/datasets/{repo_id}/tree/{revision}"
    try:
        path = snapshot_download(repo_id, repo_type="dataset", revision=revision, cache_dir=str(hub_cache),
                                 allow_patterns=patterns, local_files_only=True)
    except (LocalEntryNotFoundError, OSError):
        if offline_requested():
            raise OfflineError(f"cannot download {url} (offline mode: HF_HUB_OFFLINE/CODEQUARRY_OFFLINE is set); "
                               f"on a machine with network run `codequarry download TASK`, or place the repo's files "
                               f"in {where}") from None
        try:
            path = snapshot_download(repo_id, repo_type="dataset", revision=revision, cache_dir=str(hub_cache),
                                     allow_patterns=patterns)
        except LocalEntryNotFoundError as exc:  # the Hub could not be reached
            raise OfflineError(f"cannot download {url} (no network: {str(exc).splitlines()[0]}); place the repo's "
                               f"files in {where} or run `codequarry download TASK` where there is network") from None
        except Exception as exc:  # RepositoryNotFound, RevisionNotFound, HTTP errors: one line, no traceback
            raise FetchError(f"cannot download {url}: {type(exc).__name__}: {str(exc).splitlines()[0]}") from None
    folder = Path(path)
    if files and not any(_matches(p.relative_to(folder).as_posix(), files) for p in folder.rglob("*") if p.is_file()):
        raise FetchError(f"{folder}: no file matches {', '.join(files)} in {repo_id}@{revision}")
    if rows:
        check_rows(folder, rows, what=f"{repo_id}@{revision[:12]}")
    return folder


def _matches(path: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatch(path, p) for p in patterns)


def parquet_rows(folder: Path, split: str) -> int:
    """Rows of a split's Parquet files (``{split}-*.parquet`` or ``{split}.parquet`` anywhere in the folder)."""
    import pyarrow.parquet as pq

    files = sorted(p for p in folder.rglob("*.parquet")
                   if p.name == f"{split}.parquet" or p.name.startswith(f"{split}-"))
    if not files:
        raise FetchError(f"{folder}: no Parquet file for split {split!r}")
    return sum(pq.ParquetFile(p).metadata.num_rows for p in files)


def check_rows(folder: Path, rows: Mapping[str, int], *, what: str) -> None:
    for split, want in rows.items():
        got = parquet_rows(folder, split)
        if got != want:
            raise FetchError(f"{what}: split {split!r} has {got} rows, expected {want} (incomplete or wrong revision)")
