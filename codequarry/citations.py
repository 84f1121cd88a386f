"""BibTeX of the sources and benchmarks codequarry reads (data in citations.yaml), shared by builders and tasks."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from codequarry.errors import CodequarryError


@lru_cache(maxsize=1)
def _entries() -> dict[str, str]:
    import yaml

    text = resources.files("codequarry").joinpath("citations.yaml").read_text(encoding="utf-8")
    return {str(k): str(v) for k, v in yaml.safe_load(text).items()}


def bibtex(key: str) -> str:
    """The BibTeX entry registered under ``key`` (e.g. ``codesearchnet``, ``cosqa``)."""
    try:
        return _entries()[key]
    except KeyError:
        raise CodequarryError(f"no citation {key!r}; known: {', '.join(_entries())}") from None


def keys() -> list[str]:
    return list(_entries())
