"""Download one file over HTTP(S): atomic (``.part`` then rename), resumable (``Range``), verified (sha256, size).

A dropped connection is retried from where it stopped with ``Range: bytes=N-``; a server that ignores the
range (200 instead of 206) restarts the file. The partial file survives an interrupted process, so the next
run resumes too. Only after the size and sha256 check pass is the file renamed into place; a wrong checksum
deletes the partial file and raises, so a bad file never sits in the cache.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path

from codequarry.errors import CodequarryError

CHUNK = 1 << 20
USER_AGENT = "codequarry-fetch"
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")


class FetchError(CodequarryError):
    """A download that failed or did not verify."""


class OfflineError(FetchError):
    """No network (or offline mode): the message names the URL and the folder to place the file in."""


def offline_requested() -> bool:
    """``HF_HUB_OFFLINE=1`` (or ``CODEQUARRY_OFFLINE=1``) asks for no network access at all."""
    return any(os.environ.get(v, "").strip().lower() in {"1", "true", "yes", "on"}
               for v in ("HF_HUB_OFFLINE", "CODEQUARRY_OFFLINE"))


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _offline_message(url: str, dest: Path, why: str) -> str:
    return (f"cannot download {url} ({why}); on a machine with network run `codequarry download TASK`, or place "
            f"the file as {dest.name} in {dest.parent} (or pass --data)")


def download(url: str, dest: Path, *, sha256: str | None = None, size: int | None = None, retries: int = 5,
             timeout: float = 60.0, progress: bool = True) -> str:
    """Fetch ``url`` into ``dest`` (atomically) and return the file's sha256; resume a leftover ``dest.part``."""
    dest = Path(dest)
    if offline_requested():
        raise OfflineError(_offline_message(url, dest, "offline mode: HF_HUB_OFFLINE/CODEQUARRY_OFFLINE is set"))
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    attempt = 0
    while True:
        try:
            _transfer(url, part, size=size, timeout=timeout, progress=progress)
            break
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            if isinstance(exc, urllib.error.HTTPError) and exc.code not in (408, 429, 500, 502, 503, 504):
                raise FetchError(f"cannot download {url}: HTTP {exc.code} {exc.reason}") from None
            if _no_network(exc) and (attempt >= 1 or not part.exists()):
                raise OfflineError(_offline_message(url, dest, f"no network: {_reason(exc)}")) from None
            attempt += 1
            if attempt > retries:
                raise FetchError(f"cannot download {url} after {retries} retries ({_reason(exc)}); "
                                 f"rerun to resume from {part}") from None
            time.sleep(min(0.2 * 2 ** attempt, 5.0))
    got = part.stat().st_size
    if size is not None and got != size:
        part.unlink(missing_ok=True)
        raise FetchError(f"{url}: got {got} bytes, expected {size}; the partial file was removed")
    digest = sha256_file(part)
    if sha256 is not None and digest != sha256:
        part.unlink(missing_ok=True)
        raise FetchError(f"{url}: sha256 {digest} does not match the pinned {sha256}; the file was removed "
                         "(the source changed or the download is corrupt)")
    os.replace(part, dest)
    return digest


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    return str(reason or exc) or type(exc).__name__


def _no_network(exc: BaseException) -> bool:
    """A failure to reach the host at all (name resolution, refused, unreachable), not a dropped transfer."""
    reason = getattr(exc, "reason", exc)
    return isinstance(reason, (socket.gaierror, ConnectionRefusedError)) or (
        isinstance(reason, OSError) and reason.errno in (101, 113))  # ENETUNREACH, EHOSTUNREACH


def _transfer(url: str, part: Path, *, size: int | None, timeout: float, progress: bool) -> None:
    """One request: continue ``part`` from its length with a Range request, or start it over."""
    have = part.stat().st_size if part.exists() else 0
    if size is not None and have == size:
        return
    if size is not None and have > size:
        part.unlink()
        have = 0
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 - http(s) only (checked in sources)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # range past the end: the partial file is whole or stale; start over
            part.unlink()
            raise http.client.HTTPException("range not satisfiable; restarting") from None
        raise
    with response:
        total: int | None = None
        mode = "ab"
        if have and response.status == 206:
            m = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
            if not m or int(m.group(1)) != have:
                raise http.client.HTTPException(f"unexpected Content-Range {response.headers.get('Content-Range')!r}")
            total = int(m.group(3)) if m.group(3) != "*" else None
        else:
            mode, have = "wb", 0  # no range support: start over
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
        total = total or size
        from tqdm.auto import tqdm

        from codequarry.progress import progress as bar

        kw = dict(total=total, initial=have, desc=part.name[:-5], unit="B", unit_scale=True, unit_divisor=1024)
        with open(part, mode) as fh, (bar(**kw) if progress else tqdm(disable=True, **kw)) as pbar:
            while True:
                block = response.read(CHUNK)
                if not block:
                    break
                fh.write(block)
                pbar.update(len(block))
        got = part.stat().st_size
        if total is not None and got < total:
            raise http.client.IncompleteRead(b"", total - got)
