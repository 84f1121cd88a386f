"""Fetch a benchmark task's data on demand into a cache, from pinned sources (``codequarry download``).

* ``data_root(cache_dir)``: ``--cache-dir`` / ``$CODEQUARRY_CACHE`` / ``~/.cache/codequarry``, then ``data/``.
* ``fetch_sources(sources, ...)``: make every source present and verified; returns the task's ``--data``
  value (one path, or ``{name: path}``).
* ``task_sources(task)`` / ``fetch_task(task)``: the same from a task's ``data`` block in ``tasks.yaml``.

Files are shared between tasks: an HTTP file's place in the cache comes from its URL, a Hub repo's from
its id and commit. A URL without a pinned sha256 has its digest recorded in ``checksums.json`` on the
first download, and every later use is checked against it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from codequarry.errors import CodequarryError
from codequarry.fetch.http import FetchError, OfflineError, download, offline_requested, sha256_file
from codequarry.fetch.sources import (
    HttpSource,
    HubSource,
    ManualSource,
    Source,
    SourceError,
    parse_sources,
    validate_block,
)

__all__ = ["FetchError", "HttpSource", "HubSource", "ManualSource", "ManualDataError", "OfflineError", "Source",
           "SourceError", "data_root", "fetch_sources", "fetch_task", "offline_requested", "parse_sources",
           "task_sources", "validate_block"]

CHECKSUMS = "checksums.json"


class ManualDataError(CodequarryError):
    """The task's data has no stable public source: the message says how to obtain it."""


def data_root(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The data cache: ``{cache_dir or $CODEQUARRY_CACHE or ~/.cache/codequarry}/data``."""
    if cache_dir is None:
        env = os.environ.get("CODEQUARRY_CACHE")
        base = Path(env).expanduser() if env else Path.home() / ".cache" / "codequarry"
    else:
        base = Path(cache_dir).expanduser()
    return base / "data"


# ---------------------------------------------------------------------------------------------
# recorded checksums and verification


def _load_checksums(root: Path) -> dict[str, dict[str, Any]]:
    path = root / CHECKSUMS
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise FetchError(f"{path}: unreadable ({exc}); delete it to record checksums again") from None
    return data if isinstance(data, dict) else {}


def _record_checksum(root: Path, url: str, digest: str, size: int) -> None:
    _record(root, url, {"sha256": digest, "size": size})


def _record(root: Path, key: str, value: dict[str, Any]) -> None:
    """Add one entry to ``checksums.json`` (written atomically)."""
    data = _load_checksums(root)
    data[key] = value
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".{CHECKSUMS}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, root / CHECKSUMS)


def count_rows(path: Path) -> int:
    """Rows of a data file: items of a JSON list/object, records of a CSV (header excluded), else non-blank lines."""
    name = path.name.lower()
    if name.endswith(".json"):
        with open(path, encoding="utf-8") as fh:
            value = json.load(fh)
        return len(value) if isinstance(value, (list, dict)) else 1
    if name.endswith(".csv"):
        import csv

        with open(path, encoding="utf-8-sig", newline="") as fh:
            return max(0, sum(1 for row in csv.reader(fh) if row) - 1)
    if name.endswith((".zip", ".gz", ".parquet", ".pkl", ".pickle")):
        raise FetchError(f"{path}: row counts are not checked for {path.suffix} files; drop 'rows' from its source")
    with open(path, encoding="utf-8", errors="replace") as fh:
        head = fh.read(64).lstrip()
        fh.seek(0)
        if head[:1] in ("{", "["):  # a JSON document in a .txt (CoSQA's code_idx_map.txt)
            try:
                value = json.load(fh)
                return len(value) if isinstance(value, (list, dict)) else 1
            except json.JSONDecodeError:
                fh.seek(0)
        return sum(1 for line in fh if line.strip())


def _stamp(path: Path) -> str:
    st = path.stat()
    return f"{st.st_size}:{st.st_mtime_ns}"


def _verified(path: Path, digest: str) -> bool:
    """True when the sidecar says ``path`` (same size and mtime) was already hashed to ``digest``."""
    side = path.with_name(path.name + ".sha256")
    try:
        return side.read_text(encoding="utf-8").split() == [digest, _stamp(path)]
    except OSError:
        return False


def _mark_verified(path: Path, digest: str) -> None:
    path.with_name(path.name + ".sha256").write_text(f"{digest} {_stamp(path)}\n", encoding="utf-8")


def _fetch_http(src: HttpSource, root: Path, *, progress: bool) -> Path:
    dest = root / src.cache_path
    recorded = _load_checksums(root).get(src.url, {})
    want = src.sha256 or recorded.get("sha256")
    if dest.is_file():
        if want and _verified(dest, want):
            return dest
        digest = sha256_file(dest)
        if want and digest != want:
            raise FetchError(f"{dest}: sha256 {digest} does not match {'the pinned' if src.sha256 else 'the recorded'} "
                             f"{want} for {src.url}; delete the file to download it again")
    else:
        digest = download(src.url, dest, sha256=want, size=src.size, progress=progress)
    if src.size is not None and dest.stat().st_size != src.size:
        raise FetchError(f"{dest}: {dest.stat().st_size} bytes, expected {src.size} for {src.url}")
    if src.rows is not None:
        got = count_rows(dest)
        if got != src.rows:
            raise FetchError(f"{dest}: {got} rows, expected {src.rows} for {src.url}")
    if not src.sha256 and not recorded:
        _record_checksum(root, src.url, digest, dest.stat().st_size)
    _mark_verified(dest, digest)
    return dest


def _recorded_commit(root: Path, repo_id: str) -> str:
    """An unpinned Hub repo's commit: the one recorded on its first download, else ``main``'s now (then recorded)."""
    key = f"hub:{repo_id}"
    recorded = _load_checksums(root).get(key, {}).get("revision")
    if recorded:
        return str(recorded)
    from codequarry.fetch.hub import repo_folder

    url = f"https://huggingface.co/datasets/{repo_id}"
    if offline_requested():
        raise OfflineError(f"cannot resolve the current commit of {url} (offline mode: HF_HUB_OFFLINE/"
                           f"CODEQUARRY_OFFLINE is set); run `codequarry download TASK` with network, or place the "
                           f"repo's files in {repo_folder(root, repo_id)}/snapshots/COMMIT and record COMMIT under "
                           f"{key!r} in {root / CHECKSUMS}")
    from huggingface_hub import HfApi

    try:
        commit = str(HfApi().dataset_info(repo_id, revision="main").sha)
    except Exception as exc:  # noqa: BLE001 - no network / unknown repo: one line
        raise OfflineError(f"cannot resolve the current commit of {url} ({type(exc).__name__}); place the repo's "
                           f"files in {repo_folder(root, repo_id)}/snapshots/COMMIT") from None
    _record(root, key, {"revision": commit})
    return commit


# ---------------------------------------------------------------------------------------------
# sources → the task's --data value


def fetch_sources(sources: Sequence[Source], *, cache_dir: str | os.PathLike[str] | None = None,
                  progress: bool = True, task_name: str = "task") -> Any:
    """Make every source present and verified; return ``--data``: one path, or ``{input: path}``."""
    root = data_root(cache_dir)
    manual = [s for s in sources if isinstance(s, ManualSource)]
    if manual:
        raise ManualDataError(f"{task_name}: no stable public download; {manual[0].instructions}")
    inputs: dict[str, Path] = {}
    for src in sources:
        if isinstance(src, HubSource):
            from codequarry.fetch.hub import snapshot

            revision = src.revision or _recorded_commit(root, src.repo_id)
            inputs[src.input] = snapshot(src.repo_id, revision, root, files=src.files, rows=src.rows)
        elif isinstance(src, HttpSource):
            path = _fetch_http(src, root, progress=progress)
            if src.input == "" and src.give == "folder":
                if "" in inputs and inputs[""] != path.parent:
                    raise SourceError(f"{task_name}: unnamed sources land in different folders "
                                      f"({inputs['']} and {path.parent}); give them one path prefix")
                inputs[""] = path.parent
            else:
                inputs[src.input] = path
    if set(inputs) == {""}:
        return inputs[""]
    return {name: str(path) for name, path in inputs.items()}


def task_sources(task: Any) -> tuple[Source, ...]:
    """The parsed ``data`` block of a task (empty when it declares none): ``task.options["data"]`` (set per task,
    e.g. each CoIR Hub dataset), else the task's ``data`` field, else its ``tasks.yaml`` family entry's."""
    block = (getattr(task, "options", None) or {}).get("data")  # per-task sources (Hub datasets) first
    if block is None:
        block = getattr(task, "data", None)
    if block is None:
        from codequarry.benchmarks.tasks import families

        specs = families()
        spec = specs.get(str(task.name).split("/", 1)[0]) or specs.get(getattr(task, "family", ""), {})
        block = spec.get("data")
    language = task.languages[0] if len(getattr(task, "languages", ())) == 1 else None
    return parse_sources(block, language=language, where=f"tasks.yaml task {task.name!r}")


def fetch_task(task: Any, *, cache_dir: str | os.PathLike[str] | None = None, progress: bool = True) -> Any:
    """Fetch a task's declared sources; None when it declares none (then ``--data`` is required)."""
    sources = task_sources(task)
    if not sources:
        return None
    return fetch_sources(sources, cache_dir=cache_dir, progress=progress, task_name=task.name)


def fetch_tasks(tasks: Iterable[Any], **kw: Any) -> dict[str, Any]:
    """``codequarry download``: fetch each task's sources; ``{task name: --data value or None}``."""
    return {t.name: fetch_task(t, **kw) for t in tasks}
