"""The bi-encoder training loop: model, optimizer and schedule, steps, validation, the final folder.

A small torch loop rather than ``SentenceTransformerTrainer`` (see ``train.py`` for why). AdamW with
decoupled weight decay (none on biases and LayerNorm weights), a linear/cosine/constant schedule with
warm-up and gradient clipping follow the Hugging Face defaults.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import math
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from codequarry.benchmarks.train_checkpoints import (
    restore_best,
    save_checkpoint,
    set_torch_rng_state,
)
from codequarry.benchmarks.train_config import (
    CHECKPOINTS,
    LOG_NAME,
    STATE_JSON,
    STATE_PT,
    TRAJECTORY_KEYS,
    TrainConfig,
    TrainReport,
)
from codequarry.benchmarks.train_data import Examples, epoch_batches, live_encoder, valid_task
from codequarry.errors import CodequarryError

log = logging.getLogger(__name__)


@contextlib.contextmanager
def quiet_hf() -> Iterator[None]:
    """Hide transformers' own per-load/per-save progress bars (codequarry's bars show the work)."""
    from transformers.utils import logging as hf_logging

    was = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was:
            hf_logging.enable_progress_bar()


def environment(device: str) -> dict[str, Any]:
    import platform
    from importlib.metadata import PackageNotFoundError, version

    import torch

    pk = {}
    for name in ("torch", "transformers", "sentence-transformers", "bm25s", "numpy"):
        try:
            pk[name] = version(name)
        except PackageNotFoundError:
            pass
    gpu = torch.cuda.get_device_name(0) if device.startswith("cuda") and torch.cuda.is_available() else None
    return {"device": device, "gpu": gpu, "cpu_cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "python": platform.python_version(), "platform": platform.platform(), "packages": pk}


class Run:
    """One training run: model, optimizer and data, the loop, checkpoints and the final folder."""

    def __init__(self, cfg: TrainConfig, base: str, pairs_dir: Path, out: Path, provenance: dict[str, Any],
                 overlap: dict[str, Any], examples: Examples, resume: Path | None, command: str | None,
                 base_model_id: str | None = None) -> None:
        self.cfg, self.base, self.pairs_dir, self.out = cfg, base, pairs_dir, out
        self.base_model_id = base_model_id
        self.provenance, self.overlap, self.ex, self.resume, self.command = provenance, overlap, examples, resume, command

    # -- setup ------------------------------------------------------------------------------------
    def _load_model(self, source: str) -> Any:
        from codequarry.errors import require

        require("sentence_transformers", extra="models")
        from sentence_transformers import SentenceTransformer

        path = os.path.expanduser(source)
        try:
            model = SentenceTransformer(path if Path(path).exists() else source, device=self.device)
        except OSError as exc:
            raise CodequarryError(f"train: cannot load the sentence-transformers model {source!r} ({exc}). Give a "
                                  "local folder, or a Hub id while online (or already in the Hugging Face cache).") from exc
        if self.cfg.max_seq_length:
            model.max_seq_length = self.cfg.max_seq_length
        prompts = dict(model.prompts or {})
        if self.cfg.query_prompt is not None:
            prompts["query"] = self.cfg.query_prompt
        if self.cfg.document_prompt is not None:
            prompts["document"] = self.cfg.document_prompt
        model.prompts = prompts
        return model

    def _negatives(self) -> tuple[list[int], list[list[int]], list[str], dict[str, Any] | None]:
        """Per example: its positive's distinct-code index, its negatives' indices, the code texts, mining stats."""
        from codequarry.benchmarks.train_negatives import code_key, mine_hard_negatives

        ex, cfg = self.ex, self.cfg
        if cfg.hard_negatives:
            neg = mine_hard_negatives(ex.queries, ex.codes, ex.languages, num_negatives=cfg.hard_negatives,
                                      depth=cfg.hard_negative_depth, seed=cfg.seed, judged=ex.judged_negatives)
            if neg.stats["short"]:
                raise CodequarryError(f"train: {neg.stats['short']} examples lack {cfg.hard_negatives} admissible "
                                      "negatives (the split has too few distinct codes); lower --hard-negatives")
            return neg.doc_of_example, neg.negatives, neg.docs, dict(neg.stats)
        key_doc: dict[str, int] = {}
        doc_of = [key_doc.setdefault(code_key(c, lang), len(key_doc)) for c, lang in zip(ex.codes, ex.languages)]
        return doc_of, [[] for _ in doc_of], [], None

    def _schedule(self, optimizer: Any, total: int) -> tuple[Any, int]:
        from transformers import get_scheduler

        warm = self.cfg.warmup_steps if self.cfg.warmup_steps is not None else math.ceil(self.cfg.warmup_ratio * total)
        name = {"linear": "linear", "cosine": "cosine", "constant": "constant_with_warmup"}[self.cfg.scheduler]
        return get_scheduler(name, optimizer, num_warmup_steps=warm, num_training_steps=total), warm

    def _optimizer(self, model: Any) -> Any:
        import torch

        decay, no_decay = [], []
        for name, p in model.named_parameters():
            if not p.requires_grad:
                continue
            (no_decay if p.ndim < 2 or "LayerNorm" in name or "layer_norm" in name or name.endswith(".bias") else decay).append(p)
        groups = [{"params": decay, "weight_decay": self.cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
        return torch.optim.AdamW(groups, lr=self.cfg.learning_rate)

    # -- pieces of the loop ---------------------------------------------------------------------
    def _features(self, model: Any, idx: list[int]) -> list[dict[str, Any]]:
        from sentence_transformers.util import batch_to_device

        cfg = self.cfg
        cols = [([self.ex.queries[i] for i in idx], cfg.query_prompt, cfg.max_query_length),
                ([self.ex.codes[i] for i in idx], cfg.document_prompt, cfg.max_seq_length)]
        for j in range(cfg.hard_negatives):
            cols.append(([self.neg_docs[self.negs[i][j]] for i in idx], cfg.document_prompt, cfg.max_seq_length))
        feats = []
        for texts, prompt, limit in cols:
            kw = {"max_length": limit} if limit else {}
            feats.append(batch_to_device(model.preprocess(texts, prompt=prompt or None, **kw), model.device))
        return feats

    def _loss(self, model: Any, loss_fn: Any, idx: list[int]) -> Any:
        import torch

        ctx = (torch.autocast(device_type=model.device.type, dtype=torch.bfloat16) if self.cfg.precision == "bf16"
               else contextlib.nullcontext())
        with ctx:
            return loss_fn(self._features(model, idx), None)

    def _probe(self, model: Any, loss_fn: Any, batches: list[list[int]]) -> float:
        """Mean loss over fixed batches in eval mode (no dropout): the before/after training-loss check."""
        import torch

        was = model.training
        model.eval()
        try:
            with torch.no_grad():
                vals = [self._loss(model, loss_fn, b).item() for b in batches]
        finally:
            model.train(was)
        return float(np.mean(vals)) if vals else float("nan")

    def _evaluate(self, model: Any, step: int) -> dict[str, Any]:
        t0 = time.perf_counter()
        was = model.training
        model.eval()
        try:
            evaluation = self.valid[0].evaluate(self.valid[1], live_encoder(model, self.cfg))
        finally:
            model.train(was)
        log.info("step %d: validation MRR %.4f (%d queries, %d codes)", step, evaluation.scores.get("mrr", float("nan")),
                 evaluation.num_queries, evaluation.num_docs)
        return {"step": step, **{k: round(float(v), 6) for k, v in evaluation.scores.items()},
                "queries": evaluation.num_queries, "docs": evaluation.num_docs,
                "seconds": round(time.perf_counter() - t0, 3)}

    # -- main -------------------------------------------------------------------------------------
    def execute(self, started: float) -> TrainReport:
        import torch

        cfg = self.cfg
        self.device = cfg.device or ("cuda" if torch.cuda.is_available() else "cpu")
        old_threads = torch.get_num_threads()
        if cfg.num_threads:
            torch.set_num_threads(cfg.num_threads)
        try:
            with quiet_hf():
                return self._execute(started)
        finally:
            torch.set_num_threads(old_threads)

    def _execute(self, started: float) -> TrainReport:
        import torch
        from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

        from codequarry.benchmarks.train_card import plot_curves, write_card
        from codequarry.benchmarks.train_negatives import query_key
        from codequarry.progress import progress

        cfg = self.cfg
        doc_of, self.negs, self.neg_docs, neg_stats = self._negatives()
        keys = [(("q", query_key(q)), ("d", doc_of[i]), *(("d", d) for d in self.negs[i]))
                for i, q in enumerate(self.ex.queries)]
        n = len(self.ex.ids)
        cache: dict[int, list[list[int]]] = {}

        def batches(epoch: int) -> list[list[int]]:
            if epoch not in cache:
                if len(cache) > 2:
                    cache.pop(min(cache))
                cache[epoch] = epoch_batches(n, cfg.batch_size, cfg.seed, epoch, keys)
            return cache[epoch]

        def locate(step: int) -> tuple[int, int]:
            """(epoch, batch index) of a 1-based step: epochs may differ by a batch (duplicate-free packing)."""
            epoch, before = 0, 0
            while step - before > len(batches(epoch)):
                before += len(batches(epoch))
                epoch += 1
            return epoch, step - before - 1

        per_epoch = len(batches(0))
        total = cfg.max_steps or max(1, math.ceil(cfg.epochs * per_epoch))
        eval_every = cfg.eval_steps or per_epoch
        save_every = cfg.save_steps or eval_every
        probe_batches = batches(0)[:4]

        state: dict[str, Any]
        if self.resume is not None:
            prev = json.loads((self.resume / STATE_JSON).read_text(encoding="utf-8"))
            diff = [k for k in TRAJECTORY_KEYS if prev["config"].get(k) != dataclasses.asdict(cfg).get(k)]
            if prev.get("data_fingerprint") != self.provenance["fingerprint"]:
                diff.insert(0, "data (pairs dir fingerprint)")
            if diff:
                raise CodequarryError(f"cannot resume from {self.resume}: it was trained with different "
                                      f"{', '.join(diff)}; use the same settings, or --overwrite to start afresh")
            if prev["step"] >= total:
                raise CodequarryError(f"{self.resume} is at step {prev['step']}, already >= the {total} steps asked; "
                                      "raise --max-steps or --epochs to continue training")
            model = self._load_model(str(self.resume))
            state = dict(prev, config=dataclasses.asdict(cfg))
        else:
            torch.manual_seed(cfg.seed)
            model = self._load_model(self.base)
            state = {"step": 0, "history": [], "evals": [], "best": None, "probe_before": None,
                     "config": dataclasses.asdict(cfg), "base": self.base,
                     "data_fingerprint": self.provenance["fingerprint"], "train_time_s": 0.0}
        loss_fn = MultipleNegativesRankingLoss(model, scale=cfg.scale)
        optimizer = self._optimizer(model)
        scheduler, warm = self._schedule(optimizer, total)
        if self.resume is not None:
            saved = torch.load(self.resume / STATE_PT, map_location="cpu", weights_only=True)
            optimizer.load_state_dict(saved["optimizer"])
            scheduler.load_state_dict(saved["scheduler"])
            set_torch_rng_state(saved["rng"])
            restore_best(self.out, self.resume, state, self._load_model)
        self.valid = (valid_task(self.pairs_dir, cfg.valid_split, cfg.valid_max_queries, cfg.valid_max_docs, cfg.seed)
                      if cfg.valid_split else None)
        if state["probe_before"] is None:
            state["probe_before"] = self._probe(model, loss_fn, probe_batches)
        model.train()

        def evaluate_and_keep(step: int) -> None:
            result = self._evaluate(model, step)
            state["evals"].append(result)
            bar.set_postfix(loss=f"{state['history'][-1]['loss']:.4f}" if state["history"] else "-",
                            mrr=f"{result['mrr']:.4f}", refresh=False)
            best = state.get("best")
            if cfg.select_best and (best is None or result["mrr"] >= best["mrr"]):  # ties: the later weights
                state["best"] = {"step": step, "mrr": result["mrr"]}
                model.save(str(self.out / CHECKPOINTS / "best"), create_model_card=False)

        last_saved = state["step"]
        t_loop = time.perf_counter()
        base_time = float(state.get("train_time_s", 0.0))
        bar = progress(total=total, initial=state["step"], desc="train", unit="step")
        try:
            if self.valid and cfg.eval_at_start and state["step"] == 0 and not state["evals"]:
                evaluate_and_keep(0)
            while state["step"] < total:
                step = state["step"] + 1
                epoch, pos = locate(step)
                loss = self._loss(model, loss_fn, batches(epoch)[pos])
                loss_value, lr = optimizer_step(loss, model, optimizer, scheduler, cfg.max_grad_norm, step)
                state["step"] = step
                state["history"].append({"step": step, "epoch": round(epoch + (pos + 1) / len(batches(epoch)), 4),
                                         "loss": loss_value, "lr": lr})
                bar.update(1)
                bar.set_postfix(loss=f"{loss_value:.4f}", refresh=False)
                if self.valid and (step % eval_every == 0 or step == total):
                    evaluate_and_keep(step)
                if step % save_every == 0 or step == total:
                    state["train_time_s"] = base_time + time.perf_counter() - t_loop
                    save_checkpoint(self.out, model, optimizer, scheduler, state, device=self.device,
                                    keep=self.cfg.save_total_limit)
                    last_saved = step
        except KeyboardInterrupt:
            if state["step"] > last_saved:
                state["train_time_s"] = base_time + time.perf_counter() - t_loop
                path = save_checkpoint(self.out, model, optimizer, scheduler, state, device=self.device,
                                    keep=self.cfg.save_total_limit)
                bar.write(f"train: interrupted at step {state['step']}; checkpoint saved to {path} "
                          "(rerun the same command to resume)")
            raise
        finally:
            bar.close()
        train_time = base_time + time.perf_counter() - t_loop
        probe_after = self._probe(model, loss_fn, probe_batches)

        # final folder: the best validated checkpoint (or the last weights) + card, curves and log
        best_dir = self.out / CHECKPOINTS / "best"
        if cfg.select_best and state.get("best") and best_dir.is_dir():
            for item in best_dir.iterdir():
                dst = self.out / item.name
                if item.is_dir():
                    shutil.copytree(item, dst, dirs_exist_ok=True)
                else:
                    shutil.copy2(item, dst)
            final = "best"
        else:
            model.save(str(self.out), create_model_card=False)
            final = "last"
        shutil.rmtree(best_dir, ignore_errors=True)
        if not cfg.keep_checkpoints:
            shutil.rmtree(self.out / CHECKPOINTS, ignore_errors=True)
        from codequarry import __version__

        report = TrainReport(
            out=str(self.out.resolve()), base=self.base, kind="bi-encoder",
            config=dict(dataclasses.asdict(cfg), warmup_steps_used=warm, total_steps=total, final_weights=final,
                        loss=f"MultipleNegativesRankingLoss (scale {cfg.scale}, cosine)", base_model_id=self.base_model_id),
            data=self.provenance, overlap=self.overlap, hard_negatives=neg_stats, steps=state["step"],
            steps_per_epoch=per_epoch, epochs=state["history"][-1]["epoch"] if state["history"] else 0.0,
            history=state["history"],
            evals=state["evals"], best=state.get("best"),
            probe_loss={"before": state["probe_before"], "after": probe_after, "batches": len(probe_batches)},
            resumed_from=str(self.resume) if self.resume else None,
            wall_time_s=round(time.perf_counter() - started, 3), train_time_s=round(train_time, 3),
            environment=dict(environment(self.device), command=self.command), codequarry_version=__version__)
        plots = plot_curves(self.out, report)
        report = dataclasses.replace(report, plots=plots)
        (self.out / LOG_NAME).write_text(json.dumps(report.to_dict(), indent=1, default=str), encoding="utf-8")
        write_card(self.out, report)
        return report


def optimizer_step(loss: Any, model: Any, optimizer: Any, scheduler: Any, max_grad_norm: float | None,
                   step: int) -> tuple[float, float]:
    """One optimisation step from ``loss`` (refusing a non-finite loss); returns (loss value, learning rate used)."""
    import torch

    value = loss.detach().item()
    if not math.isfinite(value):
        raise CodequarryError(f"train: the loss became {value} at step {step}; lower the learning rate "
                              "(--learning-rate) or check the data")
    loss.backward()
    if max_grad_norm:
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
    lr = scheduler.get_last_lr()[0]
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad(set_to_none=True)
    return value, lr
