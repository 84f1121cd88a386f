"""Filter ``parse_check``: code must parse with its language's tree-sitter grammar (no ERROR/MISSING nodes)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from codequarry.cleaners.row_filter import RowFilter, Verdict
from codequarry.cleaners.step_utils import lang_spec
from codequarry.options import option


@dataclass(frozen=True)
class Params:
    max_errors: int = option(0, help="most ERROR/MISSING tree-sitter nodes a row's code may have (0: it "
                                     "must parse cleanly)")

    def __post_init__(self) -> None:
        if self.max_errors < 0:
            raise ValueError("max_errors must be >= 0")


class ParseCheck(RowFilter):
    """Rows whose code has more than ``max_errors`` ERROR or MISSING nodes are excluded (``parse_error``);
    rows in a language without a registered grammar are excluded as ``unknown_language``."""

    name = "parse_check"
    description = "exclude code that does not parse (tree-sitter ERROR/MISSING nodes); unknown languages excluded"
    Params = Params
    reads = ("code", "language")

    def reason(self, row: Mapping[str, Any]) -> Verdict:
        from codequarry.cleaners.parsing import error_count

        code, lang = row["code"], row["language"]
        spec = lang_spec(lang)
        if spec is None:
            return "unknown_language", f"no tree-sitter grammar for {lang!r}"
        if code is None:
            return "null_code"
        n = error_count(code, spec)
        if n > self.params.max_errors:
            return "parse_error", f"{n} ERROR/MISSING nodes ({spec.name})"
        return None
