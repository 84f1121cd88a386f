"""Length filters: ``query_length`` (CodeSearchNet docstring tokens) and ``code_length`` (lines, tokens, chars)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from codequarry.cleaners.row_filter import RowFilter, Verdict
from codequarry.cleaners.step_utils import lang_spec
from codequarry.options import option

_FALLBACK_TOKEN = re.compile(r"\w+|[^\w\s]")


def _check_range(lo: int | None, hi: int | None, what: str) -> None:
    if lo is not None and lo < 0:
        raise ValueError(f"min_{what} must be >= 0")
    if lo is not None and hi is not None and hi < lo:
        raise ValueError(f"max_{what} ({hi}) is below min_{what} ({lo})")


@dataclass(frozen=True)
class QueryParams:
    min_tokens: int | None = option(3, help="exclude queries with fewer tokens (query_too_short); null: no "
                                            "lower bound")
    max_tokens: int | None = option(256, help="exclude queries with more tokens (query_too_long); null: no "
                                              "upper bound")
    use_query_tokens: bool = option(True, help="count the row's query_tokens when present (else "
                                               "CodeSearchNet's tokenizer over the query)")
    summary: bool = option(True, help="tokenize only the query's summary (before the first blank line or @ "
                                      "tag), as CodeSearchNet did")

    def __post_init__(self) -> None:
        _check_range(self.min_tokens, self.max_tokens, "tokens")


class QueryLength(RowFilter):
    """Query length in CodeSearchNet docstring tokens (the row's ``query_tokens`` when present, else
    CSN's tokenizer over the query's summary: the text before the first blank line or ``@`` tag)."""

    name = "query_length"
    description = "exclude queries with too few or too many CodeSearchNet tokens (min/max)"
    Params = QueryParams
    reads = ("query", "query_tokens")

    def reason(self, row: Mapping[str, Any]) -> Verdict:
        from codequarry.languages import docstring_summary, tokenize_docstring

        p = self.params
        toks = row["query_tokens"]
        if p.use_query_tokens and toks is not None:
            n = len(toks)
        else:
            text = row["query"] or ""
            n = len(tokenize_docstring(docstring_summary(text) if p.summary else text))
        if p.min_tokens is not None and n < p.min_tokens:
            return "query_too_short", f"{n} tokens < {p.min_tokens}"
        if p.max_tokens is not None and n > p.max_tokens:
            return "query_too_long", f"{n} tokens > {p.max_tokens}"
        return None


@dataclass(frozen=True)
class CodeParams:
    min_lines: int | None = option(None, help="exclude code with fewer lines; null: no bound")
    max_lines: int | None = option(None, help="exclude code with more lines; null: no bound")
    min_tokens: int | None = option(None, help="exclude code with fewer tokens; null: no bound")
    max_tokens: int | None = option(None, help="exclude code with more tokens; null: no bound")
    max_chars: int | None = option(None, help="exclude code longer than this many characters (checked "
                                              "first, so a huge row is never parsed); null: no bound")
    count_blank_lines: bool = option(False, help="count blank lines too (default: non-blank lines only)")
    use_code_tokens: bool = option(True, help="count the row's code_tokens when present (else tree-sitter "
                                              "tokens, or a regex without a grammar)")

    def __post_init__(self) -> None:
        _check_range(self.min_lines, self.max_lines, "lines")
        _check_range(self.min_tokens, self.max_tokens, "tokens")
        if self.max_chars is not None and self.max_chars < 1:
            raise ValueError("max_chars must be >= 1")


class CodeLength(RowFilter):
    """Code size limits. Lines are the code's non-blank lines (all lines with ``count_blank_lines``);
    tokens are the row's ``code_tokens`` when present, else CodeSearchNet tokens from tree-sitter
    (a word/punctuation regex for languages without a grammar). ``max_chars`` is checked first, so
    an enormous row is excluded without being split or parsed."""

    name = "code_length"
    description = "exclude code with too few/many lines or tokens, or more than max_chars characters"
    Params = CodeParams
    reads = ("code", "code_tokens", "language")

    def reason(self, row: Mapping[str, Any]) -> Verdict:
        p = self.params
        code, toks, lang = row["code"] or "", row["code_tokens"], row["language"]
        need_tokens = p.min_tokens is not None or p.max_tokens is not None
        need_lines = p.min_lines is not None or p.max_lines is not None
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
