"""The options of a training run (``TrainConfig``: bi-encoder, ``RerankConfig``: cross-encoder) and the record a
run leaves (``TrainReport``).

These are the one declaration of the training options: ``codequarry train``'s flags, their ``--help`` and
the checks on library calls are derived from them (``codequarry.options``). The options both kinds take
are declared once, in ``TrainConfig``; ``RerankConfig`` takes them with ``like`` (same flag and help, its
own default), so ``--kind`` decides which set a command line fills and which defaults apply.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from codequarry import options
from codequarry.errors import CodequarryError
from codequarry.options import like, option

LOG_NAME = "training_log.json"
CHECKPOINTS = "checkpoints"
STATE_JSON = "trainer_state.json"
STATE_PT = "training_state.pt"
Scheduler = Literal["linear", "cosine", "constant"]
Precision = Literal["fp32", "bf16"]
SCHEDULERS: tuple[str, ...] = typing.get_args(Scheduler)
PRECISIONS: tuple[str, ...] = typing.get_args(Precision)
#: settings that change a run's trajectory: a resumed run must use the same values
TRAJECTORY_KEYS = ("query_prompt", "document_prompt", "max_query_length", "max_seq_length", "batch_size",
                   "learning_rate", "weight_decay", "scheduler", "warmup_ratio", "warmup_steps", "max_grad_norm",
                   "scale", "seed", "hard_negatives", "hard_negative_depth", "train_split", "max_train_examples",
                   "precision")
_DATA, _MODEL, _OPT, _VALID, _HW = "data", "model", "optimisation", "validation and checkpoints", "hardware"


@dataclass(frozen=True)
class TrainConfig:
    """Every option of a bi-encoder training run (``codequarry train``'s flags are generated from it)."""

    query_prompt: str | None = option(None, group=_MODEL, metavar="TEXT",
                                      help="text prepended to queries, stored as the model's 'query' prompt")
    document_prompt: str | None = option(None, group=_MODEL, metavar="TEXT",
                                         help="text prepended to code, stored as the model's 'document' prompt")
    max_query_length: int | None = option(64, group=_MODEL, minimum=1,
                                          help="truncate queries at N tokens while training")
    max_seq_length: int | None = option(256, group=_MODEL, minimum=1,
                                        help="truncate code (cross-encoder: query + code) at N tokens; saved as the "
                                             "model's maximum")
    epochs: float = option(1.0, group=_OPT, help="passes over the training examples")
    max_steps: int | None = option(None, group=_OPT, minimum=1, help="stop after N optimizer steps (overrides --epochs)")
    batch_size: int = option(32, group=_OPT, minimum=1,
                             help="examples per step (default: 32 bi-encoder, 16 cross-encoder); a bi-encoder's "
                                  "in-batch negatives are the other N-1 examples")
    learning_rate: float = option(2e-5, group=_OPT, metavar="LR", help="peak AdamW learning rate")
    weight_decay: float = option(0.01, group=_OPT, minimum=0, help="AdamW weight decay, not on biases/LayerNorm")
    scheduler: Scheduler = option("linear", group=_OPT,
                                  help="learning-rate schedule after warm-up (default: linear decay to 0)")
    warmup_ratio: float = option(0.1, group=_OPT, minimum=0, below=1, help="warm-up steps as a fraction of all steps")
    warmup_steps: int | None = option(None, group=_OPT, minimum=0, help="warm-up steps (overrides --warmup-ratio)")
    max_grad_norm: float = option(1.0, group=_OPT, minimum=0, help="gradient clipping norm, 0 = off")
    scale: float = option(20.0, group=_OPT,
                          help="bi-encoder: MultipleNegativesRankingLoss similarity scale (inverse temperature)")
    seed: int = option(0, group=_OPT, help="seed of the data order, mining fills and dropout")
    hard_negatives: int = option(0, group=_DATA, minimum=0,
                                 help="BM25 hard negatives per example (default: 0 for a bi-encoder, 3 for a "
                                      "cross-encoder)")
    hard_negative_depth: int | None = option(None, group=_DATA, minimum=1,
                                             help="BM25 hits read per query when mining (default: 4·N+16)")
    train_split: str = option("train", group=_DATA, metavar="S", help="split to train on")
    max_train_examples: int | None = option(None, group=_DATA, minimum=1,
                                            help="train on a seeded sample of at most N examples (default: all)")
    valid_split: str | None = option("valid", group=_VALID, metavar="S", help="split scored during training")
    valid_max_queries: int | None = option(1000, group=_VALID, minimum=1,
                                           help="validate on a seeded sample of at most N queries (default: 1000; "
                                                "cross-encoder: 200)")
    valid_max_docs: int | None = option(None, group=_VALID, minimum=1,
                                        help="cut the validation code pool to N codes (the sampled queries' own codes "
                                             "kept; default: all)")
    eval_steps: int | None = option(None, group=_VALID, minimum=1, help="validate every N steps (default: each epoch)")
    eval_at_start: bool = option(True, group=_VALID, help="score the base model before training")
    save_steps: int | None = option(None, group=_VALID, minimum=1,
                                    help="checkpoint every N steps (default: at each validation)")
    save_total_limit: int = option(1, group=_VALID, minimum=1, help="step checkpoints kept")
    select_best: bool = option(True, group=_VALID, help="pick the best validated weights as the final model")
    keep_checkpoints: bool = option(True, group=_VALID, help="keep checkpoints/ when training ends")
    device: str | None = option(None, group=_HW, help="torch device (default: cuda when available, else cpu)")
    precision: Precision = option("fp32", group=_HW,
                                  help="bi-encoder: bf16 autocast (GPUs that support it) or fp32 (default; bit-exact "
                                       "resume on CPU)")
    num_threads: int | None = option(None, group=_HW, flag="--threads", minimum=1,
                                     help="torch CPU threads while training (default: torch's)")
    encode_batch_size: int = option(64, minimum=1, cli=False, help="texts per batch when encoding for validation")

    def check(self) -> None:
        """Refuse impossible values with a message that names the option."""
        options.check(self, "train")
        if self.batch_size < 2:
            raise CodequarryError("train: batch_size must be at least 2 (in-batch negatives need other examples)")
        if not (self.epochs > 0) or math.isinf(self.epochs):
            raise CodequarryError(f"train: epochs must be a positive number, got {self.epochs!r}")
        if not (self.learning_rate > 0):
            raise CodequarryError(f"train: learning_rate must be positive, got {self.learning_rate!r}")
        if not (self.scale > 0):
            raise CodequarryError(f"train: scale must be positive, got {self.scale!r}")


@dataclass(frozen=True)
class RerankConfig:
    """Every option of a cross-encoder (reranker) training run; the shared ones are ``TrainConfig``'s."""

    num_negatives: int = like(TrainConfig, "hard_negatives", 3, minimum=1)
    hard_negative_depth: int | None = like(TrainConfig, "hard_negative_depth")
    max_length: int | None = like(TrainConfig, "max_seq_length")
    epochs: float = like(TrainConfig, "epochs")
    max_steps: int | None = like(TrainConfig, "max_steps")
    batch_size: int = like(TrainConfig, "batch_size", 16)
    learning_rate: float = like(TrainConfig, "learning_rate")
    weight_decay: float = like(TrainConfig, "weight_decay")
    warmup_ratio: float = like(TrainConfig, "warmup_ratio")
    max_grad_norm: float = like(TrainConfig, "max_grad_norm")
    seed: int = like(TrainConfig, "seed")
    train_split: str = like(TrainConfig, "train_split")
    max_train_examples: int | None = like(TrainConfig, "max_train_examples")
    valid_split: str | None = like(TrainConfig, "valid_split")
    valid_max_queries: int | None = like(TrainConfig, "valid_max_queries", 200)
    valid_max_docs: int | None = like(TrainConfig, "valid_max_docs")
    rerank_top: int = option(20, group=_VALID, minimum=1, metavar="K",
                             help="cross-encoder validation: rerank the top K BM25 hits")
    device: str | None = like(TrainConfig, "device")
    num_threads: int | None = like(TrainConfig, "num_threads")

    def check(self) -> None:
        """Refuse impossible values with a message that names the option."""
        options.check(self, "train")
        if not (self.epochs > 0) or math.isinf(self.epochs):
            raise CodequarryError(f"train: epochs must be a positive number, got {self.epochs!r}")
        if not (self.learning_rate > 0):
            raise CodequarryError(f"train: learning_rate must be positive, got {self.learning_rate!r}")


@dataclass(frozen=True)
class TrainReport:
    """What a run did: data and its provenance, the overlap check, curves, validation, timing, results."""

    out: str
    base: str
    kind: str
    config: dict[str, Any]
    data: dict[str, Any]
    overlap: dict[str, Any]
    hard_negatives: dict[str, Any] | None
    steps: int
    steps_per_epoch: int
    epochs: float
    history: list[dict[str, Any]]
    evals: list[dict[str, Any]]
    best: dict[str, Any] | None
    probe_loss: dict[str, float]
    resumed_from: str | None
    wall_time_s: float
    train_time_s: float
    environment: dict[str, Any]
    plots: list[str] = field(default_factory=list)
    results: list[str] = field(default_factory=list)
    codequarry_version: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainReport:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def load_report(model_dir: str | os.PathLike[str]) -> TrainReport:
    """The ``TrainReport`` a training run left in its output folder."""
    path = Path(model_dir) / LOG_NAME
    if not path.is_file():
        raise CodequarryError(f"{model_dir}: no {LOG_NAME}; is it a folder written by `codequarry train`?")
    try:
        return TrainReport.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, TypeError) as exc:
        raise CodequarryError(f"{path}: not a valid training log ({exc})") from exc

