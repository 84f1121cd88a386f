"""Filter ``not_null``: rows whose query or code is null or empty (whitespace only) are excluded."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from codequarry.cleaners.row_filter import RowFilter, Verdict
from codequarry.options import option


@dataclass(frozen=True)
class Params:
    columns: tuple[str, ...] = option(
        ("query", "code"), help="columns that must hold a value: null, an empty string or an empty list "
                                "excludes the row (reason null_COL / empty_COL)")
    whitespace_is_empty: bool = option(True, help="count a string of only whitespace as empty")

    def __post_init__(self) -> None:
        if not self.columns:
            raise ValueError("columns must name at least one column")


class NotNull(RowFilter):
    name = "not_null"
    description = "exclude rows whose query or code (or other listed columns) is null or empty; reason says which"
    Params = Params

    def columns(self) -> tuple[str, ...]:
        return self.params.columns

    def required_columns(self) -> tuple[str, ...]:
        return self.params.columns

    def reason(self, row: Mapping[str, Any]) -> Verdict:
        for c in self.params.columns:
            v = row[c]
            if v is None:
                return f"null_{c}"
            if (isinstance(v, str) and (v.strip() if self.params.whitespace_is_empty else v) == "") or (
                    isinstance(v, list) and not v):
                return f"empty_{c}"
        return None
