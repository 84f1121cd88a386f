"""Annotators over the code: ``identifiers``, ``lengths`` and ``ast_nodes`` (tree-sitter)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from codequarry.cleaners.base import NoParams, Step, StepOutput
from codequarry.cleaners.step_utils import column, lang_spec, with_column
from codequarry.options import option

_FALLBACK_TOKEN = re.compile(r"\w+|[^\w\s]")



def per_code(batch: pa.Table, fn: Callable[[str, Any], Any]) -> list[Any]:
    """``fn(code, language spec)`` for each row; null where the code is null or the language unknown."""
    out = []
    for code, lang in zip(column(batch, "code"), column(batch, "language")):
        spec = lang_spec(lang)
        out.append(fn(code, spec) if code is not None and spec is not None else None)
    return out

class Identifiers(Step):
    """Identifier tokens of the code in order, keywords removed (the dpu-utils/CodeSearchNet dedup view);
    null for languages without a grammar."""

    name = "identifiers"
    description = "add `identifiers`: the code's identifier tokens in order, keywords removed (tree-sitter)"
    kind = "annotate"
    Params = NoParams
    FIELD = pa.field("identifiers", pa.list_(pa.string()))

    def added_fields(self) -> list[pa.Field]:
        return [self.FIELD]

    def process(self, batch: pa.Table) -> StepOutput:
        from codequarry.cleaners.parsing import identifiers

        return StepOutput(kept=with_column(batch, self.FIELD, per_code(batch, identifiers)))


LENGTH_FIELDS = (
    pa.field("query_num_tokens", pa.int32()),
    pa.field("code_num_lines", pa.int32()),
    pa.field("code_num_tokens", pa.int32()),
    pa.field("code_num_chars", pa.int32()),
)


@dataclass(frozen=True)
class LengthParams:
    count_blank_lines: bool = option(False, help="count blank lines in code_num_lines too (default: "
                                                 "non-blank lines only)")


class Lengths(Step):
    """Sizes for filtering and reporting: query tokens (``query_tokens`` or CSN's tokenizer), code lines
    (non-blank), code tokens (``code_tokens`` or tree-sitter; a word/punctuation regex without a grammar)
    and code characters."""

    name = "lengths"
    description = "add query_num_tokens, code_num_lines, code_num_tokens, code_num_chars"
    kind = "annotate"
    Params = LengthParams

    def added_fields(self) -> list[pa.Field]:
        return list(LENGTH_FIELDS)

    def process(self, batch: pa.Table) -> StepOutput:
        from codequarry.cleaners.parsing import tokenize_code
        from codequarry.languages import docstring_summary, tokenize_docstring

        qn, ln, tn, cn = [], [], [], []
        for q, qt, code, ct, lang in zip(column(batch, "query"), column(batch, "query_tokens"), column(batch, "code"),
                                         column(batch, "code_tokens"), column(batch, "language")):
            qn.append(len(qt) if qt is not None else (len(tokenize_docstring(docstring_summary(q))) if q else 0))
            code = code or ""
            if self.params.count_blank_lines:
                ln.append(code.count("\n") + 1 if code else 0)
            else:
                ln.append(sum(1 for x in code.splitlines() if x.strip()))
            if ct is not None:
                tn.append(len(ct))
            else:
                spec = lang_spec(lang)
                tn.append(len(tokenize_code(code, spec)) if spec is not None else len(_FALLBACK_TOKEN.findall(code)))
            cn.append(len(code))
        for f, values in zip(LENGTH_FIELDS, (qn, ln, tn, cn)):
            batch = with_column(batch, f, values)
        return StepOutput(kept=batch)


class AstNodes(Step):
    """Named tree-sitter nodes in the code's parse (size without punctuation or formatting); null without a grammar."""

    name = "ast_nodes"
    description = "add code_ast_nodes: the number of named tree-sitter nodes in the code"
    kind = "annotate"
    Params = NoParams
    FIELD = pa.field("code_ast_nodes", pa.int32())

    def added_fields(self) -> list[pa.Field]:
        return [self.FIELD]

    def process(self, batch: pa.Table) -> StepOutput:
        from codequarry.cleaners.parsing import count_nodes

        return StepOutput(kept=with_column(batch, self.FIELD, per_code(batch, count_nodes)))
