"""The tree-sitter language registry: parse, find functions and their docstrings, tokenize as CodeSearchNet did.

Languages: the six of CodeSearchNet (python, java, go, javascript, php, ruby), extracted with
CSN's ``function_parser`` rules exactly (protocols.md §1b; each language module's docstring says
how the 2019 rules map onto today's grammars), and typescript (+ tsx), rust, c, cpp and c_sharp
in the same spirit. Facts per language — extensions, skip words, blacklists, comment and string
node types, keywords — live in ``data/languages.yaml``.

Grammars come from the per-language PyPI wheels (``tree-sitter-python``, ``tree-sitter-java`` …)
rather than a language pack: each wheel is small, is pinned and upgraded on its own, is built
for the tree-sitter 0.26 ABI that the ``tree-sitter`` binding loads, and ships the compiled
grammar, so nothing is downloaded or compiled at run time. A grammar is imported only when its
language is first used, and each process keeps one parser per language.
"""

from codequarry.languages.docstrings import docstring_summary, tokenize_docstring
from codequarry.languages.functions import (
    CSN_RULES,
    Extraction,
    ExtractionRules,
    Function,
    extract_file,
    extract_functions,
    extract_tree,
    tokenize_function,
)
from codequarry.languages.spec import (
    LANGUAGES,
    LanguageSpec,
    get_language,
    get_parser,
    language_for_path,
    parse,
    parse_snippet,
)
from codequarry.languages.tokens import (
    count_nodes,
    error_count,
    identifiers,
    normalize_code,
    strip_comments,
    tokenize_code,
)

__all__ = [
    "CSN_RULES",
    "LANGUAGES",
    "Extraction",
    "ExtractionRules",
    "Function",
    "LanguageSpec",
    "count_nodes",
    "docstring_summary",
    "error_count",
    "extract_file",
    "extract_functions",
    "extract_tree",
    "get_language",
    "get_parser",
    "identifiers",
    "language_for_path",
    "normalize_code",
    "parse",
    "parse_snippet",
    "strip_comments",
    "tokenize_code",
    "tokenize_docstring",
    "tokenize_function",
]
