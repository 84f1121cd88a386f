"""SQL: routines (``CREATE FUNCTION`` / ``CREATE PROCEDURE``), in CodeSearchNet's spirit (CSN had no SQL).

SQL is here first for StaQC's SQL half: its rows are query snippets (``SELECT …``, ``UPDATE …``), so
what matters is that they parse (``parse_check``) and tokenize; the grammar is DerekStride's
tree-sitter-sql (the ``tree-sitter-sql`` wheel), which covers the common dialects (ANSI, PostgreSQL,
MySQL, SQLite, T-SQL subsets) with case-insensitive ``keyword_*`` nodes.

Both scopes: every ``CREATE [OR REPLACE] FUNCTION`` / ``CREATE PROCEDURE`` statement (SQL routines do
not nest). The code is the statement (the ``;`` after it separates statements); func_name is the routine's name as written (``schema.name``
stays qualified); the docstring is the run of ``--`` or ``/* */`` comments directly above, delimiters
stripped. There is no obfuscation rule set: a query has no function, parameters or locals to rename,
so ``obfuscate`` excludes SQL rows as ``unsupported_language``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from codequarry.languages._common import comments_above, walk_with_ancestors
from codequarry.languages.docstrings import clean_doc_comment
from codequarry.languages.functions import Candidate, ExtractionRules, text

if TYPE_CHECKING:  # pragma: no cover
    import tree_sitter

    from codequarry.languages.spec import LanguageSpec

_ROUTINES = frozenset({"create_function", "create_procedure"})


def _candidate(routine: tree_sitter.Node, src: bytes, spec: LanguageSpec) -> Candidate:
    code_node = routine.parent if routine.parent is not None and routine.parent.type == "statement" else routine
    ref = next((c for c in routine.named_children if c.type == "object_reference"), None)
    qualified = text(ref, src)
    name = text(ref.child_by_field_name("name"), src) if ref is not None else ""
    comments = comments_above(code_node, src, spec.comment_types)
    return Candidate(
        node=code_node, name=name or qualified, qualified_name=qualified, class_name=None,
        raw_docstring="\n".join(text(c, src) for c in comments),
        docstring="\n".join(clean_doc_comment(text(c, src)) for c in comments),
        params=next((c for c in routine.named_children if c.type == "function_arguments"), None),
        reject="blacklisted" if spec.is_blacklisted(name) else None,
    )


def find(tree: tree_sitter.Tree, src: bytes, spec: LanguageSpec, rules: ExtractionRules) -> Iterator[Candidate]:
    for node, _ancestors in walk_with_ancestors(tree.root_node, prune=lambda n: n.type in _ROUTINES):
        if node.type in _ROUTINES:
            yield _candidate(node, src, spec)
