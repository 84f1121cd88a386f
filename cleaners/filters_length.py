"""Length filters: ``query_length`` (CodeSearchNet docstring tokens) and ``code_length`` (lines, tokens, chars)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pyarrow as pa

from codequarry.cleaners.base import Step, StepOutput, keep_mask
from codequarry.cleaners.step_utils import column, lang_spec

_FALLBACK_TOKEN = re.compile(r"\w+|[^\w\s]")


def _check_range(lo: int | None, hi: int | None, what: str) -> None:
    if lo is not None and lo < 0:
        raise ValueError(f"min_{what} must be >= 0")
    if lo is not None and hi is not None and hi < lo:
        raise ValueError(f"max_{what} ({hi}) is below min_{what} ({lo})")


@dataclass(frozen=True)
class QueryParams:
    min_tokens: int | None = 3
    max_tokens: int | None = 256
    use_query_tokens: bool = True
    summary: bool = True

    def __post_init__(self) -> None:
        _check_range(self.min_tokens, self.max_tokens, "tokens")


class QueryLength(Step):
    """Query length in CodeSearchNet docstring tokens (the row's ``query_tokens`` when present, else
    CSN's tokenizer over the query's summary: the text before the first blank line or ``@`` tag)."""

    name = "query_length"
    description = "exclude queries with too few or too many CodeSearchNet tokens (min/max)"
    kind = "filter"
    Params = QueryParams

    def process(self, batch: pa.Table) -> StepOutput:
        from codequarry.languages import docstring_summary, tokenize_docstring

        p = self.params
        keep, reasons, details = [], [], []
        for q, toks in zip(column(batch, "query"), column(batch, "query_tokens")):
            if p.use_query_tokens and toks is not None:
                n = len(toks)
            else:
                text = q or ""
                n = len(tokenize_docstring(docstring_summary(text) if p.summary else text))
            why = None
            if p.min_tokens is not None and n < p.min_tokens:
                why = ("query_too_short", f"{n} tokens < {p.min_tokens}")
            elif p.max_tokens is not None and n > p.max_tokens:
                why = ("query_too_long", f"{n} tokens > {p.max_tokens}")
            keep.append(why is None)
            reasons.append(why and why[0])
            details.append(why and why[1])
        return keep_mask(batch, keep, reasons, details)


@dataclass(frozen=True)
class CodeParams:
    min_lines: int | None = None
    max_lines: int | None = None
    min_tokens: int | None = None
    max_tokens: int | None = None
    max_chars: int | None = None
    count_blank_lines: bool = False
    use_code_tokens: bool = True

    def __post_init__(self) -> None:
        _check_range(self.min_lines, self.max_lines, "lines")
        _check_range(self.min_tokens, self.max_tokens, "tokens")
        if self.max_chars is not None and self.max_chars < 1:
            raise ValueError("max_chars must be >= 1")


class CodeLength(Step):
    """Code size limits. Lines are the code's non-blank lines (all lines with ``count_blank_lines``);
    tokens are the row's ``code_tokens`` when present, else CodeSearchNet tokens from tree-sitter
    (a word/punctuation regex for languages without a grammar). ``max_chars`` is checked first, so
    an enormous row is excluded without being split or parsed."""

    name = "code_length"
    description = "exclude code with too few/many lines or tokens, or more than max_chars characters"
    kind = "filter"
    Params = CodeParams

    def process(self, batch: pa.Table) -> StepOutput:
        p = self.params
        need_tokens = p.min_tokens is not None or p.max_tokens is not None
        need_lines = p.min_lines is not None or p.max_lines is not None
        keep, reasons, details = [], [], []
        for code, toks, lang in zip(column(batch, "code"), column(batch, "code_tokens"), column(batch, "language")):
            why = self._why(code or "", toks, lang, need_lines, need_tokens)
            keep.append(why is None)
            reasons.append(why and why[0])
            details.append(why and why[1])
        return keep_mask(batch, keep, reasons, details)

    def _why(self, code: str, toks: list[str] | None, lang: str | None, need_lines: bool,
             need_tokens: bool) -> tuple[str, str] | None:
        p = self.params
        if p.max_chars is not None and len(code) > p.max_chars:
            return "code_too_long", f"{len(code):,} chars > {p.max_chars:,}"
        if need_lines:
            lines = code.count("\n") + 1 if p.count_blank_lines else sum(1 for x in code.splitlines() if x.strip())
            if p.min_lines is not None and lines < p.min_lines:
                return "code_too_short", f"{lines} lines < {p.min_lines}"
            if p.max_lines is not None and lines > p.max_lines:
                return "code_too_long", f"{lines} lines > {p.max_lines}"
        if need_tokens:
            n = len(toks) if (p.use_code_tokens and toks is not None) else count_code_tokens(code, lang)
            if p.min_tokens is not None and n < p.min_tokens:
                return "code_too_short", f"{n} tokens < {p.min_tokens}"
            if p.max_tokens is not None and n > p.max_tokens:
                return "code_too_long", f"{n} tokens > {p.max_tokens}"
        return None


def count_code_tokens(code: str, language: str | None) -> int:
    """CodeSearchNet code tokens with tree-sitter, or word/punctuation tokens for unknown languages."""
    spec = lang_spec(language)
    if spec is None:
        return len(_FALLBACK_TOKEN.findall(code))
    from codequarry.cleaners.parsing import tokenize_code

    return len(tokenize_code(code, spec))
