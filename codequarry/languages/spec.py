"""The language registry: one ``LanguageSpec`` per language, read from data/languages.yaml.

Grammars load on first use and each process keeps one parser per language, so importing this
module costs no grammar loading and worker processes build their own parsers.
"""

from __future__ import annotations

import fnmatch
import importlib
import os
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from codequarry.errors import CodequarryError
from codequarry.registry import Registry

if TYPE_CHECKING:  # pragma: no cover
    import tree_sitter


@dataclass(frozen=True)
class CommentSyntax:
    """Regex facts for stripping comments without a parse (MinHash ``code`` shingles, cleaners/shingles.py).

    line: regexes that start a comment running to the end of the line; block: (open, close) regex pairs
    (non-greedy, may span lines); strings: names of string-literal forms (shingles._STRING_FORMS) matched
    so that comment markers inside them stay; keep: words besides the keywords that the canonical view
    keeps as they are (literals, the receiver). Every regex starts with a literal character, never the same
    as a string form's.
    """

    line: tuple[str, ...] = ()
    block: tuple[tuple[str, str], ...] = ()
    strings: tuple[str, ...] = ()
    keep: tuple[str, ...] = ()


@dataclass(frozen=True)
class LanguageSpec:
    """Everything codequarry knows about one language: grammar, files, CodeSearchNet rules, token facts."""

    name: str
    dataset_language: str
    extensions: tuple[str, ...]
    grammar_module: str
    grammar_function: str
    extractor: str
    skip_words: tuple[str, ...]
    blacklist: frozenset[str]
    blacklist_patterns: tuple[str, ...]
    comment_types: frozenset[str]
    string_types: frozenset[str]
    keywords: frozenset[str]
    layout_types: frozenset[str] = frozenset()
    #: (prefix, suffix) pairs a code snippet is parsed inside, tried in order (PHP methods need `<?php` and a class)
    snippet_wrappers: tuple[tuple[str, str], ...] = ()
    #: a snippet that already starts with this (after whitespace) is parsed as it is
    snippet_unless_prefix: str | None = None
    #: other spellings of the name in datasets and on the command line (``c#``, ``golang``, ``py``)
    aliases: tuple[str, ...] = ()
    #: names of constructors the CSN blacklists miss (the ``blacklist`` step's ``constructors`` option)
    constructors: frozenset[str] = frozenset()
    #: regex of special-method names (python ``__x__``): the blacklist step's ``dunder`` option drops them
    special_methods: str | None = None
    #: docstrings are string statements first in a body (python): ``strip_comments(keep_docstring=False)`` drops them
    docstring_statements: bool = False
    comment_syntax: CommentSyntax | None = None
    atomic_types: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "atomic_types", self.comment_types | self.string_types)

    @cached_property
    def language(self) -> tree_sitter.Language:
        """The tree-sitter grammar (imported on first use)."""
        import tree_sitter

        try:
            module = importlib.import_module(self.grammar_module)
        except ImportError as exc:
            package = self.grammar_module.replace("_", "-")
            raise CodequarryError(
                f"the {self.name} grammar is not installed; install it with: pip install {package}"
            ) from exc
        return tree_sitter.Language(getattr(module, self.grammar_function)())

    def is_blacklisted(self, name: str) -> bool:
        """CodeSearchNet's per-language blacklist (exact names, plus fnmatch patterns for a few extras)."""
        return name in self.blacklist or any(fnmatch.fnmatchcase(name, p) for p in self.blacklist_patterns)

    def skip_word(self, path: str, words: tuple[str, ...] | None = None) -> str | None:
        """The first skip word found in the lower-cased path (CodeSearchNet's substring rule), or None."""
        low = path.lower()
        for word in self.skip_words if words is None else words:
            if word in low:
                return word
        return None


# tree_sitter.Language objects are not picklable; specs are compared and pickled by name.
def _reduce(spec: LanguageSpec) -> tuple[Any, tuple[str]]:
    return get_language, (spec.name,)


LanguageSpec.__reduce__ = _reduce  # type: ignore[method-assign,assignment]


def _load_registry() -> Registry[LanguageSpec]:
    import yaml

    text = resources.files("codequarry.languages").joinpath("data/languages.yaml").read_text(encoding="utf-8")
    registry: Registry[LanguageSpec] = Registry("language")
    for name, entry in yaml.safe_load(text).items():
        blacklist = [str(b) for b in entry.get("blacklist", [])]
        keywords = {str(k) for k in entry["keywords"]}
        if entry.get("keywords_ignore_case"):  # SQL: SELECT, select and Select are one keyword
            keywords |= {v for k in keywords for v in (k.lower(), k.upper(), k.capitalize())}
        syntax = entry.get("comment_syntax")
        registry.register(
            name,
            LanguageSpec(
                name=name,
                dataset_language=entry["dataset_language"],
                extensions=tuple(entry["extensions"]),
                grammar_module=entry["grammar"]["module"],
                grammar_function=entry["grammar"]["function"],
                extractor=entry["extractor"],
                skip_words=tuple(entry.get("skip_words", [])),
                blacklist=frozenset(b for b in blacklist if "*" not in b),
                blacklist_patterns=tuple(b for b in blacklist if "*" in b),
                comment_types=frozenset(entry["comment_types"]),
                string_types=frozenset(entry["string_types"]),
                keywords=frozenset(keywords),
                layout_types=frozenset(entry.get("layout_types", [])),
                snippet_wrappers=tuple((str(a), str(b)) for a, b in entry.get("snippet_wrappers", [])),
                snippet_unless_prefix=entry.get("snippet_unless_prefix"),
                aliases=tuple(str(a).lower() for a in entry.get("aliases", [])),
                constructors=frozenset(str(c) for c in entry.get("constructors", [])),
                special_methods=entry.get("special_methods"),
                docstring_statements=bool(entry.get("docstring_statements", False)),
                comment_syntax=None if syntax is None else CommentSyntax(
                    line=tuple(syntax.get("line", [])),
                    block=tuple((str(a), str(b)) for a, b in syntax.get("block", [])),
                    strings=tuple(syntax.get("strings", [])),
                    keep=tuple(str(k) for k in syntax.get("keep", []))),
            ),
        )
    return registry


def _alias_table(registry: Registry[LanguageSpec]) -> dict[str, str]:
    """alias → registry name; an alias may name one language only and never shadow a registered name."""
    table: dict[str, str] = {}
    for name, spec in registry.items():
        for alias in spec.aliases:
            if alias in registry or table.get(alias, name) != name:
                raise CodequarryError(f"languages.yaml: alias {alias!r} of {name} is already "
                                      f"{'a language' if alias in registry else 'an alias of ' + table[alias]}")
            table[alias] = name
    return table


LANGUAGES: Registry[LanguageSpec] = _load_registry()
_ALIASES: dict[str, str] = _alias_table(LANGUAGES)
_BY_EXTENSION: dict[str, str] = {ext: name for name, spec in LANGUAGES.items() for ext in spec.extensions}
_PARSERS: dict[str, tree_sitter.Parser] = {}


def get_language(language: str | LanguageSpec) -> LanguageSpec:
    """The spec of a registered language (unknown names raise CodequarryError with a did-you-mean)."""
    if isinstance(language, LanguageSpec):
        return language
    if not isinstance(language, str):
        raise CodequarryError(f"a language name is a string, got {language!r}")
    key = language.strip().lower()
    return LANGUAGES.get(_ALIASES.get(key, key))


def dataset_language_aliases() -> dict[str, str]:
    """Every alias (``c#``, ``golang``, ``python3``) → the language's dataset name (``c_sharp``, ``go``, ``python``):
    how builders normalise the language column of an upstream release."""
    return {alias: LANGUAGES.get(name).dataset_language for alias, name in _ALIASES.items()}


def language_for_path(path: str | PurePath) -> str | None:
    """The registered language of a file by its extension (``.tsx`` → ``tsx``, a TypeScript dialect), or None."""
    ext = os.path.splitext(os.path.basename(os.fspath(path)).lower())[1]  # ".py" alone is a name, not an extension
    return _BY_EXTENSION.get(ext) if ext else None


def get_parser(language: str | LanguageSpec) -> tree_sitter.Parser:
    """This process's cached parser for a language (grammar loaded on first call)."""
    spec = get_language(language)
    parser = _PARSERS.get(spec.name)
    if parser is None:
        import tree_sitter

        parser = _PARSERS[spec.name] = tree_sitter.Parser(spec.language)
    return parser


def as_bytes(code: str | bytes) -> bytes:
    """Source as UTF-8 bytes (tree-sitter works on bytes; lone surrogates become U+FFFD)."""
    if isinstance(code, bytes):
        return code
    if isinstance(code, (bytearray, memoryview)):
        return bytes(code)
    if not isinstance(code, str):
        raise CodequarryError(f"code must be str or bytes, got {type(code).__name__}")
    return code.encode("utf-8", "replace")


def parse(code: str | bytes, language: str | LanguageSpec) -> tree_sitter.Tree:
    """Parse source with the language's grammar (str is encoded as UTF-8)."""
    tree = get_parser(language).parse(as_bytes(code))
    if tree is None:  # only on cancellation/timeouts, which codequarry never sets
        raise CodequarryError(f"tree-sitter returned no tree for this {get_language(language).name} source")
    return tree


@dataclass(frozen=True)
class Snippet:
    """A code snippet's parse: the bytes parsed, the tree, and the window [lo, hi) that is the snippet itself.

    For most languages the bytes are the snippet and the window is all of it; a language whose snippets
    need context to parse (PHP methods: ``<?php`` and a class around them) is parsed wrapped, and every
    view of the snippet (tokens, comments, node counts) looks only inside the window.
    """

    src: bytes
    tree: tree_sitter.Tree
    lo: int
    hi: int

    @property
    def code(self) -> bytes:
        return self.src[self.lo:self.hi]

    @property
    def wrapped(self) -> bool:
        return self.lo > 0 or self.hi < len(self.src)


def parse_snippet(code: str | bytes, language: str | LanguageSpec) -> Snippet:
    """Parse a code snippet (a row's code, not a whole file) as its language's snippet rules say."""
    from codequarry.languages.tokens import tree_error_count

    spec = get_language(language)
    src = as_bytes(code)
    wrappers = spec.snippet_wrappers
    if not wrappers or (spec.snippet_unless_prefix and src.lstrip().startswith(spec.snippet_unless_prefix.encode())):
        return Snippet(src, parse(src, spec), 0, len(src))
    best, best_errors = None, -1
    for prefix, suffix in wrappers:
        pre, post = prefix.encode(), suffix.encode()
        data = pre + src + post
        snippet = Snippet(data, parse(data, spec), len(pre), len(pre) + len(src))
        errors = tree_error_count(snippet.tree.root_node)
        if best is None or errors < best_errors:
            best, best_errors = snippet, errors
        if errors == 0:
            break
    return best
