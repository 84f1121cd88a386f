"""``bm25``: BM25 over code with a code-aware tokenizer (bm25s does the scoring).

Tokenizer: every word (``\\w+``) is emitted lower-cased as a whole **and** split into its parts at
``_``, at lower→upper case changes, before the last capital of an acronym followed by a lower-case letter
(``HTTPResponse`` → http, response) and at letter↔digit changes (``utf8Decode`` → utf, 8, decode). A word that
is a single part is emitted once. bm25s's default tokenizer would keep ``getusername`` only.

Ranking: a doc enters a query's list only when it shares a token with the query (a search engine returns
no doc without a matching term); ties are broken by doc id descending like every other codequarry run.
Scores of a CodeSearchNet batch or of classification pairs are the raw BM25 scores over that candidate set.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from codequarry.benchmarks.models import Model, Run, parse_options, topk_from_scores
from codequarry.errors import CodequarryError
from codequarry.options import option

METHODS = ("lucene", "robertson", "atire", "bm25l", "bm25+")


@dataclass(frozen=True)
class BM25Options:
    """The ``--model-arg`` options of ``bm25``."""

    k1: float = option(1.5, help="term-frequency saturation")
    b: float = option(0.75, help="length normalisation")
    method: str = option("lucene", choices=METHODS, help="bm25s variant")
    delta: float = option(0.5, help="delta of bm25l / bm25+")
    split_identifiers: bool = option(True, help="also emit camelCase/snake_case/digit parts of each word")
    threshold: float | None = option(None, help="pair-classification decision threshold (default: chosen on a dev split)")
    name: str | None = option(None, help="display name in results (default: bm25)")


OPTIONS: dict[str, type] = {"bm25": BM25Options}
_WORD = re.compile(r"\w+")


def split_identifier(word: str) -> list[str]:
    """Parts of one identifier: snake_case, camelCase (acronym-aware) and digit runs; lower-cased."""
    parts: list[str] = []
    for chunk in word.split("_"):
        if not chunk:
            continue
        start = 0
        n = len(chunk)
        for i in range(1, n):
            a, b = chunk[i - 1], chunk[i]
            boundary = (
                (a.islower() and b.isupper())
                or (a.isdigit() != b.isdigit())
                or (a.isupper() and b.isupper() and i + 1 < n and chunk[i + 1].islower())
            )
            if boundary:
                parts.append(chunk[start:i])
                start = i
        parts.append(chunk[start:])
    return [p.lower() for p in parts if p]


def tokenize(text: str, *, split_identifiers: bool = True) -> list[str]:
    """Code-aware tokens: each word lower-cased whole, followed by its parts when it has more than one."""
    out: list[str] = []
    for word in _WORD.findall(text or ""):
        whole = word.lower()
        out.append(whole)
        if split_identifiers:
            parts = split_identifier(word)
            if len(parts) > 1 or (parts and parts[0] != whole):
                out.extend(parts)
    return out


class _Index:
    """A bm25s index over one list of docs with a deterministic vocabulary (first appearance order)."""

    def __init__(self, texts: Sequence[str], settings: Mapping[str, Any]) -> None:
        import bm25s

        self.settings = settings
        self.vocab: dict[str, int] = {}
        docs: list[list[int]] = []
        for t in texts:
            ids = []
            for tok in tokenize(t, split_identifiers=settings["split_identifiers"]):
                tid = self.vocab.get(tok)
                if tid is None:
                    tid = self.vocab[tok] = len(self.vocab)
                ids.append(tid)
            docs.append(ids)
        self.empty_id = self.vocab.setdefault("", len(self.vocab))  # bm25s scores an empty doc through this token
        self.model = bm25s.BM25(k1=settings["k1"], b=settings["b"], method=settings["method"], delta=settings["delta"])
        self.model.index((docs, dict(self.vocab)), show_progress=False)
        self.n = len(docs)

    def query_ids(self, text: str) -> list[int]:
        toks = tokenize(text, split_identifiers=self.settings["split_identifiers"])
        return [self.vocab[t] for t in toks if t in self.vocab and t != ""]

    def scores(self, ids: list[int]) -> np.ndarray:
        if not ids:
            return np.zeros(self.n, dtype=np.float32)
        return np.asarray(self.model.get_scores(ids), dtype=np.float32)

    def matched(self, ids: list[int]) -> np.ndarray:
        """Indices of docs that contain at least one of the query's tokens."""
        if not ids:
            return np.zeros(0, dtype=np.int64)
        indptr, indices = self.model.scores["indptr"], self.model.scores["indices"]
        hits = [indices[indptr[t]:indptr[t + 1]] for t in set(ids)]
        return np.unique(np.concatenate(hits)).astype(np.int64) if hits else np.zeros(0, dtype=np.int64)


def check_parameters(settings: dict[str, Any]) -> None:
    """BM25's own ranges: k1 >= 0, 0 <= b <= 1, delta >= 0, all finite (bm25s would score with any number)."""
    rules = {"k1": (0.0, math.inf, "k1 >= 0 (term-frequency saturation; 1.2-2.0 is usual)"),
             "b": (0.0, 1.0, "0 <= b <= 1 (length normalisation)"),
             "delta": (0.0, math.inf, "delta >= 0")}
    for key, (low, high, rule) in rules.items():
        value = settings.get(key)
        if value is None or not math.isfinite(value) or not low <= value <= high:
            raise CodequarryError(f"bm25: --model-arg {key}={value!r} is out of range; need {rule}")


class BM25Model(Model):
    kind = "bm25"

    def __init__(self, spec: str, settings: dict[str, Any]) -> None:
        if settings["method"] not in METHODS:
            raise CodequarryError(f"bm25: method must be one of {', '.join(METHODS)}, got {settings['method']!r}")
        check_parameters(settings)
        super().__init__(spec, settings.get("name") or "bm25", _bm25s_version(), settings)
        self._last: tuple[tuple[str, ...], _Index] | None = None

    def describe(self) -> dict[str, Any]:
        out = super().describe()
        out["settings"]["tokenizer"] = "codequarry-code-v1 (words + camelCase/snake_case/digit parts, lower-cased)"
        return out

    def _index(self, doc_ids: Sequence[str], texts: Sequence[str]) -> _Index:
        key = tuple(doc_ids)
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        index = _Index(texts, self.settings)
        self._last = (key, index)
        return index

    def retrieve(self, queries: Mapping[str, str], corpus: Mapping[str, str], k: int, *,
                 exclude_identical: bool = False, language: str | None = None, allow_missing: bool = False,
                 max_per_query: int | None = None, desc: str = "") -> Run:
        from codequarry.benchmarks.search import tie_keys
        from codequarry.progress import progress

        dids = list(corpus)
        index = self._index(dids, [corpus[d] for d in dids])
        keys = tie_keys(dids, len(dids))
        pos = {d: i for i, d in enumerate(dids)} if exclude_identical else {}
        run: Run = {}
        for qid in progress(list(queries), desc=f"bm25 {desc}".strip(), unit="query"):
            ids = index.query_ids(queries[qid])
            cand = index.matched(ids)
            if exclude_identical and qid in pos:
                cand = cand[cand != pos[qid]]
            if cand.size == 0:
                run[qid] = {}
                continue
            scores = index.scores(ids)[cand]
            top = topk_from_scores(scores, k, keys[cand])
            run[qid] = {dids[cand[i]]: s for i, s in top}
        return run

    def score_matrix(self, query_ids: Sequence[str], query_texts: Sequence[str], doc_ids: Sequence[str],
                     doc_texts: Sequence[str]) -> np.ndarray:
        index = _Index(doc_texts, self.settings)
        return np.stack([index.scores(index.query_ids(q)) for q in query_texts]) if query_texts else np.zeros((0, len(doc_texts)))

    def score_pairs(self, query_texts: Sequence[str], doc_texts: Sequence[str]) -> np.ndarray:
        uniq = list(dict.fromkeys(doc_texts))
        index = _Index(uniq, self.settings)
        pos = {t: i for i, t in enumerate(uniq)}
        return np.array([index.scores(index.query_ids(q))[pos[d]] for q, d in zip(query_texts, doc_texts)], dtype=np.float64)


def _bm25s_version() -> str:
    from importlib.metadata import version

    return f"bm25s-{version('bm25s')}"


def load_bm25(spec: str, target: str, args: dict[str, Any], *, cache_dir: Any = None, batch_size: Any = None) -> BM25Model:
    return BM25Model(spec, parse_options(spec, OPTIONS["bm25"], args))
