"""How publish reads the Hub's failures: offline mode, the HTTP statuses worth a retry (and how long to wait), and
one-line errors that say what to do. Kept apart from the publish loop so that the loop stays one job."""

from __future__ import annotations

import email.utils
import os
import time

from codequarry.errors import CodequarryError

MAX_RETRY_AFTER_S = 3600.0
LOGIN_HINT = ("log in with `hf auth login` (or set HF_TOKEN) using a token with write access "
              "from https://huggingface.co/settings/tokens")


class _Conflict(Exception):
    """The branch moved under us (HTTP 409/412): re-read and re-plan."""


def hub_offline() -> bool:
    """Whether huggingface_hub offline mode is on (read now: the library reads it only at import)."""
    if os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in {"1", "ON", "YES", "TRUE"}:
        return True
    from huggingface_hub import constants

    check = getattr(constants, "is_offline_mode", None)
    return bool(check() if callable(check) else getattr(constants, "HF_HUB_OFFLINE", False))


def _status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    code = getattr(response, "status_code", None)
    return int(code) if isinstance(code, int) else None


def _is_offline(exc: BaseException) -> bool:
    return any(c.__name__ == "OfflineModeIsEnabled" for c in type(exc).__mro__)


def _is_network(exc: BaseException) -> bool:
    if _status(exc) is not None or _is_offline(exc):
        return False
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return True
    names = {c.__name__ for c in type(exc).__mro__}
    # httpx/httpx2 (huggingface_hub ≥ 1.0) and requests (older releases) name their network errors so
    return bool(names & {"TransportError", "TimeoutException", "NetworkError", "ConnectTimeout", "ReadTimeout",
                         "ConnectionError", "Timeout", "ChunkedEncodingError"})


def _retry_after(exc: BaseException) -> float | None:
    headers = getattr(getattr(exc, "response", None), "headers", None) or {}
    value = headers.get("Retry-After") or headers.get("retry-after")
    if not value:
        return None
    try:
        return min(MAX_RETRY_AFTER_S, max(0.0, float(value)))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return min(MAX_RETRY_AFTER_S, max(0.0, when.timestamp() - time.time()))


def _server_message(exc: BaseException) -> str:
    msg = getattr(exc, "server_message", None) or str(exc)
    return " ".join(str(msg).split())[:300]


def hub_error(exc: BaseException, *, what: str, repo_id: str, revision: str | None = None,
              retries: int = 0) -> CodequarryError | None:
    """The user-facing error for a Hub failure, or None when ``exc`` is not a Hub/network failure."""
    status = _status(exc)
    names = {c.__name__ for c in type(exc).__mro__}
    after = f" (after {retries} retries)" if retries else ""
    if _is_offline(exc):
        return CodequarryError("cannot publish while HF_HUB_OFFLINE=1 is set: unset it to reach the Hub, "
                               "or pass --dry-run --out FOLDER to build the upload folder without the network")
    if status == 401:
        return CodequarryError(f"the Hub refused the credentials while {what} {repo_id} (HTTP 401): {LOGIN_HINT}; "
                               "a private repo your token cannot see also answers 401")
    if status == 403:
        return CodequarryError(f"permission denied while {what} {repo_id} (HTTP 403): the token cannot write to the "
                               f"namespace '{repo_id.split('/')[0]}' (a read-only token, or you are not a member of that "
                               f"organisation with write rights); {LOGIN_HINT}")
    if status == 404 or "RepositoryNotFoundError" in names or "RevisionNotFoundError" in names:
        thing = (f"revision '{revision}' of {repo_id}" if "RevisionNotFoundError" in names and revision
                 else f"repository {repo_id} (or its namespace '{repo_id.split('/')[0]}')")
        return CodequarryError(f"not found while {what}: {thing} does not exist or is not visible to your token "
                               f"(HTTP {status or 404}); check --repo-id ORG/NAME and that the user or organisation exists")
    if status == 429:
        return CodequarryError(f"the Hub rate-limited {what} {repo_id} (HTTP 429){after}: it allows about 128 commits per "
                               "hour per repo; wait and rerun the same command — files already on the Hub are skipped")
    if status is not None and status >= 500:
        return CodequarryError(f"the Hub failed while {what} {repo_id} (HTTP {status}){after}: {_server_message(exc)}; "
                               "rerun the same command later — files already on the Hub are skipped")
    if status is not None:
        return CodequarryError(f"the Hub refused {what} {repo_id} (HTTP {status}): {_server_message(exc)}")
    if _is_network(exc):
        return CodequarryError(f"could not reach the Hub while {what} {repo_id}{after}: {exc}; check the network "
                               "(and HF_ENDPOINT if you set it), then rerun the same command to resume")
    return None
