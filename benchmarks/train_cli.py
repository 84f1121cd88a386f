"""CLI: ``codequarry train DIR --base MODEL --out MODEL_DIR [options]`` (library: ``benchmarks.train.train``).

Only argparse is imported at module level; torch and sentence-transformers load when the command runs.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

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


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def add_train(sub: argparse._SubParsersAction) -> None:
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
    g = p.add_argument_group("data")
    g.add_argument("--train-split", default="train", metavar="S", help="split to train on (default: train)")
    g.add_argument("--max-train-examples", type=_positive_int, metavar="N",
                   help="train on a seeded sample of at most N examples (default: all)")
    g.add_argument("--hard-negatives", type=int, metavar="N",
                   help="BM25 hard negatives per example (default: 0 for a bi-encoder, 3 for a cross-encoder)")
    g.add_argument("--hard-negative-depth", type=_positive_int, metavar="N",
                   help="BM25 hits read per query when mining (default: 4·N+16)")
    g.add_argument("--force", action="store_true",
                   help="train even if the train split overlaps the test split (the card records the overlap)")
    g.add_argument("--exact-overlap-only", action="store_true",
                   help="check train/test overlap by id and normalized code only (skip the MinHash near-duplicate pass)")
    g = p.add_argument_group("model")
    g.add_argument("--query-prompt", metavar="TEXT", help="text prepended to queries, stored as the model's 'query' prompt")
    g.add_argument("--document-prompt", metavar="TEXT",
                   help="text prepended to code, stored as the model's 'document' prompt")
    g.add_argument("--max-query-length", type=_positive_int, default=64, metavar="N",
                   help="truncate queries at N tokens while training (default: 64)")
    g.add_argument("--max-seq-length", type=_positive_int, default=256, metavar="N",
                   help="truncate code (cross-encoder: query + code) at N tokens; saved as the model's maximum "
                        "(default: 256)")
    g.add_argument("--base-model-id", metavar="ID", help="Hub id of a local --base, named as base_model in the card")
    g = p.add_argument_group("optimisation")
    g.add_argument("--epochs", type=float, default=1.0, help="passes over the training examples (default: 1)")
    g.add_argument("--max-steps", type=_positive_int, metavar="N", help="stop after N optimizer steps (overrides --epochs)")
    g.add_argument("--batch-size", type=_positive_int, default=None, metavar="N",
                   help="examples per step (default: 32 bi-encoder, 16 cross-encoder); a bi-encoder's in-batch "
                        "negatives are the other N-1 examples")
    g.add_argument("--learning-rate", type=float, default=2e-5, metavar="LR", help="peak AdamW learning rate (default: 2e-5)")
    g.add_argument("--weight-decay", type=float, default=0.01, help="AdamW weight decay, not on biases/LayerNorm (default: 0.01)")
    g.add_argument("--scheduler", choices=("linear", "cosine", "constant"), default="linear",
                   help="learning-rate schedule after warm-up (default: linear decay to 0)")
    g.add_argument("--warmup-ratio", type=float, default=0.1, help="warm-up steps as a fraction of all steps (default: 0.1)")
    g.add_argument("--warmup-steps", type=int, metavar="N", help="warm-up steps (overrides --warmup-ratio)")
    g.add_argument("--max-grad-norm", type=float, default=1.0, help="gradient clipping norm, 0 = off (default: 1)")
    g.add_argument("--scale", type=float, default=20.0,
                   help="bi-encoder: MultipleNegativesRankingLoss similarity scale (inverse temperature; default: 20)")
    g.add_argument("--seed", type=int, default=0, help="seed of the data order, mining fills and dropout (default: 0)")
    g = p.add_argument_group("validation and checkpoints")
    g.add_argument("--valid-split", default="valid", metavar="S", help="split scored during training (default: valid)")
    g.add_argument("--no-valid", action="store_true", help="no validation (the last weights are saved)")
    g.add_argument("--valid-max-queries", type=_positive_int, metavar="N",
                   help="validate on a seeded sample of at most N queries (default: 1000; cross-encoder: 200)")
    g.add_argument("--valid-max-docs", type=_positive_int, metavar="N",
                   help="cut the validation code pool to N codes (the sampled queries' own codes kept; default: all)")
    g.add_argument("--eval-steps", type=_positive_int, metavar="N", help="validate every N steps (default: each epoch)")
    g.add_argument("--no-eval-at-start", action="store_true", help="do not score the base model before training")
    g.add_argument("--no-select-best", action="store_true",
                   help="save the last weights instead of the best validated ones")
    g.add_argument("--rerank-top", type=_positive_int, default=20, metavar="K",
                   help="cross-encoder validation: rerank the top K BM25 hits (default: 20)")
    g.add_argument("--save-steps", type=_positive_int, metavar="N",
                   help="checkpoint every N steps (default: at each validation)")
    g.add_argument("--save-total-limit", type=_positive_int, default=1, metavar="N",
                   help="step checkpoints kept (default: 1)")
    g.add_argument("--no-keep-checkpoints", action="store_true", help="delete checkpoints/ when training ends")
    g.add_argument("--resume-from", metavar="CKPT|latest",
                   help="continue from a checkpoint folder, a training folder, or 'latest' (MODEL_DIR's newest)")
    g.add_argument("--overwrite", action="store_true", help="replace an earlier training run in MODEL_DIR")
    g = p.add_argument_group("hardware")
    g.add_argument("--device", help="torch device (default: cuda when available, else cpu)")
    g.add_argument("--precision", choices=("fp32", "bf16"), default="fp32",
                   help="bi-encoder: bf16 autocast (GPUs that support it) or fp32 (default; bit-exact resume on CPU)")
    g.add_argument("--threads", type=_positive_int, metavar="N", help="torch CPU threads while training (default: torch's)")
    g = p.add_argument_group("benchmark")
    g.add_argument("--bench-split", metavar="S",
                   help="after training, score the model on split S as a pairs-retrieval task and add it to the card")
    g.add_argument("--bench-base", action="store_true", help="with --bench-split, also score the base model (zero-shot)")
    g.add_argument("--bench-out", metavar="DIR", help="folder for the result JSON files (default: MODEL_DIR/eval)")
    g.add_argument("--cache-dir", metavar="DIR", help="embedding cache for the base model's benchmark run")
    p.set_defaults(func=run_train)


def options_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The ``train``/``train_reranker`` keyword options a parsed command line asks for."""
    valid = None if args.no_valid else args.valid_split
    common = {"train_split": args.train_split, "max_train_examples": args.max_train_examples, "epochs": args.epochs,
              "max_steps": args.max_steps, "learning_rate": args.learning_rate, "weight_decay": args.weight_decay,
              "warmup_ratio": args.warmup_ratio, "max_grad_norm": args.max_grad_norm, "seed": args.seed,
              "valid_split": valid, "valid_max_docs": args.valid_max_docs,
              "device": args.device, "num_threads": args.threads, "hard_negative_depth": args.hard_negative_depth}
    if args.kind == "cross-encoder":
        for flag, value in (("--query-prompt", args.query_prompt), ("--document-prompt", args.document_prompt),
                            ("--eval-steps", args.eval_steps), ("--save-steps", args.save_steps),
                            ("--resume-from", args.resume_from), ("--warmup-steps", args.warmup_steps),
                            ("--bench-split", args.bench_split)):
            if value is not None:
                raise CodequarryError(f"{flag} applies to bi-encoders only (--kind bi-encoder)")
        if args.scheduler != "linear" or args.precision != "fp32":
            raise CodequarryError("--scheduler and --precision apply to bi-encoders only")
        return dict(common, num_negatives=args.hard_negatives if args.hard_negatives is not None else 3,
                    max_length=args.max_seq_length, batch_size=args.batch_size or 16, rerank_top=args.rerank_top,
                    valid_max_queries=args.valid_max_queries or 200)
    return dict(common, query_prompt=args.query_prompt, document_prompt=args.document_prompt,
                max_query_length=args.max_query_length, max_seq_length=args.max_seq_length,
                batch_size=args.batch_size or 32, scheduler=args.scheduler, warmup_steps=args.warmup_steps,
                valid_max_queries=args.valid_max_queries or 1000,
                scale=args.scale, hard_negatives=args.hard_negatives or 0, eval_steps=args.eval_steps,
                eval_at_start=not args.no_eval_at_start, save_steps=args.save_steps,
                save_total_limit=args.save_total_limit, select_best=not args.no_select_best,
                keep_checkpoints=not args.no_keep_checkpoints, precision=args.precision)


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
