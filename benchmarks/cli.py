"""CLI: ``codequarry tasks``, ``bench``, ``compare`` and ``train`` (its parser lives in ``train_cli``).

Each command is one ``(name, add_parser)`` entry in ``COMMANDS``; ``register`` adds them all. Heavy
modules are imported inside the command functions so ``codequarry --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from codequarry.benchmarks.model_kinds import spec_forms
from codequarry.errors import CodequarryError
from codequarry.pairs_layout import DEFAULT_VERIFY, VERIFY_HELP, VERIFY_LEVELS

_BENCH_NOTES = """\
--data: a file or folder the task reads; NAME=PATH gives a named input (repeat --data), e.g.
  --task webquery --data test=test_webquery.json --data answers=answers.txt --data dev=cosqa-dev.json
  --task csn-ndcg/python --data resources/ --data corpus=PAIRS_DIR
`codequarry tasks NAME` shows what each task reads and where to download it.

export for a model card (the results of this run, one model):
  --model-index FILE     Hugging Face model-index YAML (paste into the README front matter)
  --eval-results DIR     Hub .eval_results/*.yaml files, one per result

examples:
  codequarry bench --model bm25 --task cosqa --data CoCLR/data/search --split dev --out results
  codequarry bench --model st:sentence-transformers/all-MiniLM-L6-v2 --task csn --data csn-release/ --out results
  codequarry bench --model run:predictions.jsonl --task advtest --data dataset/test.jsonl --out results
"""


# ---------------------------------------------------------------------------------------------
# tasks


def _add_tasks(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tasks", help="list the registered benchmark tasks",
                       description="List the benchmark tasks (name, protocol, main score, languages, data source); "
                                   "with NAME, show one task's, family's or protocol's tasks' full metadata.")
    p.add_argument("name", nargs="?",
                   help="a task (csn/python), family (csn) or protocol (csn-1000-mrr, as the list prints it) "
                        "to describe in full")
    p.add_argument("--json", action="store_true", help="print the metadata as JSON")
    p.set_defaults(func=_run_tasks)


def _describe(name: str) -> list[dict]:
    """Metadata of a task, a family, a folder family (``coir``) or every task under a protocol id."""
    from codequarry.benchmarks.tasks import TASKS, families, resolve_tasks
    from codequarry.benchmarks.tasks.spec import protocol_specs, task_specs

    def folder_family(key: str) -> dict:
        spec = families()[key]
        meta = {k: v for k, v in spec.items() if k not in ("module", "coir_languages")}
        return dict(meta, name=f"{key}/DIR", protocol_description=task_specs()[key].protocol_description)

    if name in families() and families()[name].get("dynamic"):
        return [folder_family(name)]
    if name in protocol_specs() and name not in TASKS and not any(t.startswith(name + "/") for t in TASKS.names()):
        metas = [t.metadata() for _, t in TASKS.items() if t.protocol == name]
        return metas + [folder_family(k) for k, s in task_specs().items() if s.dynamic and s.protocol == name]
    return [t.metadata() for t in resolve_tasks(name)]


def _short_source(text: str) -> str:
    for word in text.replace("(", " ").replace(")", " ").split():
        if word.startswith("http"):
            return word.rstrip(".,;:")
    return text.split(";")[0][:60]


def _run_tasks(args: argparse.Namespace) -> int:
    import json

    from codequarry.benchmarks.tasks import TASKS, families

    if args.name:
        metas = _describe(args.name)
        if args.json:
            print(json.dumps(metas, indent=2, ensure_ascii=False))
            return 0
        for m in metas:
            print(f"{m['name']}: {m['title']}")
            for key in ("protocol", "protocol_description", "main_score", "measures", "languages", "splits", "default_split", "source",
                        "homepage", "revision", "license", "query_averaging", "description", "data_source"):
                value = m.get(key)
                if isinstance(value, (list, tuple)):
                    value = ", ".join(map(str, value))
                print(f"  {key:16} {value}")
            print("  citation:")
            for line in str(m.get("citation", "")).splitlines():
                print(f"    {line}")
            print()
        return 0
    rows = [(t.name, t.protocol, t.main_score, ",".join(t.languages), _short_source(t.data_source)) for _, t in TASKS.items()]
    for key, spec in families().items():
        if spec.get("dynamic"):
            rows.append((f"DIR ({key})", spec["protocol"], spec["main_score"], "from the data", spec["data_source"][:70]))
    if args.json:
        print(json.dumps([dict(zip(("name", "protocol", "main_score", "languages", "data_source"), r)) for r in rows],
                         indent=2))
        return 0
    _print_table(("task", "protocol", "main score", "languages", "data source"), rows)
    print("\n`codequarry tasks NAME` for a task's data, protocol details and citation; a family name (csn) runs "
          "all its languages.")
    return 0


def _print_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    cells = [[str(c) for c in header]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    for n, r in enumerate(cells):
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))


# ---------------------------------------------------------------------------------------------
# bench


def __getattr__(name: str) -> str:
    if name == "MODEL_HELP":  # built on demand: it imports every model kind's module for its options
        return model_help()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def model_help() -> str:
    """The epilog of ``codequarry bench --help``: the model kinds and their options (from their declarations in
    ``model_kinds`` and each kind's ``OPTIONS``), then the notes on --data, exports and examples."""
    from codequarry.benchmarks.model_kinds import kinds_help

    return kinds_help() + "\n\n" + _BENCH_NOTES


def _epilog_on_help(parser: argparse.ArgumentParser) -> None:
    """Give ``parser`` the full ``model_help`` epilog when its help is printed (not when it is only built)."""
    plain = parser.format_help

    def format_help() -> str:
        parser.epilog = model_help()
        return plain()

    parser.format_help = format_help  # type: ignore[method-assign]


def _add_bench(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="score models on benchmark tasks under their published protocols",
                       description="Score each --model on each --task; write one result JSON per model × task "
                                   "(per language for language families) and print a results table.",
                       epilog=_BENCH_NOTES)
    _epilog_on_help(p)
    p.add_argument("--model", action="append", required=True, metavar="SPEC",
                   help=f"model to score (repeatable): {spec_forms()}")
    p.add_argument("--task", action="append", required=True, metavar="NAME|DIR",
                   help="task name (cosqa, csn/python), family (csn = all six languages), pairs dir or BEIR/CoIR "
                        "folder (repeatable); see `codequarry tasks`")
    p.add_argument("--data", action="append", metavar="PATH|NAME=PATH",
                   help="the task's data: a file or folder, or a named input NAME=PATH (repeatable)")
    p.add_argument("--split", help="split to evaluate (default: the task's published split, e.g. test)")
    p.add_argument("--out", default="results", metavar="DIR", help="folder for the result JSON files (default: results)")
    p.add_argument("--model-arg", action="append", metavar="KEY=VALUE",
                   help="model option (repeatable); see the list below")
    p.add_argument("--batch-size", type=int, metavar="N", help="texts per encoder batch (default: 32)")
    p.add_argument("--cache-dir", metavar="DIR",
                   help="embedding cache folder (default: $CODEQUARRY_CACHE or ~/.cache/codequarry)")
    p.add_argument("--force", action="store_true",
                   help="re-run tasks that already have a result in --out (default: keep them and resume)")
    p.add_argument("--rerank", metavar="MODEL",
                   help="second stage: rerank each --model's top --rerank-top with this cross-encoder (folder or Hub id, "
                        "e.g. one written by `codequarry train --kind cross-encoder`)")
    p.add_argument("--rerank-top", type=int, default=100, metavar="K",
                   help="how many first-stage results the cross-encoder rescores (default: 100)")
    p.add_argument("--task-name", metavar="NAME",
                   help="name of a folder --task (pairs dir or BEIR/CoIR folder) instead of the folder's own name: "
                        "coir/NAME, pairs/NAME (a CoIR dataset saved anywhere still fills its leaderboard column)")
    p.add_argument("--measures", metavar="M,M,...",
                   help="measures to add to the protocol's, on the same ranked lists with trec_eval semantics, e.g. "
                        "mrr@10,recall@20,ndcg@20,hit_rate@10 (MTEB's names: hit_rate = success)")
    p.add_argument("--save-run", metavar="FILE",
                   help="also write each task's ranked lists as a TREC run file (qid Q0 docid rank score tag); with "
                        "several models or tasks put {model} and {task} in FILE. Re-runs tasks already in --out")
    p.add_argument("--official", action="store_true",
                   help="csn-ndcg with run:model_predictions.csv: score as CodeSearchNet's relevanceeval.py does (a "
                        "repeated url counts at each rank, queries not in queries.csv are ignored) instead of "
                        "refusing such files (the default)")
    p.add_argument("--model-index", metavar="FILE", help="also write the results as a model-index YAML (one model)")
    p.add_argument("--eval-results", metavar="DIR", help="also write Hub .eval_results YAML files into DIR (one model)")
    p.add_argument("--verify", choices=VERIFY_LEVELS, default=DEFAULT_VERIFY, help=VERIFY_HELP)
    p.set_defaults(func=_run_bench_verified)


def _run_bench_verified(args: argparse.Namespace) -> int:
    """``bench`` with every pairs dir it reads checked at ``--verify`` level."""
    from codequarry.pairs_verify import verify_level

    with verify_level(args.verify):
        return _run_bench(args)


def _data_arg(items: Sequence[str] | None):
    from codequarry.benchmarks.tasks import parse_data_arg

    if not items:
        return None
    parsed = [parse_data_arg(i) for i in items]
    names = [n for n, _ in parsed]
    if len(parsed) == 1 and not names[0]:
        return parsed[0][1]
    if names.count("") > 1:
        raise CodequarryError("--data: give at most one unnamed path; name the others (NAME=PATH)")
    return dict(parsed)


def _measures(text: str | None) -> list[str]:
    """``--measures a,b`` → the measure names, each checked before any work is done."""
    from codequarry.benchmarks.metrics import parse_measure

    names = [m.strip() for m in (text or "").split(",") if m.strip()]
    for m in names:
        parse_measure(m)
    if text is not None and not names:
        raise CodequarryError("--measures: give at least one measure, e.g. mrr@10,recall@20")
    return names


RERANK_SPEC = "py:codequarry.benchmarks.rerank:Reranked"


def rerank_specs(models: list[str], model_args: dict[str, str], reranker: str, top: int) -> list[tuple[str, dict[str, str]]]:
    """``--rerank``: each first-stage model becomes a Reranked(first, cross-encoder, top) model spec."""
    import json
    from pathlib import Path

    from codequarry.benchmarks.models import local_model_name, split_spec

    if top < 1:
        raise CodequarryError(f"--rerank-top must be at least 1, got {top}")
    first_args = {k: v for k, v in model_args.items() if k != "name"}
    out = []
    for spec in models:
        kind, target = split_spec(spec)
        if model_args.get("name"):
            name = model_args["name"]
        elif not target:
            name = kind
        else:
            name = local_model_name(Path(target))
        ce_name = local_model_name(Path(reranker))
        out.append((RERANK_SPEC, {"first": spec, "first_args": json.dumps(first_args, sort_keys=True),
                                  "model": reranker, "top_k": str(top),
                                  "name": f"{name}+{ce_name}@{top}"}))
    return out


def _run_bench(args: argparse.Namespace) -> int:
    from codequarry.benchmarks.models import parse_model_args
    from codequarry.benchmarks.results import load_result
    from codequarry.benchmarks.runner import bench_many

    if (args.model_index or args.eval_results) and len(args.model) > 1:
        raise CodequarryError("--model-index/--eval-results describe one model; give a single --model")
    if args.batch_size is not None and args.batch_size < 1:
        raise CodequarryError("--batch-size must be positive")
    command = " ".join(["codequarry", *sys.argv[1:]]) if sys.argv and sys.argv[0].endswith("codequarry") else None
    measures = _measures(args.measures)
    if args.task_name and len(args.task) > 1:
        raise CodequarryError("--task-name names one folder task; give a single --task")
    common = dict(data=_data_arg(args.data), split=args.split, out=args.out, cache_dir=args.cache_dir,
                  batch_size=args.batch_size, force=args.force, command=command, measures=measures,
                  save_run=args.save_run, task_name=args.task_name)
    model_args = parse_model_args(args.model_arg)
    if args.official:
        not_runs = [m for m in args.model if not m.startswith("run:")]
        if not_runs:
            raise CodequarryError(f"--official scores prediction files (run:FILE); {not_runs[0]!r} is not one")
        model_args["official"] = "true"
    if args.rerank:
        paths = []
        for spec, rargs in rerank_specs(args.model, model_args, args.rerank, args.rerank_top):
            paths += bench_many([spec], args.task, model_args=rargs, **common)
    else:
        paths = bench_many(args.model, args.task, model_args=model_args, **common)
    results = [load_result(p) for p in paths]
    rows = []
    for r in results:
        ci = r.ci.get(r.main_measure)
        rows.append((r.model_name, r.task_name, r.split or "", r.task.get("protocol", ""), r.main_measure,
                     f"{r.main_score:.4f}", f"[{ci[0]:.4f}, {ci[1]:.4f}]" if ci else "",
                     r.task.get("num_queries", "")))
    _print_table(("model", "task", "split", "protocol", "measure", "score", "95% CI", "queries"), rows)
    print()
    for p in paths:
        print(f"result: {p}")
    if args.model_index or args.eval_results:
        _export(results, args.model_index, args.eval_results)
    return 0


def _export(results, model_index: str | None, eval_results: str | None) -> None:
    from pathlib import Path

    import yaml

    from codequarry.benchmarks.results import slug, to_eval_results, to_model_index

    if model_index:
        name = results[0].model_name if results else "model"
        Path(model_index).parent.mkdir(parents=True, exist_ok=True)
        Path(model_index).write_text(yaml.safe_dump(to_model_index(results, name), sort_keys=False, allow_unicode=True),
                                     encoding="utf-8")
        print(f"model-index: {model_index}")
    if eval_results:
        folder = Path(eval_results)
        folder.mkdir(parents=True, exist_ok=True)
        for entry in to_eval_results(results):
            path = folder / f"{slug(entry['dataset']['task_id'])}.yaml"
            path.write_text(yaml.safe_dump([entry], sort_keys=False, allow_unicode=True), encoding="utf-8")
            print(f"eval-results: {path}")


# ---------------------------------------------------------------------------------------------
# compare


def _add_compare(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare", help="paired significance test between two sets of results",
                       description="Compare result A with result B task by task (matched by task and split): "
                                   "paired test on the per-query scores, Holm-corrected across tasks, with the "
                                   "effect size (paired Cohen's d).")
    p.add_argument("a", nargs="+", metavar="A", help="result file(s) or folder(s) of model A")
    p.add_argument("--vs", dest="b", nargs="+", metavar="B",
                   help="result file(s) or folder(s) of model B (or give exactly two positional paths A B)")
    p.add_argument("--measure", help="measure to compare (default: each task's main score)")
    p.add_argument("--method", choices=("randomization", "t"), default="randomization",
                   help="paired randomization (sign-flip) test or paired t-test (default: randomization)")
    p.add_argument("--permutations", type=int, default=10000, metavar="N",
                   help="random sign flips for the randomization test (default: 10000)")
    p.add_argument("--alpha", type=float, default=0.05, help="significance level for the Holm-corrected p (default: 0.05)")
    p.add_argument("--seed", type=int, default=0, help="random seed of the randomization test (default: 0)")
    p.add_argument("--json", action="store_true", help="print the comparison as JSON")
    p.set_defaults(func=_run_compare)


def _run_compare(args: argparse.Namespace) -> int:
    import json

    from codequarry.benchmarks.compare import compare_paths

    if args.b:
        side_a, side_b = args.a, args.b
    elif len(args.a) == 2:
        side_a, side_b = [args.a[0]], [args.a[1]]
    else:
        raise CodequarryError("compare: give two paths A B, or A... --vs B...")
    comp = compare_paths(side_a, side_b, measure=args.measure, method=args.method, permutations=args.permutations,
                         seed=args.seed, alpha=args.alpha)
    print(json.dumps(comp.to_dict(), indent=2) if args.json else comp.to_markdown())
    return 0


# ---------------------------------------------------------------------------------------------


def _add_train(sub: argparse._SubParsersAction) -> None:
    from codequarry.benchmarks.train_cli import add_train

    add_train(sub)


COMMANDS: tuple[tuple[str, Callable[[argparse._SubParsersAction], None]], ...] = (
    ("tasks", _add_tasks),
    ("bench", _add_bench),
    ("compare", _add_compare),
    ("train", _add_train),
)


def register(sub: argparse._SubParsersAction) -> None:
    for _, add in COMMANDS:
        add(sub)
