"""Function extraction: the Function record, the rules that choose functions, and the per-file driver.

Each language module (python.py, java.py, …; named in data/languages.yaml) yields ``Candidate``s
— every definition its rules consider, with the docstring found for it and, where CodeSearchNet
rejects it outright (blacklist, empty body), the reason. This module turns candidates into
``Function`` records, applies the remaining rules (docstring required, more than one code token)
and tokenizes only the functions that survive.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from codequarry.errors import CodequarryError
from codequarry.languages.docstrings import docstring_summary
from codequarry.languages.spec import LanguageSpec, as_bytes, get_language, parse
from codequarry.languages.tokens import node_tokens, tokenize_code

if TYPE_CHECKING:  # pragma: no cover
    import tree_sitter

SCOPES = ("csn", "all")


@dataclass(frozen=True)
class ExtractionRules:
    """Which functions to take and which to drop; the defaults are CodeSearchNet's.

    scope: ``csn`` = the definitions CodeSearchNet's function_parser takes per language (protocols.md
      §1b; the languages CSN did not cover follow its spirit: top-level functions and methods of
      top-level types, doc comment directly above); ``all`` = every function and method at any depth.
    require_docstring: drop functions without a docstring (CSN's corpus keeps only documented ones).
    min_code_tokens: drop functions with fewer code tokens (CSN keeps those with more than 1).
    apply_blacklist: drop CSN's blacklisted names (toString, __construct, initialize, …).
    skip_empty: drop CSN's "empty" definitions (python bodies that start with pass/raise, Java
      and C# one-line bodies).
    """

    scope: Literal["csn", "all"] = "csn"
    require_docstring: bool = True
    min_code_tokens: int = 2
    apply_blacklist: bool = True
    skip_empty: bool = True

    def __post_init__(self) -> None:
        if self.scope not in SCOPES:
            raise CodequarryError(f"unknown extraction scope {self.scope!r}; use one of {', '.join(SCOPES)}")
        if not isinstance(self.min_code_tokens, int) or self.min_code_tokens < 0:
            raise CodequarryError(f"min_code_tokens must be a non-negative integer, got {self.min_code_tokens!r}")


CSN_RULES = ExtractionRules()


@dataclass(frozen=True)
class Function:
    """One function or method as CodeSearchNet would record it (lines are 1-based, inclusive)."""

    name: str
    qualified_name: str  # CSN func_name: Class.method (python, java, php), Module.Class.method (ruby), …
    language: str  # the registry name (``tsx`` for .tsx files; rows use LanguageSpec.dataset_language)
    start_line: int
    end_line: int
    start_byte: int
    end_byte: int
    code: str  # the definition's exact source text (CSN's ``function``/``code``)
    docstring: str  # cleaned full docstring, "" if none
    summary: str  # CSN's docstring_summary of it
    class_name: str | None
    parameters: tuple[str, ...]  # parameter declarations as written (kept functions; empty for rejected ones)
    is_method: bool
    has_error: bool  # the definition's subtree holds ERROR or MISSING nodes
    node_type: str
    raw_docstring: str = ""  # the docstring or doc comments as written in the source
    code_tokens: tuple[str, ...] = ()  # CSN code tokens (kept functions; empty for rejected ones)
    docstring_span: tuple[int, int] | None = field(default=None, repr=False)  # python: the literal's bytes
    docstring_statement: tuple[int, int] | None = field(default=None, repr=False)  # python: its statement, as
    # character offsets into ``code``

    @property
    def code_without_docstring(self) -> str:
        """The code without an in-body docstring statement (python; elsewhere the docstring is outside the code).

        The statement goes with its whole lines when it stands alone on them.
        """
        if self.docstring_statement is None:
            return self.code
        code = self.code
        s, e = self.docstring_statement
        line_start = code.rfind("\n", 0, s) + 1
        line_end = code.find("\n", e)
        line_end = len(code) if line_end < 0 else line_end
        if line_start > 0 and not code[line_start:s].strip() and not code[e:line_end].strip():
            s, e = line_start, min(line_end + 1, len(code))
        return code[:s] + code[e:]


@dataclass
class Candidate:
    """A definition found by a language module, before the shared rules run."""

    node: tree_sitter.Node  # the span taken as the function's code
    name: str
    qualified_name: str
    class_name: str | None
    raw_docstring: str = ""
    docstring: str = ""
    summary: str | None = None  # None: CSN's docstring_summary(docstring)
    params: tree_sitter.Node | None = None  # the parameter list (read only for kept functions)
    param_types: frozenset[str] | None = None  # which of its children are parameters (default: all but comments)
    reject: str | None = None  # a reason the language's CSN rules give (blacklisted, empty_body)
    doc_node: tree_sitter.Node | None = None  # python: the docstring literal (not a code token)
    doc_statement: tree_sitter.Node | None = None  # python: the statement removed by code_without_docstring


@dataclass
class Extraction:
    """What one file gave: kept functions, rejected ones with reasons, or why the whole file was skipped."""

    functions: list[Function]
    rejected: list[tuple[Function, str]]
    skipped: str | None = None

    @property
    def candidates(self) -> int:
        return len(self.functions) + len(self.rejected)


def _module(spec: LanguageSpec):
    return importlib.import_module(spec.extractor)


def text(node: tree_sitter.Node | None, src: bytes) -> str:
    """A node's source text (UTF-8, undecodable bytes replaced)."""
    if node is None:
        return ""
    return src[node.start_byte:node.end_byte].decode("utf-8", "replace")


def named_texts(node: tree_sitter.Node | None, src: bytes, types: frozenset[str] | None = None) -> tuple[str, ...]:
    """Texts of a node's named children (optionally only some types, else all but comments): parameter lists."""
    if node is None:
        return ()
    return tuple(text(c, src) for c in node.named_children
                 if (c.type in types if types is not None else "comment" not in c.type))


def end_line(node: tree_sitter.Node) -> int:
    """1-based last line of a node (a node that ends right after a newline ends on the line before)."""
    row, col = node.end_point
    if col == 0 and row > node.start_point[0]:
        return row
    return row + 1


def _char_span(src: bytes, start: int, node: tree_sitter.Node) -> tuple[int, int]:
    """A node's span as character offsets into the text decoded from ``src[start:]``."""
    a = len(src[start:node.start_byte].decode("utf-8", "replace"))
    return a, a + len(src[node.start_byte:node.end_byte].decode("utf-8", "replace"))


def build_function(cand: Candidate, src: bytes, spec: LanguageSpec, full: bool) -> Function:
    """The Function record of a candidate; ``full`` adds parameters and code tokens (rejected functions
    skip that work: theirs are empty)."""
    node = cand.node
    start, end = node.start_byte, node.end_byte
    code = src[start:end].decode("utf-8", "replace")
    doc_span = (cand.doc_node.start_byte, cand.doc_node.end_byte) if cand.doc_node is not None else None
    stmt = cand.doc_statement
    summary = docstring_summary(cand.docstring) if cand.summary is None else cand.summary
    return Function(
        name=cand.name,
        qualified_name=cand.qualified_name,
        language=spec.name,
        start_line=node.start_point[0] + 1,
        end_line=end_line(node),
        start_byte=start,
        end_byte=end,
        code=code,
        docstring=cand.docstring.strip(),
        summary=summary.strip(),
        class_name=cand.class_name,
        parameters=named_texts(cand.params, src, cand.param_types) if full else (),
        is_method=cand.class_name is not None,
        has_error=node.has_error,
        node_type=node.type,
        raw_docstring=cand.raw_docstring,
        code_tokens=tuple(node_tokens(node, src, spec, doc_span)) if full else (),
        docstring_span=doc_span,
        docstring_statement=_char_span(src, start, stmt) if stmt is not None else None,
    )


def extract_tree(tree: tree_sitter.Tree, src: bytes, language: str | LanguageSpec,
                 rules: ExtractionRules | None = None) -> Extraction:
    """Extract from an already parsed tree (the builder parses once and reuses the tree)."""
    spec = get_language(language)
    rules = rules or CSN_RULES
    module = _module(spec)
    skip = getattr(module, "file_skip_reason", None)
    reason = skip(tree, spec, rules) if skip else None
    if reason:
        return Extraction([], [], reason)
    kept: list[Function] = []
    rejected: list[tuple[Function, str]] = []
    for cand in sorted(module.find(tree, src, spec, rules), key=lambda c: c.node.start_byte):
        why = cand.reject
        if why == "blacklisted" and not rules.apply_blacklist:
            why = None
        if why == "empty_body" and not rules.skip_empty:
            why = None
        if why is None and rules.require_docstring and not cand.docstring.strip():
            why = "no_docstring"
        if why is not None:
            rejected.append((build_function(cand, src, spec, full=False), why))
            continue
        func = build_function(cand, src, spec, full=True)
        if len(func.code_tokens) < rules.min_code_tokens:
            rejected.append((func, "too_few_code_tokens"))
            continue
        kept.append(func)
    return Extraction(kept, rejected)


def extract_file(source: str | bytes, language: str | LanguageSpec,
                 rules: ExtractionRules | None = None) -> Extraction:
    """Parse a source file and extract its functions, keeping the rejected ones with their reasons."""
    src = as_bytes(source)
    return extract_tree(parse(src, language), src, language, rules)


def extract_functions(source: str | bytes, language: str | LanguageSpec,
                      rules: ExtractionRules | None = None) -> list[Function]:
    """The functions of a source file that the rules keep (CodeSearchNet's rules by default)."""
    return extract_file(source, language, rules).functions


def tokenize_function(func: Function) -> list[str]:
    """CSN code tokens of a function (python's docstring excluded, as CSN's function_tokens)."""
    if func.code_tokens:
        return list(func.code_tokens)
    code = func.code_without_docstring if func.docstring_span is not None else func.code
    return tokenize_code(code, func.language)
