"""Filter ``not_null``: rows whose query or code is null or empty (whitespace only) are excluded."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from codequarry.cleaners.base import Step, StepOutput, keep_mask
from codequarry.cleaners.step_utils import column


@dataclass(frozen=True)
class Params:
    columns: tuple[str, ...] = ("query", "code")
    whitespace_is_empty: bool = True

    def __post_init__(self) -> None:
        if not self.columns:
            raise ValueError("columns must name at least one column")


class NotNull(Step):
    name = "not_null"
    description = "exclude rows whose query or code (or other listed columns) is null or empty; reason says which"
    kind = "filter"
    Params = Params

    def process(self, batch: pa.Table) -> StepOutput:
        values = {c: column(batch, c) for c in self.params.columns}
        keep: list[bool] = []
        reasons: list[str | None] = []
        for i in range(batch.num_rows):
            why = None
            for c in self.params.columns:
                v = values[c][i]
                if v is None:
                    why = f"null_{c}"
                elif (isinstance(v, str) and (v.strip() if self.params.whitespace_is_empty else v) == "") or (
                        isinstance(v, list) and not v):
                    why = f"empty_{c}"
                if why:
                    break
            keep.append(why is None)
            reasons.append(why)
        return keep_mask(batch, keep, reasons)
