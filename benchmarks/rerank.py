"""A cross-encoder reranker: training on a pairs dir, and use as the second stage of a benchmark run.

Training (``train_reranker``): sentence-transformers ``CrossEncoder`` (one logit per (query, code) pair)
with ``BinaryCrossEntropyLoss`` on each train example's positive code (label 1) and ``num_negatives``
BM25 hard negatives (label 0, mined as in ``train_negatives.py``: the positive, its exact duplicates and
codes documented with the same query are never negatives); ``pos_weight = num_negatives`` balances the two
classes, as in sentence-transformers' reranker recipe. Same data rules, overlap refusal, seeded order and
AdamW/warm-up/clipping as the bi-encoder (``train.py``); no mid-run checkpoints (runs are short).
Validation: the valid split (``pairs-retrieval``) is searched with BM25 and the top ``rerank_top`` are
reranked, before and after training.

Second stage (``rerank`` / ``Reranked``): a first-stage run's top ``top_k`` docs per query are scored by
the cross-encoder and reordered by that score (ties: doc id descending, as trec_eval); the docs below
``top_k`` keep their first-stage order underneath. Reranked docs carry the cross-encoder's raw score;
the others get scores below every reranked one, decreasing in their first-stage order. ``Reranked`` is a
benchmark ``Model``, usable today as ``--model py:codequarry.benchmarks.rerank:Reranked --model-arg
first=SPEC --model-arg model=DIR --model-arg top_k=K``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from codequarry.benchmarks.models import Model, Run
from codequarry.errors import CodequarryError


def _ranked(docs: Mapping[str, float]) -> list[str]:
    """Doc ids in trec_eval order: score descending, then doc id descending."""
    return [d for d, _ in sorted(docs.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)]


def load_cross_encoder(model: Any, *, max_length: int | None = None, device: str | None = None) -> Any:
    """A ``CrossEncoder`` from a folder or Hub id (an already loaded one is returned as is)."""
    if not isinstance(model, (str, os.PathLike)):
        return model
    from codequarry.errors import require

    require("sentence_transformers", extra="models")
    from sentence_transformers import CrossEncoder

    from codequarry.benchmarks.train_loop import quiet_hf

    path = os.path.expanduser(str(model))
    try:
        with quiet_hf():
            return CrossEncoder(path if Path(path).exists() else str(model), max_length=max_length, device=device)
    except OSError as exc:
        raise CodequarryError(f"rerank: cannot load the cross-encoder {model!r} ({exc})") from exc


def _predict(ce: Any, pairs: list[tuple[str, str]], batch_size: int) -> np.ndarray:
    if not pairs:
        return np.zeros(0, dtype=np.float64)
    # raw logits (no sigmoid): the ranking is the same, and the run keeps more resolution
    import torch

    scores = ce.predict(pairs, batch_size=batch_size, show_progress_bar=False, activation_fn=torch.nn.Identity(),
                        convert_to_numpy=True)
    out = np.asarray(scores, dtype=np.float64).reshape(len(pairs), -1)[:, 0]
    if not np.all(np.isfinite(out)):
        raise CodequarryError("rerank: the cross-encoder produced a non-finite score")
    return out


def _reorder(first: list[str], ce_scores: dict[str, float]) -> dict[str, float]:
    """Reranked docs by cross-encoder score, then the rest in first-stage order, as one run for a query."""
    if not ce_scores:
        return {d: float(len(first) - i) for i, d in enumerate(first)}
    top = sorted(ce_scores.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)
    out = {d: float(s) for d, s in top}
    floor = min(ce_scores.values()) - 1.0
    rest = [d for d in first if d not in ce_scores]
    for i, d in enumerate(rest):
        out[d] = floor - i
    return out


def rerank(run: Mapping[str, Mapping[str, float]], queries: Mapping[str, str], corpus: Mapping[str, str],
           model_dir: Any, top_k: int = 100, *, batch_size: int = 32, max_length: int | None = None,
           device: str | None = None) -> Run:
    """Rerank each query's top ``top_k`` docs of ``run`` with a cross-encoder (a folder, Hub id or loaded model)."""
    from codequarry.progress import progress

    if top_k < 1:
        raise CodequarryError(f"rerank: top_k must be at least 1, got {top_k}")
    ce = load_cross_encoder(model_dir, max_length=max_length, device=device)
    out: Run = {}
    for qid in progress(list(run), desc="rerank", unit="query"):
        if qid not in queries:
            raise CodequarryError(f"rerank: run query {qid!r} is not among the queries")
        order = _ranked(run[qid])
        head = order[:top_k]
        missing = [d for d in head if d not in corpus]
        if missing:
            raise CodequarryError(f"rerank: query {qid!r} ranks doc {missing[0]!r}, which is not in the corpus")
        scores = _predict(ce, [(queries[qid], corpus[d]) for d in head], batch_size)
        out[qid] = _reorder(order, dict(zip(head, scores.tolist())))
    return out


class Reranked(Model):
    """A first-stage model followed by a cross-encoder over its top ``top_k`` (a benchmark ``Model``)."""

    kind = "reranked"

    def __init__(self, first: Any = "bm25", model: Any = None, top_k: int | str = 100, *,
                 first_args: Mapping[str, Any] | str | None = None, batch_size: int | str = 32,
                 max_length: int | str | None = None, device: str | None = None, name: str | None = None,
                 **_: Any) -> None:
        from codequarry.benchmarks.models import load_model

        if model is None:
            raise CodequarryError("Reranked: give the cross-encoder (--model-arg model=DIR_OR_HUB_ID)")
        self.top_k = int(top_k)
        if self.top_k < 1:
            raise CodequarryError(f"Reranked: top_k must be at least 1, got {top_k}")
        self.batch_size = int(batch_size)
        if isinstance(first_args, str):
            first_args = json.loads(first_args) if first_args.strip() else {}
        self.first = load_model(first, dict(first_args or {})) if isinstance(first, str) else first
        self.ce = load_cross_encoder(model, max_length=int(max_length) if max_length else None, device=device)
        is_path = isinstance(model, (str, os.PathLike))
        ce_name = Path(str(model)).name if is_path else type(model).__name__
        settings = {"first": self.first.describe(), "cross_encoder": str(model) if is_path else ce_name, "top_k": self.top_k,
                    "max_length": getattr(self.ce, "max_seq_length", None)}
        super().__init__(f"rerank:{getattr(self.first, 'spec', first)}+{settings['cross_encoder']}@{self.top_k}",
                         name or f"{self.first.name}+{ce_name}@{self.top_k}", None, settings)

    def retrieve(self, queries: Mapping[str, str], corpus: Mapping[str, str], k: int, *,
                 exclude_identical: bool = False, language: str | None = None, allow_missing: bool = False,
                 max_per_query: int | None = None, desc: str = "") -> Run:
        run = self.first.retrieve(queries, corpus, max(k, self.top_k), exclude_identical=exclude_identical,
                                  language=language, allow_missing=allow_missing, max_per_query=max_per_query, desc=desc)
        out = rerank(run, queries, corpus, self.ce, self.top_k, batch_size=self.batch_size)
        return {q: dict(list(sorted(docs.items(), key=lambda kv: (kv[1], kv[0]), reverse=True))[:k])
                for q, docs in out.items()}

    def search(self, queries: Mapping[str, str], corpus: Mapping[str, str], k: int) -> Run:
        """The ``py:`` model protocol: the reranked top ``k``."""
        return self.retrieve(queries, corpus, k)

    def score_matrix(self, query_ids: Sequence[str], query_texts: Sequence[str], doc_ids: Sequence[str],
                     doc_texts: Sequence[str]) -> np.ndarray:
        base = np.asarray(self.first.score_matrix(query_ids, query_texts, doc_ids, doc_texts), dtype=np.float64)
        out = np.empty_like(base)
        for r in range(base.shape[0]):
            row = {doc_ids[j]: float(base[r, j]) for j in range(len(doc_ids))}
            order = _ranked(row)
            head = order[:self.top_k]
            pos = {d: j for j, d in enumerate(doc_ids)}
            scores = _predict(self.ce, [(query_texts[r], doc_texts[pos[d]]) for d in head], self.batch_size)
            new = _reorder(order, dict(zip(head, scores.tolist())))
            out[r] = [new[d] for d in doc_ids]
        return out

    def score_pairs(self, query_texts: Sequence[str], doc_texts: Sequence[str]) -> np.ndarray:
        return _predict(self.ce, list(zip(query_texts, doc_texts)), self.batch_size)


# ---------------------------------------------------------------------------------------------
# training


def _valid_eval(ce: Any, cfg: Any, valid: Any, step: int) -> dict[str, Any]:
    """MRR & co. of BM25 alone and of BM25 + this cross-encoder over the (capped) valid split."""
    from codequarry.benchmarks.models import load_model

    t0 = time.perf_counter()
    task, data = valid
    bm25 = load_model("bm25")
    first = task.evaluate(data, bm25)
    second = task.evaluate(data, Reranked(bm25, ce, cfg.rerank_top))
    out = {"step": step, **{k: round(float(v), 6) for k, v in second.scores.items()},
           "first_stage": {k: round(float(v), 6) for k, v in first.scores.items()},
           "queries": second.num_queries, "docs": second.num_docs, "rerank_top": cfg.rerank_top,
           "seconds": round(time.perf_counter() - t0, 3)}
    return out


def train_reranker(pairs_dir: str | os.PathLike[str], base: str, out: str | os.PathLike[str], *, force: bool = False,
                   overwrite: bool = False, overlap_near: bool = True, base_model_id: str | None = None,
                   command: str | None = None, **options: Any) -> Any:
    """Train a cross-encoder reranker from ``base`` on ``pairs_dir``'s train split into ``out``; returns a TrainReport."""
    import shutil

    import torch

    from codequarry import options as _options
    from codequarry.benchmarks.train_config import LOG_NAME, RerankConfig
    from codequarry.benchmarks.train_data import check_overlap, data_provenance, read_examples, refuse_overlap
    from codequarry.benchmarks.train_loop import quiet_hf

    unknown = sorted(set(options) - {s.name for s in _options.specs(RerankConfig)})
    if unknown:
        raise CodequarryError(f"train --kind cross-encoder: unknown option(s) {', '.join(unknown)}")
    cfg = _options.from_mapping(RerankConfig, options, "train --kind cross-encoder")
    cfg.check()
    started = time.perf_counter()
    pairs_dir, out = Path(pairs_dir), Path(out)
    provenance = data_provenance(pairs_dir)
    overlap = check_overlap(pairs_dir, train_split=cfg.train_split, near=overlap_near)
    if not force:
        refuse_overlap(pairs_dir, overlap, "test")
    overlap["forced"] = bool(force)
    if cfg.valid_split and cfg.valid_split not in provenance["splits"]:
        raise CodequarryError(f"{pairs_dir}: no {cfg.valid_split!r} split for validation; pass --valid-split or --no-valid")
    if out.exists() and any(out.iterdir()):
        if not overwrite or not (out / LOG_NAME).is_file():
            raise CodequarryError(f"--out {out} is not empty; choose a new folder"
                                  + (" (or --overwrite a previous training run)" if (out / LOG_NAME).is_file() else ""))
        shutil.rmtree(out)
    ex = read_examples(pairs_dir, cfg.train_split, max_examples=cfg.max_train_examples, seed=cfg.seed)
    provenance.update(train_rows=ex.rows, train_examples=len(ex.ids), skipped=ex.skipped, licenses=ex.licenses,
                      train_repos=ex.repos)
    device = cfg.device or ("cuda" if torch.cuda.is_available() else "cpu")
    old_threads = torch.get_num_threads()
    if cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)
    try:
        with quiet_hf():
            return _train_ce(cfg, base, pairs_dir, out, provenance, overlap, ex, device, started, command, base_model_id)
    finally:
        torch.set_num_threads(old_threads)


def _train_ce(cfg: Any, base: str, pairs_dir: Path, out: Path, provenance: dict[str, Any],
              overlap: dict[str, Any], ex: Any, device: str, started: float, command: str | None,
              base_model_id: str | None) -> Any:
    """The training loop proper (see ``train_reranker``)."""
    import torch
    from sentence_transformers import CrossEncoder
    from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss
    from transformers import get_scheduler

    from codequarry import __version__
    from codequarry.benchmarks.train_card import plot_curves, write_card
    from codequarry.benchmarks.train_config import LOG_NAME, TrainReport
    from codequarry.benchmarks.train_data import epoch_batches, valid_task
    from codequarry.benchmarks.train_loop import environment, optimizer_step
    from codequarry.benchmarks.train_negatives import mine_hard_negatives, query_key
    from codequarry.progress import progress

    neg = mine_hard_negatives(ex.queries, ex.codes, ex.languages, num_negatives=cfg.num_negatives,
                              depth=cfg.hard_negative_depth, seed=cfg.seed, judged=ex.judged_negatives)
    if neg.stats["short"]:
        raise CodequarryError(f"train: {neg.stats['short']} examples lack {cfg.num_negatives} admissible negatives; "
                              "lower --hard-negatives")
    keys = [(("q", query_key(q)), ("d", neg.doc_of_example[i]), *(("d", d) for d in neg.negatives[i]))
            for i, q in enumerate(ex.queries)]
    per_epoch = len(epoch_batches(len(ex.ids), cfg.batch_size, cfg.seed, 0, keys))
    total = cfg.max_steps or max(1, math.ceil(cfg.epochs * per_epoch))
    torch.manual_seed(cfg.seed)
    path = os.path.expanduser(base)
    try:
        ce = CrossEncoder(path if Path(path).exists() else base, num_labels=1, max_length=cfg.max_length, device=device)
    except OSError as exc:
        raise CodequarryError(f"train: cannot load {base!r} as a cross-encoder ({exc})") from exc
    loss_fn = BinaryCrossEntropyLoss(ce, pos_weight=torch.tensor(float(cfg.num_negatives)))
    decay = [p for n, p in ce.named_parameters() if p.ndim >= 2 and "LayerNorm" not in n]
    no_decay = [p for n, p in ce.named_parameters() if not (p.ndim >= 2 and "LayerNorm" not in n)]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=cfg.learning_rate)
    warm = math.ceil(cfg.warmup_ratio * total)
    scheduler = get_scheduler("linear", optimizer, num_warmup_steps=warm, num_training_steps=total)
    valid = valid_task(pairs_dir, cfg.valid_split, cfg.valid_max_queries, cfg.valid_max_docs, cfg.seed) if cfg.valid_split else None

    def batch_loss(idx: list[int]) -> Any:
        qs, ds, ys = [], [], []
        for i in idx:
            qs.append(ex.queries[i])
            ds.append(ex.codes[i])
            ys.append(1.0)
            for d in neg.negatives[i]:
                qs.append(ex.queries[i])
                ds.append(neg.docs[d])
                ys.append(0.0)
        return loss_fn([qs, ds], torch.tensor(ys, device=ce.device))

    evals = []
    ce.eval()
    if valid:
        evals.append(_valid_eval(ce, cfg, valid, 0))
    ce.train()
    history = []
    t0 = time.perf_counter()
    step, epoch = 0, 0
    with progress(total=total, desc="train cross-encoder", unit="step") as bar:
        while step < total:
            for idx in epoch_batches(len(ex.ids), cfg.batch_size, cfg.seed, epoch, keys):
                if step >= total:
                    break
                value, lr = optimizer_step(batch_loss(idx), ce, optimizer, scheduler, cfg.max_grad_norm, step + 1)
                step += 1
                history.append({"step": step, "epoch": round(step / per_epoch, 4), "loss": value, "lr": lr})
                bar.update(1)
                bar.set_postfix(loss=f"{value:.4f}", refresh=False)
            epoch += 1
    train_time = time.perf_counter() - t0
    ce.eval()
    if valid:
        evals.append(_valid_eval(ce, cfg, valid, step))
    out.mkdir(parents=True, exist_ok=True)
    ce.save(str(out), create_model_card=False)
    report = TrainReport(
        out=str(out.resolve()), base=base, kind="cross-encoder",
        config=dict(dataclasses.asdict(cfg), warmup_steps_used=warm, total_steps=total, final_weights="last",
                    loss=f"BinaryCrossEntropyLoss (pos_weight={cfg.num_negatives})", hard_negatives=cfg.num_negatives,
                    base_model_id=base_model_id),
        data=provenance, overlap=overlap, hard_negatives=dict(neg.stats), steps=step, steps_per_epoch=per_epoch,
        epochs=round(step / per_epoch, 4), history=history, evals=evals, best=None, probe_loss={}, resumed_from=None,
        wall_time_s=round(time.perf_counter() - started, 3), train_time_s=round(train_time, 3),
        environment=dict(environment(device), command=command), codequarry_version=__version__)
    report = dataclasses.replace(report, plots=plot_curves(out, report))
    (out / LOG_NAME).write_text(json.dumps(report.to_dict(), indent=1, default=str), encoding="utf-8")
    write_card(out, report)
    return report
