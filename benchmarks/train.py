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
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import shutil
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from codequarry.errors import CodequarryError

LOG_NAME = "training_log.json"
CHECKPOINTS = "checkpoints"
STATE_JSON = "trainer_state.json"
STATE_PT = "training_state.pt"
SCHEDULERS = ("linear", "cosine", "constant")
PRECISIONS = ("fp32", "bf16")
#: settings that change a run's trajectory: a resumed run must use the same values
TRAJECTORY_KEYS = ("query_prompt", "document_prompt", "max_query_length", "max_seq_length", "batch_size",
                   "learning_rate", "weight_decay", "scheduler", "warmup_ratio", "warmup_steps", "max_grad_norm",
                   "scale", "seed", "hard_negatives", "hard_negative_depth", "train_split", "max_train_examples",
                   "precision")


@dataclass(frozen=True)
class TrainConfig:
    """Every option of a bi-encoder training run (the CLI flags map one to one)."""

    query_prompt: str | None = None
    document_prompt: str | None = None
    max_query_length: int | None = 64
    max_seq_length: int | None = 256
    epochs: float = 1.0
    max_steps: int | None = None
    batch_size: int = 32
    learning_rate: float = 2e-5
    weight_decay: float = 0.01
    scheduler: str = "linear"
    warmup_ratio: float = 0.1
    warmup_steps: int | None = None
    max_grad_norm: float = 1.0
    scale: float = 20.0
    seed: int = 0
    hard_negatives: int = 0
    hard_negative_depth: int | None = None
    train_split: str = "train"
    max_train_examples: int | None = None
    valid_split: str | None = "valid"
    valid_max_queries: int | None = 1000
    valid_max_docs: int | None = None
    eval_steps: int | None = None
    eval_at_start: bool = True
    save_steps: int | None = None
    save_total_limit: int = 1
    select_best: bool = True
    keep_checkpoints: bool = True
    device: str | None = None
    precision: str = "fp32"
    num_threads: int | None = None
    encode_batch_size: int = 64

    def check(self) -> None:
        """Refuse impossible values with a message that names the option."""
        positive = {"batch_size": self.batch_size, "max_steps": self.max_steps, "max_query_length": self.max_query_length,
                    "max_seq_length": self.max_seq_length, "eval_steps": self.eval_steps, "save_steps": self.save_steps,
                    "valid_max_queries": self.valid_max_queries, "valid_max_docs": self.valid_max_docs,
                    "max_train_examples": self.max_train_examples, "num_threads": self.num_threads,
                    "encode_batch_size": self.encode_batch_size, "hard_negative_depth": self.hard_negative_depth}
        for name, value in positive.items():
            if value is not None and (not isinstance(value, int) or value < 1):
                raise CodequarryError(f"train: {name} must be a positive integer, got {value!r}")
        if self.batch_size < 2:
            raise CodequarryError("train: batch_size must be at least 2 (in-batch negatives need other examples)")
        if not (self.epochs > 0) or math.isinf(self.epochs):
            raise CodequarryError(f"train: epochs must be a positive number, got {self.epochs!r}")
        if not (self.learning_rate > 0):
            raise CodequarryError(f"train: learning_rate must be positive, got {self.learning_rate!r}")
        if not 0 <= self.warmup_ratio < 1:
            raise CodequarryError(f"train: warmup_ratio must be in [0, 1), got {self.warmup_ratio!r}")
        if self.warmup_steps is not None and self.warmup_steps < 0:
            raise CodequarryError(f"train: warmup_steps must be >= 0, got {self.warmup_steps!r}")
        if self.hard_negatives < 0:
            raise CodequarryError(f"train: hard_negatives must be >= 0, got {self.hard_negatives!r}")
        if self.save_total_limit < 1:
            raise CodequarryError(f"train: save_total_limit must be at least 1, got {self.save_total_limit!r}")
        if self.scheduler not in SCHEDULERS:
            raise CodequarryError(f"train: scheduler must be one of {', '.join(SCHEDULERS)}, got {self.scheduler!r}")
        if self.precision not in PRECISIONS:
            raise CodequarryError(f"train: precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if self.weight_decay < 0 or self.max_grad_norm < 0 or self.scale <= 0:
            raise CodequarryError("train: weight_decay and max_grad_norm must be >= 0 and scale > 0")


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


# ---------------------------------------------------------------------------------------------
# data


@dataclass(frozen=True)
class Examples:
    """The training examples of a split (parallel lists) and an account of the rows that are not examples."""

    ids: list[str]
    queries: list[str]
    codes: list[str]
    languages: list[str | None]
    judged_negatives: list[tuple[str, str, str | None]]
    skipped: dict[str, int]
    licenses: dict[str, int]
    repos: int
    rows: int


def read_examples(pairs_dir: str | os.PathLike[str], split: str, *, max_examples: int | None = None,
                  seed: int = 0) -> Examples:
    """(query → code) examples of ``split``: rows with non-blank query and code and a label other than 0."""
    from codequarry.pairs import PairsDir

    d = PairsDir(pairs_dir)
    if split not in d.splits():
        raise CodequarryError(f"{pairs_dir}: no {split!r} split to train on; it has: {', '.join(d.splits()) or 'none'}. "
                              "Split it with `codequarry clean DIR --out CLEAN --preset default` (split by repository).")
    names = set(d.schema.names)
    cols = [c for c in ("id", "query", "code", "language", "label", "license", "repo") if c in names]
    ids: list[str] = []
    queries: list[str] = []
    codes: list[str] = []
    langs: list[str | None] = []
    judged: list[tuple[str, str, str | None]] = []
    skipped: Counter[str] = Counter()
    licenses: Counter[str] = Counter()
    repos: set[str] = set()
    rows = 0
    for table in d.iter_batches(split=split, columns=cols):
        for r in table.to_pylist():
            rows += 1
            q, c = r.get("query"), r.get("code")
            if q is None or not str(q).strip():
                skipped["empty_query"] += 1
                continue
            if c is None or not str(c).strip():
                skipped["empty_code"] += 1
                continue
            if r.get("label") == 0:
                skipped["label_0"] += 1
                judged.append((q, c, r.get("language")))
                continue
            ids.append(r["id"])
            queries.append(q)
            codes.append(c)
            langs.append(r.get("language"))
            licenses[r.get("license") or "unknown"] += 1
            if r.get("repo"):
                repos.add(r["repo"])
    if max_examples is not None and len(ids) > max_examples:
        keep = np.sort(np.random.default_rng(seed).permutation(len(ids))[:max_examples])
        skipped["over_max_train_examples"] += len(ids) - max_examples
        ids, queries, codes, langs = ([xs[i] for i in keep] for xs in (ids, queries, codes, langs))
    if len(ids) < 2:
        raise CodequarryError(f"{pairs_dir}: split {split!r} has {len(ids)} usable (query, code) rows; training "
                              "needs at least 2 (rows need a non-empty query and code, label not 0)")
    return Examples(ids=ids, queries=queries, codes=codes, languages=langs, judged_negatives=judged,
                    skipped=dict(sorted(skipped.items())), licenses=dict(licenses.most_common()), repos=len(repos),
                    rows=rows)


def data_provenance(pairs_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """Path, fingerprint, recipe, sources (with licenses) and split sizes of a pairs dir, for the card."""
    from codequarry.pairs import PairsDir

    d = PairsDir(pairs_dir)
    m = d.manifest
    return {"path": str(Path(pairs_dir).resolve()), "fingerprint": d.fingerprint, "created_by": m.get("created_by"),
            "codequarry_version": m.get("codequarry_version"), "sources": m.get("sources", []),
            "recipe": m.get("recipe"), "input": m.get("input"),
            "splits": {s: d.num_rows(split=s) for s in d.splits()}, "configs": d.configs}


# ---------------------------------------------------------------------------------------------
# train/test overlap


def check_overlap(pairs_dir: str | os.PathLike[str], *, train_split: str = "train",
                  held_out: Sequence[str] = ("valid", "test"), near: bool = True) -> dict[str, Any]:
    """Train rows that overlap a held-out split: same id, identical normalized code, or near-duplicate code.

    Code matching is the cleaners' ``leakage`` step itself (exact normalized code, and with ``near``
    MinHash-LSH at Jaccard 0.7 over 5-gram shingles, its defaults), so a dir cleaned with that step passes.
    Returns counts per held-out split (a row is counted once, under the first of id > exact > near) and
    up to five examples.
    """
    import tempfile

    import pyarrow as pa

    from codequarry.cleaners.leakage import Leakage, Params
    from codequarry.pairs import PairsDir

    d = PairsDir(pairs_dir)
    have = d.splits()
    held = [s for s in held_out if s in have and s != train_split]
    out: dict[str, Any] = {"train_split": train_split, "held_out": held, "method": "id + exact normalized code"
                           + (" + MinHash-LSH near-duplicate code (Jaccard 0.7)" if near else ""),
                           "by_split": {}, "examples": []}
    if not held or train_split not in have:
        return out
    names = set(d.schema.names)
    cols = [c for c in ("id", "code", "language") if c in names]
    ids_by_split: dict[str, set[str]] = {}
    tables = []
    for s in (train_split, *held):
        for t in d.iter_batches(split=s, columns=cols):
            ids_by_split.setdefault(s, set()).update(t.column("id").to_pylist())
            n = t.num_rows
            tables.append(pa.table({"id": pa.array([f"{s}\x1f{i}" for i in t.column("id").to_pylist()], pa.string()),
                                    "code": t.column("code"), "language": t.column("language"),
                                    "split": pa.array([s] * n, pa.string())}))
    train_ids = ids_by_split.get(train_split, set())
    step = Leakage(Params(method="both" if near else "exact", train_splits=(train_split,), held_out_splits=tuple(held)))
    with tempfile.TemporaryDirectory(prefix="codequarry-overlap-") as work:
        decision = step.resolve([step.map(t) for t in tables], Path(work))
    leaks = {k.split("\x1f", 1)[1]: v for k, v in decision.leaks.items()}
    for s in held:
        same_id = train_ids & ids_by_split.get(s, set())
        exact = {i for i, (_, hs, kind) in leaks.items() if hs == s and kind == "exact"} - same_id
        near_rows = {i for i, (_, hs, kind) in leaks.items() if hs == s and kind == "near"} - same_id - exact
        out["by_split"][s] = {"rows": len(same_id | exact | near_rows), "same_id": len(same_id), "exact_code": len(exact),
                              "near_duplicate_code": len(near_rows)}
        for i in sorted(same_id)[:2]:
            out["examples"].append({"train": i, "held_out": i, "split": s, "match": "same id"})
        for i in sorted(exact | near_rows)[:3]:
            hid, _, kind = leaks[i]
            out["examples"].append({"train": i, "held_out": hid.split("\x1f", 1)[1], "split": s,
                                    "match": "identical normalized code" if kind == "exact" else "near-duplicate code"})
    out["train_rows"] = len(train_ids)
    return out


def refuse_overlap(pairs_dir: str | os.PathLike[str], overlap: dict[str, Any], split: str = "test") -> None:
    """Raise a CodequarryError when train rows overlap ``split``, saying how many, how, and how to fix it."""
    info = overlap.get("by_split", {}).get(split)
    if not info or not info["rows"]:
        return
    ex = next((e for e in overlap["examples"] if e["split"] == split), None)
    example = f" For example train row {ex['train']} and {split} row {ex['held_out']} ({ex['match']})." if ex else ""
    raise CodequarryError(
        f"{pairs_dir}: {info['rows']} of {overlap.get('train_rows', '?')} {overlap['train_split']} rows overlap the "
        f"{split} split ({info['same_id']} with the same id, {info['exact_code']} with identical normalized code, "
        f"{info['near_duplicate_code']} near-duplicates by MinHash); training on them would inflate the {split} "
        f"scores.{example} Fix: `codequarry clean {pairs_dir} --out CLEAN_DIR --preset default` (its split by "
        "repository and `leakage` step remove such rows; or add `- step: leakage` after `split` in your recipe) "
        "and train on CLEAN_DIR, or pass --force to train anyway (the model card records the overlap).")


# ---------------------------------------------------------------------------------------------
# batches


def epoch_batches(n: int, batch_size: int, seed: int, epoch: int, keys: Sequence[Sequence[Any]]) -> list[list[int]]:
    """One epoch's batches: a seeded permutation packed so that no batch holds two examples sharing a key.

    ``keys[i]`` are example i's texts (query form, positive and negative code ids); an example that would
    repeat one waits for a later batch (kept in order), so every example is used once per epoch.
    """
    order = np.random.default_rng([seed, epoch]).permutation(n).tolist()
    batches: list[list[int]] = []
    pending = order
    while pending:
        batch: list[int] = []
        used: set[Any] = set()
        waiting: list[int] = []
        for i in pending:
            ks = keys[i]
            if any(k in used for k in ks):
                waiting.append(i)
                continue
            batch.append(i)
            used.update(ks)
            if len(batch) == batch_size:
                batches.append(batch)
                batch, used = [], set()
                # examples that waited go first into the next batch, in their order
                retry, waiting = waiting, []
                for j in retry:
                    kj = keys[j]
                    if any(k in used for k in kj) or len(batch) == batch_size:
                        waiting.append(j)
                        continue
                    batch.append(j)
                    used.update(kj)
                if len(batch) == batch_size:
                    batches.append(batch)
                    batch, used = [], set()
        if batch:
            batches.append(batch)
        if len(waiting) == len(pending):  # cannot happen: a fresh batch always takes its first example
            raise RuntimeError("batch packing made no progress")
        pending = waiting
    return batches


# ---------------------------------------------------------------------------------------------
# validation


def valid_task(pairs_dir: str | os.PathLike[str], split: str, max_queries: int | None, max_docs: int | None,
               seed: int) -> tuple[Any, Any]:
    """The valid split as a ``pairs-retrieval`` task, with a seeded sample of at most ``max_queries`` queries.

    With ``max_docs`` the corpus is cut to the chosen queries' own codes plus a seeded sample of the
    others (a smaller, easier pool: say so when reporting); by default it is the split's whole code pool.
    """
    from codequarry.benchmarks.tasks import task_for_dir

    task = task_for_dir(pairs_dir)
    data = task.load(None, split)
    qids = sorted(data.queries)
    rng = np.random.default_rng(seed)
    if max_queries is not None and len(qids) > max_queries:
        qids = sorted(rng.permutation(qids)[:max_queries].tolist())
    queries = {q: data.queries[q] for q in qids}
    qrels = {q: data.qrels[q] for q in qids if q in data.qrels}
    corpus = data.corpus
    if max_docs is not None and len(corpus) > max_docs:
        need = sorted({d for rel in qrels.values() for d in rel})
        others = sorted(set(corpus) - set(need))
        room = max(0, max_docs - len(need))
        picked = sorted(rng.permutation(others)[:room].tolist()) if room and others else []
        corpus = {d: data.corpus[d] for d in sorted(set(need) | set(picked))}
    meta = dict(data.meta, num_queries=len(queries), num_docs=len(corpus), sampled_queries=max_queries,
                sampled_docs=max_docs)
    return task, dataclasses.replace(data, queries=queries, qrels=qrels, corpus=corpus, meta=meta)


def live_encoder(model: Any, cfg: TrainConfig) -> Any:
    """The model being trained as a benchmark ``EncoderModel``; it bypasses the embedding cache (its weights change)."""
    from codequarry.benchmarks.models import EncoderModel

    class _Live(EncoderModel):
        kind = "sentence-transformers (training)"

        def encode_texts(self, texts: list[str], side: str) -> np.ndarray:
            prompt = cfg.query_prompt if side == "query" else cfg.document_prompt
            limit = cfg.max_query_length if side == "query" else cfg.max_seq_length
            old = model.max_seq_length
            if limit:
                model.max_seq_length = min(limit, old) if side == "query" else limit
            try:
                return model.encode(texts, batch_size=cfg.encode_batch_size, prompt=prompt or None,
                                    convert_to_numpy=True, show_progress_bar=False).astype(np.float32)
            finally:
                model.max_seq_length = old

        def embed(self, texts: Sequence[str], *, side: str, desc: str = "") -> np.ndarray:
            texts = [t if isinstance(t, str) else str(t) for t in texts]
            uniq = sorted(set(texts), key=lambda t: (-len(t), t))  # length-sorted batches pad little
            if not uniq:
                return np.zeros((0, 0), dtype=np.float32)
            vecs = np.concatenate([self.encode_texts(uniq[i:i + self.batch_size], side)
                                   for i in range(0, len(uniq), self.batch_size)])
            pos = {t: i for i, t in enumerate(uniq)}
            return vecs[[pos[t] for t in texts]]

    sim = {"cosine": "cos", "dot": "dot"}.get(str(model.similarity_fn_name or "cosine"), "cos")
    return _Live("st:<training>", "training", None, {}, similarity=sim, cache_dir=None, batch_size=cfg.encode_batch_size)


# ---------------------------------------------------------------------------------------------
# the run


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


def _torch_state(device: str) -> dict[str, Any]:
    import torch

    state = {"cpu": torch.get_rng_state()}
    if device.startswith("cuda") and torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_torch_state(state: dict[str, Any]) -> None:
    import torch

    torch.set_rng_state(state["cpu"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _checkpoint_dirs(out: Path) -> list[Path]:
    root = out / CHECKPOINTS
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith("step-") and (p / STATE_JSON).is_file())


def _environment(device: str) -> dict[str, Any]:
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


def _prepare_out(out: Path, *, overwrite: bool, resume_from: str | None) -> Path | None:
    """Check the output folder; return the checkpoint to resume from (the latest one of an unfinished run)."""
    if out.exists() and not out.is_dir():
        raise CodequarryError(f"--out {out} exists and is not a folder")
    finished = (out / LOG_NAME).is_file()
    ckpts = _checkpoint_dirs(out)
    ours = finished or (out / CHECKPOINTS).is_dir()
    if out.is_dir() and any(out.iterdir()) and not ours:
        raise CodequarryError(f"--out {out} is not empty and was not written by `codequarry train`; choose a new "
                              "folder (it is never deleted, even with --overwrite)")
    if overwrite and ours:
        if resume_from and resume_from != "latest" and out.resolve() in Path(resume_from).expanduser().resolve().parents:
            raise CodequarryError(f"--overwrite would delete the checkpoint --resume-from {resume_from}")
        shutil.rmtree(out)
        finished, ckpts = False, []
    if resume_from:
        return _resolve_resume(out, resume_from, ckpts)
    if finished:
        raise CodequarryError(f"--out {out} already holds a trained model. Pass --overwrite to train again, or "
                              "--resume-from latest with a larger --max-steps/--epochs to continue training it.")
    return ckpts[-1] if ckpts else None  # an interrupted run: the same command resumes it


def _resolve_resume(out: Path, resume_from: str, ckpts: list[Path]) -> Path:
    if resume_from == "latest":
        if not ckpts:
            raise CodequarryError(f"--resume-from latest: {out / CHECKPOINTS} holds no checkpoint")
        return ckpts[-1]
    p = Path(resume_from).expanduser()
    if not (p / STATE_JSON).is_file():
        found = _checkpoint_dirs(p)
        if not found:
            raise CodequarryError(f"--resume-from {resume_from}: not a checkpoint folder (no {STATE_JSON}) nor a "
                                  f"training folder with {CHECKPOINTS}/step-*")
        p = found[-1]
    return p


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
    unknown = sorted(set(options) - {f.name for f in dataclasses.fields(TrainConfig)})
    if unknown:
        raise CodequarryError(f"train: unknown option(s) {', '.join(unknown)}")
    cfg = TrainConfig(**options)
    cfg.check()
    started = time.perf_counter()
    pairs_dir = Path(pairs_dir)
    out = Path(out)
    provenance = data_provenance(pairs_dir)
    overlap = check_overlap(pairs_dir, train_split=cfg.train_split, near=overlap_near)
    if not force:
        refuse_overlap(pairs_dir, overlap, "test")
    overlap["forced"] = bool(force)
    if cfg.valid_split and cfg.valid_split not in provenance["splits"]:
        raise CodequarryError(f"{pairs_dir}: no {cfg.valid_split!r} split for validation; it has "
                              f"{', '.join(provenance['splits'])}. Pass --valid-split NAME or --no-valid.")
    if bench_split and bench_split not in provenance["splits"]:
        raise CodequarryError(f"{pairs_dir}: no {bench_split!r} split to benchmark; it has {', '.join(provenance['splits'])}")
    resume = _prepare_out(out, overwrite=overwrite, resume_from=resume_from)
    examples = read_examples(pairs_dir, cfg.train_split, max_examples=cfg.max_train_examples, seed=cfg.seed)
    provenance.update(train_rows=examples.rows, train_examples=len(examples.ids), skipped=examples.skipped,
                      licenses=examples.licenses, train_repos=examples.repos)
    run = _Run(cfg, base, pairs_dir, out, provenance, overlap, examples, resume, command, base_model_id)
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
    import tempfile

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


class _Run:
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
        return {"step": step, **{k: round(float(v), 6) for k, v in evaluation.scores.items()},
                "queries": evaluation.num_queries, "docs": evaluation.num_docs,
                "seconds": round(time.perf_counter() - t0, 3)}

    def _save_checkpoint(self, model: Any, optimizer: Any, scheduler: Any, state: dict[str, Any]) -> Path:
        import torch

        step = state["step"]
        path = self.out / CHECKPOINTS / f"step-{step:07d}"
        tmp = path.with_name(path.name + ".tmp")
        if tmp.exists():
            shutil.rmtree(tmp)
        model.save(str(tmp), create_model_card=False)
        torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                    "rng": _torch_state(self.device)}, tmp / STATE_PT)
        (tmp / STATE_JSON).write_text(json.dumps(state, indent=1, default=str), encoding="utf-8")
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
        for old in _checkpoint_dirs(self.out)[:-self.cfg.save_total_limit]:
            shutil.rmtree(old, ignore_errors=True)
        return path

    def _restore_best(self, state: dict[str, Any]) -> None:
        """Bring the best validated weights of the run being resumed into this run's ``checkpoints/best``.

        They sit in ``checkpoints/best`` while a run is unfinished; a finished run moved them to its
        output folder (when its final weights were the best ones), so that is where they are read from.
        """
        if not state.get("best"):
            return
        dst = self.out / CHECKPOINTS / "best"
        src = self.resume.parent / "best"
        if src.is_dir():
            if src.resolve() != dst.resolve():
                shutil.copytree(src, dst, dirs_exist_ok=True)
            return
        run_dir = self.resume.parent.parent
        log = run_dir / LOG_NAME
        if log.is_file() and json.loads(log.read_text(encoding="utf-8")).get("config", {}).get("final_weights") == "best":
            self._load_model(str(run_dir)).save(str(dst), create_model_card=False)
            return
        state["best"] = None  # the best weights are gone: selection restarts among the coming evaluations

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
            _set_torch_state(saved["rng"])
            self._restore_best(state)
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
                    self._save_checkpoint(model, optimizer, scheduler, state)
                    last_saved = step
        except KeyboardInterrupt:
            if state["step"] > last_saved:
                state["train_time_s"] = base_time + time.perf_counter() - t_loop
                path = self._save_checkpoint(model, optimizer, scheduler, state)
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
            environment=dict(_environment(self.device), command=self.command), codequarry_version=__version__)
        plots = plot_curves(self.out, report)
        report = dataclasses.replace(report, plots=plots)
        (self.out / LOG_NAME).write_text(json.dumps(report.to_dict(), indent=1, default=str), encoding="utf-8")
        write_card(self.out, report)
        return report


def iter_checkpoints(out: str | os.PathLike[str]) -> Iterator[Path]:
    """The step checkpoints kept in a training folder, oldest first."""
    yield from _checkpoint_dirs(Path(out))


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
