"""Annotator ``csn_tokens``: fill CodeSearchNet ``query_tokens`` and ``code_tokens`` where a row lacks them."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from codequarry.cleaners.base import Step, StepOutput
from codequarry.cleaners.step_utils import column, lang_spec, with_column
from codequarry.options import option

TOKENS = pa.list_(pa.string())


@dataclass(frozen=True)
class Params:
    query: bool = option(True, help="fill query_tokens (CodeSearchNet's docstring tokenizer)")
    code: bool = option(True, help="fill code_tokens (tree-sitter leaves; strings and comments one token "
                                   "each)")
    overwrite: bool = option(False, help="recompute tokens a row already has (default: keep them)")
    summary: bool = option(True, help="tokenize only the query's summary (first paragraph), as "
                                      "CodeSearchNet did")


class CsnTokens(Step):
    """``query_tokens``: CSN's docstring tokenizer over the query's summary (first paragraph, as CSN did);
    ``code_tokens``: tree-sitter leaves with strings and comments one token each. Rows in languages
    without a grammar keep null ``code_tokens``; existing tokens are kept unless ``overwrite``."""

    name = "csn_tokens"
    description = "fill CodeSearchNet query_tokens/code_tokens where missing (tree-sitter + CSN docstring tokenizer)"
    kind = "annotate"
    Params = Params

    def added_fields(self) -> list[pa.Field]:
        return [pa.field("query_tokens", TOKENS), pa.field("code_tokens", TOKENS)]

    def process(self, batch: pa.Table) -> StepOutput:
        from codequarry.cleaners.parsing import tokenize_code
        from codequarry.languages import docstring_summary, tokenize_docstring

        p = self.params
        qt = column(batch, "query_tokens")
        ct = column(batch, "code_tokens")
        if p.query:
            qt = [t if (t is not None and not p.overwrite) or q is None
                  else tokenize_docstring(docstring_summary(q) if p.summary else q)
                  for q, t in zip(column(batch, "query"), qt)]
        if p.code:
            out = []
            for code, lang, t in zip(column(batch, "code"), column(batch, "language"), ct):
                spec = lang_spec(lang)
                if (t is not None and not p.overwrite) or code is None or spec is None:
                    out.append(t)
                else:
                    out.append(tokenize_code(code, spec))
            ct = out
        batch = with_column(batch, pa.field("query_tokens", TOKENS), qt)
        return StepOutput(kept=with_column(batch, pa.field("code_tokens", TOKENS), ct))
