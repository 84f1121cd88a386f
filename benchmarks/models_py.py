"""``py:MODULE:ATTR``: any Python object as a model.

``MODULE`` is a dotted module name or a path to a ``.py`` file; ``ATTR`` names an object, a class or a
factory in it (a class or factory is called with the ``--model-arg`` values as keyword arguments). The
object provides any of:

* ``encode_queries(texts: list[str], batch_size=...)`` and ``encode_corpus(texts, batch_size=...)`` returning
  a 2-D array (a bi-encoder; ``similarity`` attribute ``"cos"`` (default) or ``"dot"``; corpus texts are
  plain strings, or BEIR/CoIR ``{"title": "", "text": ...}`` dicts when the object sets
  ``corpus_as_dicts = True``);
* ``search(queries: dict[str, str], corpus: dict[str, str], k: int) -> {qid: {docid: score}}``;
* ``score_pairs(queries: list[str], codes: list[str]) -> array`` (a cross-encoder or classifier; values are
  read as probabilities, decided at 0.5, unless the object sets ``pair_score_kind = "similarity"``).

Vectors are cached under a key that includes the module file's content hash, the arguments and the
object's ``revision`` attribute when it has one, so editing the model's code invalidates its cache.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from codequarry.benchmarks.models import EncoderModel, Model, Run, check_finite
from codequarry.errors import CodequarryError


@dataclass(frozen=True)
class PyOptions:
    """``py:`` models declare no options of their own: any --model-arg is passed to the class or factory."""


OPTIONS: dict[str, type] = {"py": PyOptions}
_RESERVED = {"threshold", "name", "batch_size"}


def _import(spec: str, module: str) -> Any:
    path = Path(module)
    if module.endswith(".py"):
        if not path.is_file():
            raise CodequarryError(f"{spec}: no such file {module}")
        name = f"codequarry_user_model_{hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:10]}"
        loader_spec = importlib.util.spec_from_file_location(name, path)
        if loader_spec is None or loader_spec.loader is None:
            raise CodequarryError(f"{spec}: cannot import {module}")
        mod = importlib.util.module_from_spec(loader_spec)
        sys.modules[name] = mod
        loader_spec.loader.exec_module(mod)
        return mod
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise CodequarryError(f"{spec}: cannot import module {module!r} ({exc})") from exc


def _source_hash(mod: Any) -> str:
    f = getattr(mod, "__file__", None)
    if f and Path(f).is_file():
        return hashlib.sha256(Path(f).read_bytes()).hexdigest()[:16]
    return "unknown"


def _capabilities(obj: Any) -> list[str]:
    caps = []
    if callable(getattr(obj, "encode_queries", None)) and callable(getattr(obj, "encode_corpus", None)):
        caps.append("encode")
    if callable(getattr(obj, "search", None)):
        caps.append("search")
    if callable(getattr(obj, "score_pairs", None)):
        caps.append("score_pairs")
    return caps


class PyEncoder(EncoderModel):
    kind = "python-encoder"

    def __init__(self, spec: str, obj: Any, name: str, revision: str, settings: dict[str, Any], *,
                 cache_dir: Any, batch_size: int) -> None:
        self.obj = obj
        super().__init__(spec, name, revision, settings, similarity=str(getattr(obj, "similarity", "cos")),
                         cache_dir=cache_dir, batch_size=batch_size)
        self.pair_score_kind = str(getattr(obj, "pair_score_kind", "similarity"))

    def embedding_settings(self, side: str) -> dict[str, Any]:
        return {"args": self.settings, "side": side}

    def encode_texts(self, texts: list[str], side: str) -> np.ndarray:
        if side == "query":
            out = _call(self.obj.encode_queries, texts, self.batch_size)
        else:
            docs = [{"title": "", "text": t} for t in texts] if getattr(self.obj, "corpus_as_dicts", False) else texts
            out = _call(self.obj.encode_corpus, docs, self.batch_size)
        return _to_numpy(out)

    def score_pairs(self, query_texts: Sequence[str], doc_texts: Sequence[str]) -> np.ndarray:
        if callable(getattr(self.obj, "score_pairs", None)):
            return check_finite(self.obj.score_pairs(list(query_texts), list(doc_texts)), self.spec, "score_pairs")
        return super().score_pairs(query_texts, doc_texts)


class PyModel(Model):
    """A searcher (``search``) and/or pair scorer (``score_pairs``) without encoders."""

    kind = "python"

    def __init__(self, spec: str, obj: Any, name: str, revision: str, settings: dict[str, Any]) -> None:
        super().__init__(spec, name, revision, settings)
        self.obj = obj
        self.pair_score_kind = str(getattr(obj, "pair_score_kind", "probability"))

    def retrieve(self, queries: Mapping[str, str], corpus: Mapping[str, str], k: int, *,
                 exclude_identical: bool = False, language: str | None = None, allow_missing: bool = False,
                 max_per_query: int | None = None, desc: str = "") -> Run:
        from codequarry.benchmarks.models_runs import validate_run

        if callable(getattr(self.obj, "search", None)):
            run = self.obj.search(dict(queries), dict(corpus), k)
            if not isinstance(run, Mapping):
                raise CodequarryError(f"{self.spec}: search() must return {{qid: {{docid: score}}}}, got {type(run).__name__}")
            run = {str(q): {str(d): float(s) for d, s in docs.items()} for q, docs in run.items()}
        elif callable(getattr(self.obj, "score_pairs", None)):
            qids, dids = list(queries), list(corpus)
            scores = self.score_matrix(qids, [queries[q] for q in qids], dids, [corpus[d] for d in dids])
            run = _top_k_run(qids, dids, scores, k)
        else:
            raise CodequarryError(f"{self.spec}: the object has no encode_queries/encode_corpus, search or score_pairs")
        if exclude_identical:
            run = {q: {d: s for d, s in docs.items() if d != q} for q, docs in run.items()}
        return validate_run(run, queries, corpus, source=self.spec, allow_missing=allow_missing, k=k)

    def score_matrix(self, query_ids: Sequence[str], query_texts: Sequence[str], doc_ids: Sequence[str],
                     doc_texts: Sequence[str]) -> np.ndarray:
        if not callable(getattr(self.obj, "score_pairs", None)):
            raise CodequarryError(f"{self.spec}: scoring a candidate block needs score_pairs or encode_queries/encode_corpus")
        qs = [q for q in query_texts for _ in doc_texts]
        ds = [d for _ in query_texts for d in doc_texts]
        return self.score_pairs(qs, ds).reshape(len(query_texts), len(doc_texts))

    def score_pairs(self, query_texts: Sequence[str], doc_texts: Sequence[str]) -> np.ndarray:
        if not callable(getattr(self.obj, "score_pairs", None)):
            raise CodequarryError(f"{self.spec}: pair classification needs score_pairs or encode_queries/encode_corpus")
        out = check_finite(self.obj.score_pairs(list(query_texts), list(doc_texts)), self.spec, "score_pairs")
        if out.shape != (len(query_texts),):
            raise CodequarryError(f"{self.spec}: score_pairs returned shape {out.shape} for {len(query_texts)} pairs")
        return out


def _top_k_run(qids: list[str], dids: list[str], scores: np.ndarray, k: int) -> Run:
    from codequarry.benchmarks.models import topk_from_scores
    from codequarry.benchmarks.search import tie_keys

    keys = tie_keys(dids, len(dids))
    return {q: {dids[i]: s for i, s in topk_from_scores(scores[n], k, keys)} for n, q in enumerate(qids)}


def _call(fn: Any, texts: Any, batch_size: int) -> Any:
    try:
        if "batch_size" in inspect.signature(fn).parameters:
            return fn(texts, batch_size=batch_size)
    except (TypeError, ValueError):
        pass
    return fn(texts)


def _to_numpy(out: Any) -> np.ndarray:
    if hasattr(out, "detach"):
        out = out.detach().float().cpu().numpy()
    return np.asarray(out, dtype=np.float32)


def _accepted(factory: Any, args: dict[str, Any], spec: str, attr: str) -> dict[str, Any]:
    """The ``--model-arg`` values ``factory`` takes: all of them with ``**kwargs``, else the named parameters
    (``name``, ``threshold``, ``batch_size`` are codequarry's own and may be left to it)."""
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return {k: v for k, v in args.items() if k not in _RESERVED}
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return dict(args)
    unknown = [k for k in args if k not in params and k not in _RESERVED]
    if unknown:
        raise CodequarryError(f"{spec}: {attr} takes no argument {unknown[0]!r} (it takes: {', '.join(params) or 'none'})")
    return {k: v for k, v in args.items() if k in params}


def load_py(spec: str, target: str, args: dict[str, Any], *, cache_dir: Any = None, batch_size: int | None = None) -> Model:
    module, sep, attr = target.rpartition(":")
    if not sep or not module or not attr:
        raise CodequarryError(f"model spec {spec!r}: expected py:MODULE:ATTR (MODULE a dotted name or a .py file)")
    mod = _import(spec, module)
    if not hasattr(mod, attr):
        raise CodequarryError(f"{spec}: module {module!r} has no attribute {attr!r}")
    obj = getattr(mod, attr)
    settings = {k: v for k, v in args.items()}
    if inspect.isclass(obj) or (not _capabilities(obj) and not isinstance(obj, Model) and callable(obj)):
        kwargs = _accepted(obj, args, spec, attr)
        try:
            obj = obj(**kwargs)
        except TypeError as exc:
            raise CodequarryError(f"{spec}: calling {attr}(**{kwargs}) failed: {exc}") from exc
    elif any(k not in _RESERVED for k in args):
        raise CodequarryError(f"{spec}: {attr} is an object, so --model-arg {next(k for k in args if k not in _RESERVED)}=… "
                              "cannot be passed to it")
    if isinstance(obj, Model):  # a codequarry Model already speaks the task interface: use it as is
        return obj
    caps = _capabilities(obj)
    if not caps:
        raise CodequarryError(f"{spec}: {attr} has none of encode_queries+encode_corpus, search, score_pairs")
    name = str(args.get("name") or getattr(obj, "name", None) or attr)
    revision = f"{getattr(obj, 'revision', None) or 'src'}:{_source_hash(mod)}"
    if "encode" in caps:
        bs = int(args.get("batch_size") or batch_size or 32)
        return PyEncoder(spec, obj, name, revision, settings, cache_dir=cache_dir, batch_size=bs)
    return PyModel(spec, obj, name, revision, settings)
