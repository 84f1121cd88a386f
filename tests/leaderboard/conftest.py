"""Fixtures for the leaderboard tests: the fixture results folder and a factory for result JSON files."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def results_dir() -> Path:
    """Hand-made result files in the exact docs/formats.md §4 layout (see fixtures/README.md)."""
    return FIXTURES / "results"


def result_dict(*, model: str = "m", task: str = "cosqa", family: str = "cosqa", language: str | None = "python",
                split: str = "test", protocol: str = "cosqa-pool-mrr", main: str = "mrr",
                per_query: dict[str, float] | None = None, score: float | None = None,
                ci: list[float] | None = None, spec: str | None = None, revision: str | None = None,
                date: str = "2026-11-29T13:00:00Z", fingerprint: str = "sha256:abc") -> dict[str, Any]:
    """A result JSON object as `codequarry bench` writes it (docs/formats.md §4)."""
    if score is None:
        score = sum(per_query.values()) / len(per_query) if per_query else 0.5
    data: dict[str, Any] = {
        "schema_version": 1, "kind": "codequarry-result",
        "task": {"name": task, "family": family, "language": language, "split": split, "protocol": protocol,
                 "main_score": main, "revision": "r1", "data_fingerprint": fingerprint, "citation": "c",
                 "num_queries": len(per_query or {}), "num_docs": 10,
                 "query_averaging": "all-qrels-queries-missing-zero"},
        "model": {"spec": spec or model, "name": model, "revision": revision, "settings": {}},
        "scores": {main: score}, "main_score": score,
        "ci_method": {"kind": "bootstrap-percentile", "resamples": 1000, "seed": 0, "level": 0.95},
        "provenance": {"codequarry_version": "0.1.0", "packages": {}, "python": "3.11.7",
                       "hardware": {"cpu": "x", "cores": 2, "gpu": None}, "wall_time_s": 1.0, "date": date,
                       "command": "codequarry bench", "seed": 0},
    }
    if ci is not None:
        data["ci"] = {main: ci}
    if per_query is not None:
        data["per_query"] = {main: per_query}
    return data


@pytest.fixture
def write_result(tmp_path: Path) -> Callable[..., Path]:
    """Write a result JSON under tmp_path/results and return its path."""
    folder = tmp_path / "results"
    folder.mkdir(exist_ok=True)

    def write(name: str, **kw: Any) -> Path:
        path = folder / name
        path.write_text(json.dumps(result_dict(**kw), ensure_ascii=False), encoding="utf-8")
        return path

    return write


@pytest.fixture
def make_result_dict() -> Callable[..., dict[str, Any]]:
    """The result_dict factory, for tests that edit a result before writing it."""
    return result_dict
