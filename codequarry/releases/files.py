"""The strict side of the shared file layer: what a benchmark task does with a reader's ``Bad`` items.

Release readers yield ``(locator, record)`` pairs or ``Bad`` items (``codequarry.builders._io``): a
builder counts each ``Bad`` as an exclusion, a task must score exactly the published data and so
stops at the first one, with a one-line ``CodequarryError`` that names the file and the line.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from codequarry.builders._io import Bad, Input
from codequarry.builders._readers import iter_jsonl
from codequarry.errors import CodequarryError

T = TypeVar("T")


def input_of(path: Path) -> Input:
    """A file on disk as a reader input; its locators carry the full path, as task errors always have."""
    return Input(str(path), path)


def error_of(bad: Bad) -> CodequarryError:
    """The one-line error for a ``Bad`` item (reason, where, and what was wrong)."""
    detail = f": {bad.detail}" if bad.detail else ""
    return CodequarryError(f"{bad.locator}: {bad.reason.replace('_', ' ')}{detail}")


def strict(items: Iterable[T | Bad], *, allow_empty: bool = True) -> Iterator[T]:
    """The items of a reader, raising at the first ``Bad`` (an empty file is no records when ``allow_empty``)."""
    for item in items:
        if isinstance(item, Bad):
            if allow_empty and item.reason == "empty_file":
                continue
            raise error_of(item)
        yield item


def line_of(locator: str) -> int:
    """The line number at the end of a ``NAME:LINE`` locator."""
    return int(locator.rsplit(":", 1)[1])


def jsonl_objects(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) per non-blank line of a JSON Lines file (plain or compressed), strictly.

    The builders' streaming reader (``_readers.iter_jsonl``: UTF-8 checked, compressed streams, bounded
    errors); any unreadable line or a line that is not a JSON object is an error naming the line.
    """
    for where, obj in strict(iter_jsonl(input_of(path))):
        if not isinstance(obj, dict):
            raise CodequarryError(f"{where}: expected a JSON object, got {type(obj).__name__}")
        yield line_of(where), obj
