"""Shared pytest fixtures: paths to real data every machine has, and the optional ../shared/data files."""

from __future__ import annotations

import os
import sysconfig
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("CODEQUARRY_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real third-party sample files (../shared/data); tests using them skip when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} not present (real sample files are optional)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def stdlib_dir() -> Path:
    """The installed Python standard library: real code present on every machine."""
    return Path(sysconfig.get_paths()["stdlib"])


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never reach the network: the Hub libraries fail fast instead of hanging."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.setenv("CODEQUARRY_PROGRESS", "0")


@pytest.fixture
def exclusions():
    """All exclusion records of a pairs dir as dicts."""
    import pyarrow.parquet as pq

    def read(path: Path) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for f in sorted((Path(path) / "exclusions").glob("*.parquet")):
            rows += pq.read_table(f).to_pylist()
        return rows

    return read
