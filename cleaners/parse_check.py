"""Filter ``parse_check``: code must parse with its language's tree-sitter grammar (no ERROR/MISSING nodes)."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from codequarry.cleaners.base import Step, StepOutput, keep_mask
from codequarry.cleaners.step_utils import column, lang_spec


@dataclass(frozen=True)
class Params:
    max_errors: int = 0

    def __post_init__(self) -> None:
        if self.max_errors < 0:
            raise ValueError("max_errors must be >= 0")


class ParseCheck(Step):
    """Rows whose code has more than ``max_errors`` ERROR or MISSING nodes are excluded (``parse_error``);
    rows in a language without a registered grammar are excluded as ``unknown_language``."""

    name = "parse_check"
    description = "exclude code that does not parse (tree-sitter ERROR/MISSING nodes); unknown languages excluded"
    kind = "filter"
    Params = Params

    def process(self, batch: pa.Table) -> StepOutput:
        from codequarry.cleaners.parsing import error_count

        keep, reasons, details = [], [], []
        for code, lang in zip(column(batch, "code"), column(batch, "language")):
            spec = lang_spec(lang)
            why = None
            if spec is None:
                why = ("unknown_language", f"no tree-sitter grammar for {lang!r}")
            elif code is None:
                why = ("null_code", None)
            else:
                n = error_count(code, spec)
                if n > self.params.max_errors:
                    why = ("parse_error", f"{n} ERROR/MISSING nodes ({spec.name})")
            keep.append(why is None)
            reasons.append(why and why[0])
            details.append(why and why[1])
        return keep_mask(batch, keep, reasons, details)
