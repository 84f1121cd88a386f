"""``codequarry train``: fine-tune a sentence-transformers bi-encoder for code search on a pairs dir.

Data: every row of the train split with a non-blank ``query`` and ``code`` whose ``label`` is not 0 is one
(query → code) example. ``label 0`` rows (pairs judged non-relevant, e.g. CoSQA) are never positives;
with hard negatives on, a label-0 code becomes the first negative of the examples with the same query
text (``train_negatives.py``). Every other row is counted by reason in the report.

Objective: ``MultipleNegativesRankingLoss`` (InfoNCE with in-batch negatives, cosine × ``scale``) from
sentence-transformers, optionally with BM25-mined hard negatives as extra candidate columns. Batches
never hold the same query text or the same (normalized) code twice, which would be a false negative
(the rule of sentence-transformers' ``NoDuplicatesBatchSampler``).

Loop: a small torch loop rather than ``SentenceTransformerTrainer``, for four reasons. It needs no
``accelerate`` (not a codequarry dependency). Its checkpoints hold everything that decides the rest of the
run — weights, AdamW and scheduler state, the torch RNG and the step; batches are a pure function of
(seed, epoch) — so a resumed run continues exactly (on CPU, bit for bit) where it stopped, and Ctrl-C saves
one. Validation is the benchmark itself: the valid split scored as the ``pairs-retrieval`` task through the
harness's own retrieval protocol and metrics, not a re-implementation inside a trainer callback. And progress
and errors follow codequarry's conventions. AdamW with decoupled weight decay (none on biases and LayerNorm
weights), a linear/cosine/constant schedule with warm-up and gradient clipping follow the Hugging Face
defaults.

Output folder: the model (``SentenceTransformer(OUT)`` and ``codequarry bench --model st:OUT`` load it;
query/document prompts are stored as the model's ``query``/``document`` prompts), ``README.md`` (model card:
data provenance, hyper-parameters, curves, results), ``loss_curve.png``, ``valid_mrr.png``,
``training_log.json`` (this run's ``TrainReport``) and ``checkpoints/`` (the last checkpoint, to continue
with more steps; ``keep_checkpoints=False`` removes it).

Modules: ``train_config`` (options, report), ``train_data`` (examples, overlap, batches, valid task),
``train_negatives`` (BM25 hard negatives), ``train_loop`` (the run), ``train_checkpoints`` (save/resume),
``train_card`` (model card and curves), ``train_cli`` (the command).
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from codequarry import options as _options
from codequarry.benchmarks.train_checkpoints import prepare_out
from codequarry.benchmarks.train_config import TrainConfig, TrainReport, load_report
from codequarry.benchmarks.train_data import check_overlap, data_provenance, read_examples, refuse_overlap
from codequarry.benchmarks.train_loop import Run, quiet_hf
from codequarry.errors import CodequarryError

log = logging.getLogger(__name__)


def train(pairs_dir: str | os.PathLike[str], base: str, out: str | os.PathLike[str], *,
          force: bool = False, overwrite: bool = False, resume_from: str | None = None,
          bench_split: str | None = None, bench_base: bool = False, bench_out: str | os.PathLike[str] | None = None,
          bench_cache_dir: str | os.PathLike[str] | None = None, overlap_near: bool = True,
          base_model_id: str | None = None, command: str | None = None, **options: Any) -> TrainReport:
    """Fine-tune ``base`` (a sentence-transformers folder or Hub id) on ``pairs_dir``'s train split into ``out``.

    ``options`` are ``TrainConfig`` fields. Refuses a dataset whose train split overlaps its test split
    unless ``force``. ``resume_from``: a checkpoint folder, a training folder, or ``"latest"`` (this
    ``out``'s newest checkpoint); an interrupted run in ``out`` is resumed without it. With ``bench_split``
    the ``pairs-retrieval`` benchmark runs on that split afterwards (``bench_base`` also scores the base
    model) and the results go into the card. ``base_model_id`` names the Hub id of a local ``base`` in the card.
    """
    unknown = sorted(set(options) - {s.name for s in _options.specs(TrainConfig)})
    if unknown:
        raise CodequarryError(f"train: unknown option(s) {', '.join(unknown)}")
    cfg = _options.from_mapping(TrainConfig, options, "train")
    cfg.check()
    started = time.perf_counter()
    pairs_dir = Path(pairs_dir)
    out = Path(out)
    provenance = data_provenance(pairs_dir)
    overlap = check_overlap(pairs_dir, train_split=cfg.train_split, near=overlap_near)
    if not force:
        refuse_overlap(pairs_dir, overlap, "test")
    elif (overlap.get("by_split", {}).get("test") or {}).get("rows"):
        log.warning("training on %s rows that overlap the test split (--force); the card records it",
                    overlap["by_split"]["test"]["rows"])
    overlap["forced"] = bool(force)
    if cfg.valid_split and cfg.valid_split not in provenance["splits"]:
        raise CodequarryError(f"{pairs_dir}: no {cfg.valid_split!r} split for validation; it has "
                              f"{', '.join(provenance['splits'])}. Pass --valid-split NAME or --no-valid.")
    if bench_split and bench_split not in provenance["splits"]:
        raise CodequarryError(f"{pairs_dir}: no {bench_split!r} split to benchmark; it has {', '.join(provenance['splits'])}")
    resume = prepare_out(out, overwrite=overwrite, resume_from=resume_from)
    if resume is not None:
        log.info("resuming from %s", resume)
    examples = read_examples(pairs_dir, cfg.train_split, max_examples=cfg.max_train_examples, seed=cfg.seed)
    provenance.update(train_rows=examples.rows, train_examples=len(examples.ids), skipped=examples.skipped,
                      licenses=examples.licenses, train_repos=examples.repos)
    run = Run(cfg, base, pairs_dir, out, provenance, overlap, examples, resume, command, base_model_id)
    report = run.execute(started)
    if bench_split:
        report = bench_trained(out, pairs_dir, bench_split, base=base if bench_base else None, results_dir=bench_out,
                               cache_dir=bench_cache_dir, command=command)
    return report


def bench_trained(model_dir: str | os.PathLike[str], pairs_dir: str | os.PathLike[str], split: str, *,
                  base: str | None = None, results_dir: str | os.PathLike[str] | None = None,
                  cache_dir: str | os.PathLike[str] | None = None, command: str | None = None) -> TrainReport:
    """Score the trained model (and optionally ``base``) on ``split`` as a ``pairs-retrieval`` task; record it in the card.

    The trained model is encoded through a fresh temporary embedding cache (retraining into the same folder
    must never reuse the vectors of an earlier model); the base model may use ``cache_dir``.
    """
    from codequarry.benchmarks.models import local_model_name
    from codequarry.benchmarks.runner import bench
    from codequarry.benchmarks.train_card import add_results_to_card

    model_dir = Path(model_dir)
    report = load_report(model_dir)
    results_dir = Path(results_dir) if results_dir else model_dir / "eval"
    args = {"name": local_model_name(model_dir)}
    if report.config.get("query_prompt"):
        args["query_prompt_name"] = "query"
    if report.config.get("document_prompt"):
        args["document_prompt_name"] = "document"
    # a throw-away embedding cache: the folder's revision (file names and sizes) may survive a retraining
    with tempfile.TemporaryDirectory(prefix="codequarry-train-bench-") as fresh, quiet_hf():
        paths = bench(f"st:{model_dir.resolve()}", str(pairs_dir), split=split, out=results_dir, cache_dir=fresh,
                      model_args=args, force=True, command=command)
    if base:
        base_args = {"max_length": report.config.get("max_seq_length")} if report.config.get("max_seq_length") else {}
        with quiet_hf():
            paths += bench(f"st:{base}", str(pairs_dir), split=split, out=results_dir, cache_dir=cache_dir,
                           model_args=base_args, force=True, command=command)
    add_results_to_card(model_dir, paths)
    return load_report(model_dir)
