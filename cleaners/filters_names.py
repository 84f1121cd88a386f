"""Filters on the function's name: ``test_functions``, ``blacklist`` (CodeSearchNet's lists) and
``restated_name`` (the query only restates the name)."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from codequarry.cleaners.row_filter import RowFilter, Verdict
from codequarry.cleaners.step_utils import lang_spec, short_name, subtokens
from codequarry.options import option


@dataclass(frozen=True)
class TestParams:
    substring: str = option("test", help="exclude functions whose name contains this text (CodeSearchNet: "
                                         "test)")
    case_sensitive: bool = option(False, help="match the substring with case (default: any case, as "
                                              "CodeSearchNet)")
    qualified: bool = option(False, help="search the qualified name (Class.method) instead of the "
                                         "function's own name")

    def __post_init__(self) -> None:
        if not self.substring:
            raise ValueError("substring must not be empty")


class TestFunctions(RowFilter):
    """CodeSearchNet: 'functions whose name contains test are dropped' (arXiv:1909.09436 §2)."""

    name = "test_functions"
    description = "exclude functions whose name contains 'test' (CodeSearchNet's rule; unqualified name, any case)"
    Params = TestParams
    reads = ("func_name",)

    def reason(self, row: Mapping[str, Any]) -> Verdict:
        p = self.params
        needle = p.substring if p.case_sensitive else p.substring.lower()
        fn = row["func_name"]
        name = fn if p.qualified else short_name(fn)
        hay = (name or "") if p.case_sensitive else (name or "").lower()
        return "test_function" if needle in hay else None


@dataclass(frozen=True)
class BlacklistParams:
    names: bool = option(True, help="apply CodeSearchNet's per-language name blacklists "
                                    "(codequarry.languages)")
    constructors: bool = option(False, help="also exclude constructors the lists miss (Foo.Foo, JS "
                                            "constructor, Python __init__/__new__)")
    dunder: bool = option(False, help="also exclude the special methods a language declares (Python's "
                                      "__x__; the paper's rule)")
    extra: tuple[str, ...] = option((), help="more fnmatch patterns of names to exclude, for any language")


class Blacklist(RowFilter):
    """CodeSearchNet's per-language blacklists of constructors and extension methods (function_parser).

    ``names`` applies the lists in codequarry.languages (Java toString/hashCode/…, JS toString/valueOf/…,
    PHP magic methods, Ruby initialize/==/…; Python and Go have none in the released parser).
    ``constructors`` also drops constructors the lists miss (``Foo.Foo``, JS ``constructor``, Python
    ``__init__``/``__new__``); ``dunder`` drops the special methods a language's spec declares
    (``special_methods``: Python's ``__x__``; the paper's ``__str__`` rule, which the released parser never
    applied); ``extra`` adds fnmatch patterns for any language.
    """

    name = "blacklist"
    description = "exclude constructors and extension methods (CodeSearchNet's per-language name blacklists)"
    Params = BlacklistParams
    reads = ("func_name", "language")

    def reason(self, row: Mapping[str, Any]) -> Verdict:
        p = self.params
        func_name, language = row["func_name"], row["language"]
        name = short_name(func_name)
        if not name:
            return None
        spec = lang_spec(language)
        lang = spec.dataset_language if spec is not None else (language or "")
        if p.names and spec is not None and spec.is_blacklisted(name):
            return "blacklisted_name", f"{lang} blacklist: {name}"
        if p.constructors:
            parts = [x for x in re.split(r"::|\.|#|->", func_name or "") if x]
            if (spec is not None and name in spec.constructors) or (len(parts) >= 2 and parts[-1] == parts[-2]):
                return "constructor", f"constructor: {func_name}"
        if p.dunder and spec is not None and spec.special_methods and re.match(spec.special_methods, name):
            return "dunder_method", f"{lang} special method: {name}"
        for pattern in p.extra:
            if fnmatch.fnmatchcase(name, pattern):
                return "blacklisted_name", f"extra pattern {pattern!r}: {name}"
        return None


DEFAULT_STOPWORDS = ("a", "an", "the", "this", "that", "these", "of", "to", "for", "in", "on", "at", "by", "and",
                     "or", "is", "are", "be", "it", "its", "with", "from", "as", "method", "function", "func", "def")


@dataclass(frozen=True)
class RestatedParams:
    stopwords: tuple[str, ...] = option(
        DEFAULT_STOPWORDS, help="query words ignored when comparing the query with the function name's "
                                "subtokens")
    min_name_subtokens: int = option(1, help="compare only functions whose name has at least this many "
                                             "subtokens")


class RestatedName(RowFilter):
    """Queries like 'Get user name.' for ``getUserName`` teach nothing a model cannot copy from the code.

    The query's words are split into identifier subtokens (camelCase, snake_case), lower-cased,
    stripped of a plural/3rd-person ``s`` and of stopwords; if nothing is left that is not a
    subtoken of the function's own name, the row is excluded.
    """

    name = "restated_name"
    description = "exclude queries that only restate the function name (identifier subtokens compared)"
    Params = RestatedParams
    reads = ("query", "func_name")

    def reason(self, row: Mapping[str, Any]) -> Verdict:
        q, name = row["query"], short_name(row["func_name"])
        if not (q and name):
            return None
        stop = {w.lower() for w in self.params.stopwords}
        name_toks = {_stem(t) for t in subtokens(name)}
        content = [t for t in (_stem(t) for t in subtokens(q)) if t not in stop]
        hit = (len(name_toks) >= self.params.min_name_subtokens and bool(content)
               and all(t in name_toks for t in content))
        return ("restated_name", f"query restates {name!r}") if hit else None


def _stem(token: str) -> str:
    if len(token) > 3 and token.endswith("es") and token[-3] in "sxz":
        return token[:-2]
    if len(token) > 3 and token.endswith("s") and not token.endswith("ss"):
        return token[:-1]
    return token
