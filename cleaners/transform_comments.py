"""Transform ``strip_comments``: remove comments from the code with tree-sitter (CodeXGLUE's cleaned CSN)."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from codequarry.cleaners.base import Step, StepOutput
from codequarry.cleaners.step_utils import column, lang_spec, with_column
from codequarry.options import option

TOKENS = pa.list_(pa.string())


@dataclass(frozen=True)
class Params:
    keep_docstring: bool = option(True, help="keep Python docstrings (strings, not comments); false removes "
                                             "them too")
    retokenize: bool = option(True, help="recompute code_tokens from the stripped code")


class StripComments(Step):
    """Comments go (a comment alone on its line takes the line); strings stay byte for byte. Python
    docstrings are strings and stay unless ``keep_docstring: false``. With ``retokenize``, ``code_tokens``
    is recomputed from the stripped code. Rows without a grammar are left unchanged (run parse_check first)."""

    name = "strip_comments"
    description = "remove comments from the code with tree-sitter and recompute code_tokens"
    kind = "transform"
    Params = Params

    def process(self, batch: pa.Table) -> StepOutput:
        from codequarry.cleaners.parsing import tokenize_code
        from codequarry.languages import strip_comments

        p = self.params
        codes, toks = [], []
        for code, lang, ct in zip(column(batch, "code"), column(batch, "language"), column(batch, "code_tokens")):
            spec = lang_spec(lang)
            if code is None or spec is None:
                codes.append(code)
                toks.append(ct)
                continue
            new = strip_comments(code, spec, keep_docstring=p.keep_docstring)
            codes.append(new)
            toks.append(tokenize_code(new, spec) if p.retokenize else ct)
        batch = with_column(batch, pa.field("code", pa.string()), codes)
        if p.retokenize:
            batch = with_column(batch, pa.field("code_tokens", TOKENS), toks)
        return StepOutput(kept=batch)
