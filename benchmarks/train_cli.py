"""CLI: ``codequarry train DIR --base MODEL --out MODEL_DIR [options]`` (library: ``benchmarks.train.train``).

Only argparse is imported at module level; torch and sentence-transformers load when the command runs.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from codequarry import options
from codequarry.errors import CodequarryError

EPILOG = """\
data: rows of the train split with a non-empty query and code and a label other than 0 are (query → code)
examples; label-0 rows serve as negatives for the same query text. Training refuses a dataset whose train split
overlaps its test split (same id, identical normalized code or MinHash near-duplicate code) unless --force;
`codequarry clean DIR --out CLEAN --preset default` splits by repository and removes such rows.

output: MODEL_DIR loads with SentenceTransformer(MODEL_DIR) (or CrossEncoder for --kind cross-encoder) and as
`codequarry bench --model st:MODEL_DIR`; it holds README.md (model card with the data's provenance, every
hyper-parameter, curves and results), loss_curve.png, valid_mrr.png, training_log.json and checkpoints/.
Ctrl-C saves a checkpoint; running the same command again resumes it. --resume-from latest with a larger
--max-steps continues a finished run.

examples:
  codequarry train clean/ --base sentence-transformers/all-MiniLM-L6-v2 --out minilm-code --epochs 1 \\
      --hard-negatives 1 --query-prompt 'query: ' --bench-split test --bench-base
  codequarry train clean/ --base cross-encoder/ms-marco-MiniLM-L6-v2 --kind cross-encoder --out reranker \\
      --hard-negatives 3 --max-steps 2000
  codequarry bench --model py:codequarry.benchmarks.rerank:Reranked --model-arg first=st:minilm-code \\
      --model-arg model=reranker --model-arg top_k=50 --task clean/ --split test
"""


def add_train(sub: argparse._SubParsersAction) -> None:
    """``codequarry train``: the training flags come from ``TrainConfig``; the command adds its own run flags."""
    from codequarry.benchmarks.train_config import RerankConfig, TrainConfig

    p = sub.add_parser("train", help="fine-tune a code-search model (bi-encoder or cross-encoder) on a pairs dir",
                       description="Fine-tune a sentence-transformers bi-encoder (in-batch negatives, optional BM25 hard "
                                   "negatives) or a cross-encoder reranker on a pairs dir's train split, validate on "
                                   "its valid split, write a loadable model with a model card, and optionally "
                                   "benchmark it on the test split.", epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("pairs_dir", metavar="DIR", help="pairs dir to train on (written by codequarry build/clean)")
    p.add_argument("--base", required=True, metavar="MODEL",
                   help="model to start from: a local sentence-transformers folder or a Hub id")
    p.add_argument("--out", required=True, metavar="MODEL_DIR", help="output folder for the trained model")
    p.add_argument("--kind", choices=("bi-encoder", "cross-encoder"), default="bi-encoder",
                   help="train a bi-encoder (default) or a cross-encoder reranker")
    groups: dict[str | None, Any] = {None: p}
    for title in ("data", "model", "optimisation", "validation and checkpoints", "hardware"):
        groups[title] = p.add_argument_group(title)
    shared, by_kind = _shared()
    options.add_arguments(p, TrainConfig, unset=by_kind, groups=groups)
    options.add_arguments(p, RerankConfig, exclude=tuple(shared), groups=groups)  # its own: --rerank-top
    g = groups["data"]
    g.add_argument("--force", action="store_true",
                   help="train even if the train split overlaps the test split (the card records the overlap)")
    g.add_argument("--exact-overlap-only", action="store_true",
                   help="check train/test overlap by id and normalized code only (skip the MinHash near-duplicate pass)")
    groups["model"].add_argument("--base-model-id", metavar="ID", help="Hub id of a local --base, named as base_model in the card")
    g = groups["validation and checkpoints"]
    g.add_argument("--no-valid", action="store_true", help="no validation (the last weights are saved)")
    g.add_argument("--resume-from", metavar="CKPT|latest",
                   help="continue from a checkpoint folder, a training folder, or 'latest' (MODEL_DIR's newest)")
    g.add_argument("--overwrite", action="store_true", help="replace an earlier training run in MODEL_DIR")
    g = p.add_argument_group("benchmark")
    g.add_argument("--bench-split", metavar="S",
                   help="after training, score the model on split S as a pairs-retrieval task and add it to the card")
    g.add_argument("--bench-base", action="store_true", help="with --bench-split, also score the base model (zero-shot)")
    g.add_argument("--bench-out", metavar="DIR", help="folder for the result JSON files (default: MODEL_DIR/eval)")
    g.add_argument("--cache-dir", metavar="DIR", help="embedding cache for the base model's benchmark run")
    p.set_defaults(func=run_train)


def _shared() -> tuple[dict[str, str], tuple[str, ...]]:
    """(RerankConfig option → the TrainConfig option with the same flag, the shared ones whose default differs).

    Both come from the declarations (``RerankConfig`` takes the shared options with ``options.like``):
    the second list is the flags whose default depends on ``--kind`` (read back as None when not given).
    """
    from codequarry.benchmarks.train_config import RerankConfig, TrainConfig

    train = {s.flag: s for s in options.specs(TrainConfig)}
    shared, by_kind = {}, []
    for s in options.specs(RerankConfig):
        if s.flag in train:
            shared[s.name] = train[s.flag].name
            if s.default != train[s.flag].default:
                by_kind.append(train[s.flag].name)
    return shared, tuple(by_kind)


def options_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The ``train``/``train_reranker`` keyword options a parsed command line asks for."""
    from codequarry.benchmarks.train_config import RerankConfig, TrainConfig

    shared, by_kind = _shared()
    values = options.values_from_args(TrainConfig, args)
    own = options.values_from_args(RerankConfig, args)  # the cross-encoder's own options (--rerank-top)
    own = {k: v for k, v in own.items() if k not in shared}
    if args.no_valid:
        values["valid_split"] = None
    train_specs = {s.name: s for s in options.specs(TrainConfig)}
    rerank_specs = {s.name: s for s in options.specs(RerankConfig)}
    if args.kind == "bi-encoder":
        for name, value in own.items():
            if value != rerank_specs[name].default:
                raise CodequarryError(f"{rerank_specs[name].flag} applies to cross-encoders only (--kind cross-encoder)")
        return {k: (train_specs[k].default if v is None and k in by_kind else v) for k, v in values.items()}
    for name, value in values.items():
        if name not in shared.values() and value != train_specs[name].default:
            raise CodequarryError(f"{train_specs[name].flag} applies to bi-encoders only (--kind bi-encoder)")
    for flag, value in (("--resume-from", args.resume_from), ("--bench-split", args.bench_split)):
        if value is not None:
            raise CodequarryError(f"{flag} applies to bi-encoders only (--kind bi-encoder)")
    out = {ce: values[tr] for ce, tr in shared.items()}
    out = {k: (rerank_specs[k].default if v is None and shared[k] in by_kind else v) for k, v in out.items()}
    return dict(out, **own)


def run_train(args: argparse.Namespace) -> int:
    from pathlib import Path

    command = " ".join(["codequarry", *sys.argv[1:]]) if sys.argv and sys.argv[0].endswith("codequarry") else None
    options = options_from_args(args)
    if args.kind == "cross-encoder":
        from codequarry.benchmarks.rerank import train_reranker

        report = train_reranker(args.pairs_dir, args.base, args.out, force=args.force, overwrite=args.overwrite,
                                overlap_near=not args.exact_overlap_only, base_model_id=args.base_model_id,
                                command=command, **options)
    else:
        from codequarry.benchmarks.train import train

        report = train(args.pairs_dir, args.base, args.out, force=args.force, overwrite=args.overwrite,
                       resume_from=args.resume_from, bench_split=args.bench_split, bench_base=args.bench_base,
                       bench_out=args.bench_out, bench_cache_dir=args.cache_dir, overlap_near=not args.exact_overlap_only,
                       base_model_id=args.base_model_id, command=command, **options)
    print(f"trained {report.kind} {Path(report.out).name}: {report.steps} steps ({report.epochs} epochs) on "
          f"{report.data.get('train_examples')} examples in {report.train_time_s:.1f} s"
          + (f" (resumed from {report.resumed_from})" if report.resumed_from else ""))
    if report.probe_loss:
        print(f"  loss on fixed training batches: {report.probe_loss['before']:.4f} -> {report.probe_loss['after']:.4f}")
    if report.evals:
        first, last = report.evals[0], report.evals[-1]
        print(f"  validation MRR ({last.get('queries')} queries, {last.get('docs')} codes): step {first['step']} "
              f"{first['mrr']:.4f} -> step {last['step']} {last['mrr']:.4f}"
              + (f"; best {report.best['mrr']:.4f} at step {report.best['step']}" if report.best else ""))
    for path in report.results:
        from codequarry.benchmarks.results import load_result

        r = load_result(path)
        print(f"  {r.model_name} on {r.task_name} {r.split}: " + ", ".join(
            f"{m} {r.scores[m]:.4f}" for m in ("mrr", "recall@1", "recall@10") if m in r.scores))
    print(f"model: {report.out} (card: README.md, curves: {', '.join(report.plots) or 'none'})")
    return 0


#: the commands this module adds (one function + one line per command)
COMMANDS = (("train", add_train),)


def register(sub: argparse._SubParsersAction) -> None:
    for _, add in COMMANDS:
        add(sub)
