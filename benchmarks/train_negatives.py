"""Hard negatives for training: for each (query, code) example, the codes BM25 ranks highest that are not its answer.

BM25 is the project's ``bm25`` model (bm25s with the code-aware tokenizer of ``models_bm25.py``: whole
words plus their camelCase/snake_case/digit parts), run over the *distinct* codes of the same split.
Codes are made distinct by their normalized form (tree-sitter tokens without comments, joined by single
spaces, via ``codequarry.languages.normalize_code``; whitespace-collapsed text for languages codequarry
does not parse), so a copy of the positive is never a negative. A candidate is also skipped when one of
the examples that own it has the same query text (lower-cased, whitespace-collapsed): two functions
documented identically both answer that query, so neither is a negative for it.

Judged negatives come first: a ``label 0`` row (a pair a human marked non-relevant, e.g. CoSQA) whose
query text equals an example's query gives that code as the example's first negative. When BM25 finds
fewer admissible candidates than asked (the query shares no token with enough codes), the rest are
drawn at random (seeded) from the admissible codes and counted as ``random_fill``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from codequarry.errors import CodequarryError

_WS = re.compile(r"\s+")


def query_key(query: str | None) -> str:
    """The form two queries must share to count as the same query: lower-cased, whitespace collapsed."""
    return _WS.sub(" ", query or "").strip().lower()


def code_key(code: str | None, language: str | None) -> str:
    """Normalized code (comments and layout removed) for exact-duplicate detection; plain text when unparsed."""
    text = code or ""
    if language:
        from codequarry.languages import get_language, normalize_code

        try:
            spec = get_language(language)
        except CodequarryError:
            spec = None
        if spec is not None:
            norm = normalize_code(text, spec)
            if norm:
                return norm
    return _WS.sub(" ", text).strip()


@dataclass(frozen=True)
class Negatives:
    """Per example, the indices (into the distinct codes ``docs``) of its negatives, and how they were found."""

    docs: list[str]  # distinct code texts (one representative per normalized form)
    doc_of_example: list[int]  # example index → its positive's doc index
    negatives: list[list[int]]  # example index → negative doc indices, best first
    stats: dict[str, Any] = field(default_factory=dict)


def mine_hard_negatives(queries: Sequence[str], codes: Sequence[str], languages: Sequence[str | None], *,
                        num_negatives: int = 1, depth: int | None = None, seed: int = 0,
                        judged: Sequence[tuple[str, str, str | None]] = (),
                        bm25_args: dict[str, Any] | None = None) -> Negatives:
    """BM25 hard negatives for each (query, code) example; see the module docstring for the rules.

    ``depth`` is how many BM25 hits are read per query before falling back to random codes (default
    ``4 × num_negatives + 16``); ``judged`` holds (query, code, language) of label-0 rows.
    """
    from codequarry.benchmarks.models_bm25 import load_bm25

    if not (len(queries) == len(codes) == len(languages)):
        raise CodequarryError("mine_hard_negatives: queries, codes and languages must have the same length")
    if num_negatives < 1:
        raise CodequarryError(f"num_negatives must be at least 1, got {num_negatives}")
    depth = depth or 4 * num_negatives + 16
    key_doc: dict[str, int] = {}
    docs: list[str] = []
    doc_of_example: list[int] = []
    owners: list[set[str]] = []  # doc index → query keys of the examples whose positive it is
    for q, c, lang in zip(queries, codes, languages):
        k = code_key(c, lang)
        d = key_doc.get(k)
        if d is None:
            d = key_doc[k] = len(docs)
            docs.append(c)
            owners.append(set())
        doc_of_example.append(d)
        owners[d].add(query_key(q))
    judged_docs: dict[str, list[int]] = {}
    judged_added = 0
    for q, c, lang in judged:
        k = code_key(c, lang)
        d = key_doc.get(k)
        if d is None:
            d = key_doc[k] = len(docs)
            docs.append(c)
            owners.append(set())
            judged_added += 1
        judged_docs.setdefault(query_key(q), []).append(d)

    # one BM25 search per distinct query text (many docstrings repeat)
    qkeys = [query_key(q) for q in queries]
    first_text: dict[str, str] = {}
    for q, k in zip(queries, qkeys):
        first_text.setdefault(k, q)
    bm25 = load_bm25("bm25", "", dict(bm25_args or {}))
    corpus = {f"{i:09d}": t for i, t in enumerate(docs)}
    wanted = {f"q{i:09d}": text for i, text in enumerate(first_text.values())}
    qid_of = {k: f"q{i:09d}" for i, k in enumerate(first_text)}
    run = bm25.retrieve(wanted, corpus, min(len(docs), depth), desc="hard negatives") if docs else {}
    # trec_eval order: score descending, then doc id descending
    ranked = {qid: [int(d) for d, _ in sorted(hits.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)]
              for qid, hits in run.items()}

    rng = np.random.default_rng(seed)
    negatives: list[list[int]] = []
    stats = {"examples": len(queries), "distinct_codes": len(docs) - judged_added, "judged_codes": judged_added,
             "num_negatives": num_negatives, "depth": depth, "bm25": 0, "judged": 0, "random_fill": 0,
             "skipped_duplicate_of_positive": 0, "skipped_same_query": 0, "short": 0}
    for i, qk in enumerate(qkeys):
        pos = doc_of_example[i]
        chosen: list[int] = []
        seen = {pos}
        for d in judged_docs.get(qk, ()):
            if len(chosen) < num_negatives and d not in seen and qk not in owners[d]:
                chosen.append(d)
                seen.add(d)
                stats["judged"] += 1
        for d in ranked.get(qid_of[qk], ()):
            if len(chosen) >= num_negatives:
                break
            if d == pos:
                stats["skipped_duplicate_of_positive"] += 1
                continue
            if d in seen:
                continue
            if qk in owners[d]:
                stats["skipped_same_query"] += 1
                continue
            chosen.append(d)
            seen.add(d)
            stats["bm25"] += 1
        tries = 0
        while len(chosen) < num_negatives and tries < 8 * num_negatives + 8 and len(docs) > 1:
            tries += 1
            d = int(rng.integers(len(docs)))
            if d not in seen and qk not in owners[d]:
                chosen.append(d)
                seen.add(d)
                stats["random_fill"] += 1
        if len(chosen) < num_negatives:  # a tiny pool: scan every code once, in a seeded order
            for d in rng.permutation(len(docs)).tolist():
                if len(chosen) >= num_negatives:
                    break
                if d not in seen and qk not in owners[d]:
                    chosen.append(d)
                    seen.add(d)
                    stats["random_fill"] += 1
        if len(chosen) < num_negatives:
            stats["short"] += 1
        negatives.append(chosen)
    return Negatives(docs=docs, doc_of_example=doc_of_example, negatives=negatives, stats=stats)
