"""The tree-sitter language registry: parse, find functions and their docstrings, tokenize as CodeSearchNet did.

The one home of per-language facts. Languages: the six of CodeSearchNet (python, java, go,
javascript, php, ruby), extracted with CSN's ``function_parser`` rules exactly (protocols.md §1b;
each language module's docstring says how the 2019 rules map onto today's grammars), and
typescript (+ tsx), rust, c, cpp, c_sharp, kotlin and sql (StaQC's second language) in the same
spirit. Declarative facts — grammar, extensions, aliases, skip words, blacklists and constructor
names, comment and string node types, keywords, MinHash comment syntax — live in
``data/languages.yaml``; code facts live in the language's module (``python.py`` …): ``find`` (its
extraction rules) and ``obfuscation`` (the ``obfuscate`` step's rules). Everything else reads them
through ``get_language`` / ``rules_for``.

Adding a language touches exactly: one module here (``find``, optionally ``obfuscation``), one entry
in ``data/languages.yaml``, and one dependency line (its grammar wheel) in ``pyproject.toml``; the
registry tests then require one sample for it in ``tests/languages/test_languages_registry.py``
(and one in ``tests/cleaners/test_cleaners_algo_obfuscate.py`` when it has obfuscation rules).

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
