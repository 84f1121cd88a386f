"""Models for ``codequarry bench --model SPEC``: what a SPEC means, and the interface tasks call.

SPEC forms are the kinds registered in ``model_kinds.KINDS``, each loaded by its own module; ``--model-arg key=value`` sets the options each kind declares as a frozen
dataclass of ``codequarry.options.option`` fields (``OPTIONS[kind]`` in its module).

Interface every model offers to the tasks (``Model``): ``retrieve`` (top-k run over a corpus),
``score_matrix`` (a dense query × doc score block, for the CodeSearchNet batches) and ``score_pairs``
(one score per (query, code) pair, for classification). Encoders also offer ``embed`` and
``similarity_matrix``, so a protocol can encode each text once; their vectors go through the embedding
cache, keyed by model, revision, settings and text.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from codequarry import options
from codequarry.benchmarks.model_kinds import KINDS, options_class, spec_forms
from codequarry.errors import CodequarryError

Run = dict[str, dict[str, float]]


def _parse_value(text: Any, spec_: options.Spec, key: str, spec: str) -> Any:
    if text is None or not isinstance(text, str):
        return text
    if text.lower() in ("none", "null", ""):
        return None
    typ = options.value_type(spec_.hint)
    try:
        if typ is bool:
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(text)
        return typ(text) if typ in (int, float, str) else text
    except ValueError:
        raise CodequarryError(f"--model-arg {key}={text!r} for {spec}: expected {typ.__name__}") from None


def parse_options(spec: str, options_cls: type, given: Mapping[str, Any] | None) -> dict[str, Any]:
    """Typed settings from ``key=value`` args, per the kind's options dataclass; unknown keys list the known ones."""
    declared = {s.name: s for s in options.specs(options_cls)}
    out = {k: s.default for k, s in declared.items()}
    for key, value in (given or {}).items():
        if key not in declared:
            known = ", ".join(sorted(declared)) or "none"
            raise CodequarryError(f"--model-arg {key}: not an option of {spec.split(':', 1)[0]} models (options: {known})")
        out[key] = _parse_value(value, declared[key], key, spec)
    return out


def parse_model_args(items: Sequence[str] | None) -> dict[str, str]:
    """``["k=v", ...]`` → ``{"k": "v"}`` (CLI ``--model-arg``)."""
    out: dict[str, str] = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise CodequarryError(f"--model-arg {item!r}: expected KEY=VALUE")
        out[key.strip()] = value
    return out


# ---------------------------------------------------------------------------------------------
# base classes


class Model:
    """A model as tasks see it: ranks a corpus, scores a query × doc block, scores (query, code) pairs."""

    kind = "model"
    #: how ``score_pairs`` values should be turned into decisions: "probability" (>= 0.5) or "similarity"
    pair_score_kind = "similarity"
    is_prediction_file = False

    def __init__(self, spec: str, name: str, revision: str | None, settings: dict[str, Any]) -> None:
        self.spec = spec
        self.name = name
        self.revision = revision
        self.settings = settings

    def describe(self) -> dict[str, Any]:
        """Model provenance for a result file: spec, name, revision, settings."""
        return {"spec": self.spec, "name": self.name, "revision": self.revision, "kind": self.kind,
                "settings": {k: v for k, v in self.settings.items() if v is not None}}

    def prepare(self, task: Any, data: Any) -> None:
        """Bind to a task before scoring (prediction files validate their ids here); a no-op for real models."""

    def retrieve(self, queries: Mapping[str, str], corpus: Mapping[str, str], k: int, *,
                 exclude_identical: bool = False, language: str | None = None, allow_missing: bool = False,
                 max_per_query: int | None = None, desc: str = "") -> Run:
        """Top-``k`` docs per query as ``{qid: {docid: score}}`` (``exclude_identical`` drops docid == qid)."""
        raise NotImplementedError

    def score_matrix(self, query_ids: Sequence[str], query_texts: Sequence[str], doc_ids: Sequence[str],
                     doc_texts: Sequence[str]) -> np.ndarray:
        """A dense ``len(queries) × len(docs)`` score block (higher = more relevant)."""
        raise NotImplementedError

    def score_pairs(self, query_texts: Sequence[str], doc_texts: Sequence[str]) -> np.ndarray:
        """One score per aligned (query, code) pair."""
        raise NotImplementedError


class EncoderModel(Model):
    """A bi-encoder: queries and docs become vectors; scores are their dot product or cosine."""

    kind = "encoder"
    #: batches the cache hands ``encode_texts`` at once (a model may reorder a window to pad less)
    encode_window = 1

    def __init__(self, spec: str, name: str, revision: str | None, settings: dict[str, Any], *,
                 similarity: str, cache_dir: str | os.PathLike[str] | None, batch_size: int) -> None:
        super().__init__(spec, name, revision, settings)
        if similarity not in ("cos", "dot"):
            raise CodequarryError(f"{spec}: similarity must be 'cos' or 'dot', got {similarity!r}")
        self.similarity = similarity
        self.batch_size = int(batch_size)
        self.cache_dir = cache_dir
        self._cache = None

    # -- to implement ---------------------------------------------------------------------------
    def encode_texts(self, texts: list[str], side: str) -> np.ndarray:
        """Vectors for ``texts`` (already deduplicated and length-sorted) on ``side`` 'query' or 'document'."""
        raise NotImplementedError

    def embedding_settings(self, side: str) -> dict[str, Any]:
        """What changes a ``side`` vector besides the text (prompt, max length, pooling …): part of the cache key."""
        return {}

    # -- shared ----------------------------------------------------------------------------------
    def cache_key(self, side: str) -> str:
        """The embedding-cache key of ``side``'s vectors: model name, spec, revision and vector-changing settings."""
        from codequarry.benchmarks.cache import model_key

        return model_key(model=self.name, spec=self.spec, revision=self.revision, settings=self.embedding_settings(side))

    def _embedding_cache(self):
        if self._cache is None:
            from codequarry.benchmarks.cache import EmbeddingCache

            self._cache = EmbeddingCache(self.cache_dir)
        return self._cache

    def embed(self, texts: Sequence[str], *, side: str, desc: str = "") -> np.ndarray:
        """float32 vectors for ``texts``: each distinct text encoded once, longest first, through the cache."""
        texts = [t if isinstance(t, str) else str(t) for t in texts]
        uniq = sorted(set(texts), key=lambda t: (-len(t), t))  # length-bucketed batches pad little
        if not uniq:
            return np.zeros((0, 0), dtype=np.float32)

        def encode_fn(batch: list[str]) -> np.ndarray:
            return np.asarray(self.encode_texts(list(batch), side), dtype=np.float32)

        vecs = self._embedding_cache().encode(self.cache_key(side), uniq, encode_fn,
                                              batch_size=self.batch_size * self.encode_window,
                                              progress_desc=f"encode {desc or side}")
        vecs = np.asarray(vecs, dtype=np.float32)
        if vecs.ndim != 2 or vecs.shape[0] != len(uniq):
            raise CodequarryError(f"{self.spec}: expected {len(uniq)} vectors, got an array of shape {vecs.shape}")
        if not np.all(np.isfinite(vecs)):
            raise CodequarryError(f"{self.spec}: the model produced non-finite embeddings (NaN/inf)")
        pos = {t: i for i, t in enumerate(uniq)}
        return vecs[[pos[t] for t in texts]]

    def similarity_matrix(self, q: np.ndarray, d: np.ndarray) -> np.ndarray:
        q = np.asarray(q, dtype=np.float32)
        d = np.asarray(d, dtype=np.float32)
        if self.similarity == "cos":
            q = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
            d = d / np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-12)
        return q @ d.T

    def retrieve(self, queries: Mapping[str, str], corpus: Mapping[str, str], k: int, *,
                 exclude_identical: bool = False, language: str | None = None, allow_missing: bool = False,
                 max_per_query: int | None = None, desc: str = "") -> Run:
        from codequarry.benchmarks.search import exact_search, topk_to_run

        qids, dids = list(queries), list(corpus)
        if not qids or not dids:
            return {q: {} for q in qids}
        qv = self.embed([queries[q] for q in qids], side="query", desc=f"{desc} queries".strip())
        dv = self.embed([corpus[d] for d in dids], side="document", desc=f"{desc} corpus".strip())
        exclude = None
        if exclude_identical:
            pos = {d: i for i, d in enumerate(dids)}
            exclude = {i: [pos[q]] for i, q in enumerate(qids) if q in pos}
        idx, scores = exact_search(qv, dv, min(k, len(dids)), doc_ids=dids, exclude=exclude, similarity=self.similarity)
        return topk_to_run(qids, dids, idx, scores)

    def score_matrix(self, query_ids: Sequence[str], query_texts: Sequence[str], doc_ids: Sequence[str],
                     doc_texts: Sequence[str]) -> np.ndarray:
        return self.similarity_matrix(self.embed(query_texts, side="query"), self.embed(doc_texts, side="document"))

    def score_pairs(self, query_texts: Sequence[str], doc_texts: Sequence[str]) -> np.ndarray:
        q = self.embed(query_texts, side="query")
        d = self.embed(doc_texts, side="document")
        if self.similarity == "cos":
            q = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
            d = d / np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-12)
        return np.einsum("ij,ij->i", q, d)


def topk_from_scores(scores: np.ndarray, k: int, keys: np.ndarray) -> list[tuple[int, float]]:
    """Top-``k`` (index, score) of one score row, score descending then doc id descending (``keys`` from tie_keys)."""
    n = scores.shape[0]
    k = min(k, n)
    if k <= 0:
        return []
    if k < n:
        kth = np.partition(scores, n - k)[n - k]
        cand = np.flatnonzero(scores >= kth)  # includes every doc tied with the k-th score
    else:
        cand = np.arange(n)
    order = np.lexsort((-keys[cand], -scores[cand]))[:k]
    chosen = cand[order]
    return [(int(i), float(scores[i])) for i in chosen]


def check_finite(values: np.ndarray, spec: str, what: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        bad = int(np.flatnonzero(~np.isfinite(arr.ravel()))[0])
        raise CodequarryError(f"{spec}: {what} holds a non-finite value (NaN/inf) at position {bad}")
    return arr


# ---------------------------------------------------------------------------------------------
# SPEC → model

def split_spec(spec: str) -> tuple[str, str]:
    """``st:path`` → ("st", "path"); ``bm25`` → ("bm25", "")."""
    spec = spec.strip()
    kind, sep, rest = spec.partition(":")
    if kind not in KINDS:
        import difflib

        close = difflib.get_close_matches(kind.lower(), list(KINDS), n=1, cutoff=0.5)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise CodequarryError(f"unknown model spec {spec!r}.{hint} Use one of: {spec_forms()}")
    if kind == "bm25" and sep:
        raise CodequarryError(f"model spec {spec!r}: bm25 takes options through --model-arg (k1=…, b=…, method=…)")
    if kind != "bm25" and not rest:
        raise CodequarryError(f"model spec {spec!r} needs a target after '{kind}:'")
    return kind, rest


def model_options(kind: str) -> dict[str, options.Spec]:
    """The ``--model-arg`` options of a model kind (for --help and validation), from its options dataclass."""
    return {s.name: s for s in options.specs(options_class(kind))}


def local_model_name(path: Path) -> str:
    """A folder's model name: its own name, or its parent's when the folder is generically named (``model``)."""
    p = path.resolve()
    if p.name.lower() in {"model", "models", "snapshot", "weights", "checkpoint", "final"} or (
            len(p.name) == 40 and all(c in "0123456789abcdef" for c in p.name)):
        return p.parent.name
    return p.name


def load_model(spec: str, model_args: Mapping[str, Any] | None = None, *,
               cache_dir: str | os.PathLike[str] | None = None, batch_size: int | None = None) -> Model:
    """Build the model a SPEC names, with ``model_args`` (``--model-arg``) as typed options."""
    import importlib

    kind, target = split_spec(spec)
    entry = KINDS[kind]
    return getattr(importlib.import_module(entry.module), entry.factory)(spec, target, dict(model_args or {}),
                                                                         cache_dir=cache_dir, batch_size=batch_size)


