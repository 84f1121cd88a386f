"""``RowFilter``: a filter is one method that looks at one row and says why to drop it (or None to keep it).

The loop every filter used to repeat (read columns, judge each row, collect keep/reason/detail,
split the batch) lives here once, as datatrove's filters keep theirs in a base class::

    class NoTodo(RowFilter):
        name = "no_todo"
        description = "exclude code containing TODO"
        reads = ("code",)

        def reason(self, row):
            return "todo_in_code" if "TODO" in (row["code"] or "") else None

``reason`` returns None (keep), a reason string, or ``(reason, detail)`` when a detail helps the
reader of the exclusions. Columns a filter reads because a *parameter* named them (``fields``,
``columns``) must exist in the batch: a misspelt column is a clear error, not a filter that
silently keeps (or drops) every row.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import pyarrow as pa

from codequarry.cleaners.base import Step, StepOutput, keep_mask
from codequarry.cleaners.step_utils import column
from codequarry.errors import CodequarryError

#: What ``RowFilter.reason`` returns: None (keep), a reason, or (reason, detail).
Verdict = str | tuple[str, str | None] | None


class RowFilter(Step):
    """A filter judged row by row through ``reason`` (see the module docstring)."""

    kind: ClassVar[str] = "filter"
    #: The columns ``reason`` finds in its row (absent optional columns read as None).
    reads: ClassVar[tuple[str, ...]] = ()

    def columns(self) -> tuple[str, ...]:
        """The columns each row carries; override when parameters choose them."""
        return self.reads

    def required_columns(self) -> tuple[str, ...]:
        """Columns that must exist in the batch (those a parameter named); a missing one is an error."""
        return ()

    def reason(self, row: Mapping[str, Any]) -> Verdict:
        """None to keep the row; a reason (or ``(reason, detail)``) to exclude it."""
        raise NotImplementedError

    def process(self, batch: pa.Table) -> StepOutput:
        missing = [c for c in self.required_columns() if c not in batch.column_names]
        if missing:
            have = ", ".join(n for n in batch.column_names if not n.startswith("_"))
            raise CodequarryError(f"step {self.name!r}: column(s) {missing} do not exist in the input; "
                                  f"its columns are: {have}")
        names = self.columns()
        values = [column(batch, c) for c in names]
        rows = zip(*values) if names else (() for _ in range(batch.num_rows))
        keep: list[bool] = []
        reasons: list[str | None] = []
        details: list[str | None] = []
        seen: dict[tuple[Any, ...], Verdict] = {}  # a row is judged on these values only: copies are judged once
        for vals in rows:
            try:
                verdict = seen[vals]
            except KeyError:
                verdict = seen[vals] = self.reason(dict(zip(names, vals)))
            except TypeError:  # a list value (tokens): not hashable, judged as is
                verdict = self.reason(dict(zip(names, vals)))
            if verdict is None:
                keep.append(True)
                reasons.append(None)
                details.append(None)
            elif isinstance(verdict, str):
                keep.append(False)
                reasons.append(verdict)
                details.append(None)
            else:
                keep.append(False)
                reasons.append(verdict[0])
                details.append(verdict[1])
        return keep_mask(batch, keep, reasons, details)


def check_regexes(patterns: Iterable[str], param: str) -> None:
    """Refuse a parameter holding an invalid regular expression (ValueError names the parameter and pattern)."""
    for p in patterns:
        try:
            re.compile(p)
        except (re.error, TypeError) as exc:
            raise ValueError(f"parameter {param!r}: {p!r} is not a valid regular expression ({exc})") from None
