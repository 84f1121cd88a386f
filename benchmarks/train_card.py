"""The model card (``README.md``) and training curves of a ``codequarry train`` output folder.

The card is a Hugging Face model card: YAML front matter (``library_name``, ``pipeline_tag``, ``tags``,
``base_model`` when the base is a Hub id, ``license`` when the base model's own card declares one, and
``model-index`` once benchmark results are added) and prose: how to load and benchmark the model, the
training data's provenance (pairs dir path and fingerprint, the cleaning recipe from its manifest, the
sources and the licenses of the rows trained on), the train/test overlap check, every hyper-parameter,
the loss and validation curves, and the results. ``add_results_to_card`` adds benchmark results (the
``model-index`` entries of this model, through ``results.to_model_index``, and a table that also lists
other models scored on the same task, e.g. the zero-shot base) and can be run again as results arrive.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from codequarry.errors import CodequarryError

LOSS_PNG = "loss_curve.png"
VALID_PNG = "valid_mrr.png"
RESULTS_START = "<!-- codequarry:results:start -->"
RESULTS_END = "<!-- codequarry:results:end -->"
_SHOWN = ("mrr", "recall@1", "recall@5", "recall@10", "ndcg@10")


# ---------------------------------------------------------------------------------------------
# curves


def _moving_average(values: Sequence[float], window: int) -> list[float]:
    out, acc = [], 0.0
    for i, v in enumerate(values):
        acc += v
        if i >= window:
            acc -= values[i - window]
        out.append(acc / min(i + 1, window))
    return out


def plot_curves(out: str | os.PathLike[str], report: Any) -> list[str]:
    """Write ``loss_curve.png`` (per-step loss, its moving average, learning rate) and ``valid_mrr.png``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    out = Path(out)
    written = []
    hist = report.history
    if hist:
        steps = [h["step"] for h in hist]
        losses = [h["loss"] for h in hist]
        fig = Figure(figsize=(7, 4), dpi=110)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot(1, 1, 1)
        ax.plot(steps, losses, color="#9ecae1", linewidth=0.8, label="loss per step")
        window = max(1, len(losses) // 20)
        if window > 1:
            ax.plot(steps, _moving_average(losses, window), color="#08519c", linewidth=1.6,
                    label=f"moving average ({window} steps)")
        ax.set_xlabel("optimizer step")
        ax.set_ylabel(str(report.config.get("loss") or "loss").split(" (")[0])
        ax.set_title(f"training loss ({Path(report.out).name})")
        ax.grid(alpha=0.3)
        ax2 = ax.twinx()
        ax2.plot(steps, [h["lr"] for h in hist], color="#fd8d3c", linewidth=0.8, linestyle="--", label="learning rate")
        ax2.set_ylabel("learning rate")
        lines = ax.get_legend_handles_labels()
        lines2 = ax2.get_legend_handles_labels()
        ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], loc="upper right", fontsize=8)
        fig.tight_layout()
        fig.savefig(out / LOSS_PNG)
        written.append(LOSS_PNG)
    if report.evals:
        fig = Figure(figsize=(7, 4), dpi=110)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot(1, 1, 1)
        steps = [e["step"] for e in report.evals]
        for measure, color in (("mrr", "#08519c"), ("recall@1", "#31a354"), ("recall@10", "#756bb1")):
            if all(measure in e for e in report.evals):
                ax.plot(steps, [e[measure] for e in report.evals], marker="o", color=color, label=measure)
        if report.best:
            ax.axvline(report.best["step"], color="#999999", linestyle=":", label=f"best (step {report.best['step']})")
        ev = report.evals[-1]
        ax.set_title(f"validation: {ev.get('queries')} queries, {ev.get('docs')} codes")
        ax.set_xlabel("optimizer step")
        ax.set_ylabel("score")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out / VALID_PNG)
        written.append(VALID_PNG)
    return written


# ---------------------------------------------------------------------------------------------
# card


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """(front matter dict, body) of a README, parsed by ``huggingface_hub.ModelCard``; none gives ({}, text)."""
    data, body = _parse_card(text)
    return data.to_dict(), body


def _parse_card(text: str) -> tuple[Any, str]:
    """(``ModelCardData``, body) of a README through ``huggingface_hub``."""
    from huggingface_hub import ModelCard

    try:
        card = ModelCard(text, ignore_metadata_errors=True)
    except ValueError as exc:  # the front matter is not a YAML mapping
        raise CodequarryError(f"README.md: {exc}") from exc
    return card.data, card.text


def join_front_matter(front: Any, body: str) -> str:
    """README text from front matter (a ``ModelCardData`` or a dict of its fields) and a body."""
    from huggingface_hub import ModelCardData

    data = front if isinstance(front, ModelCardData) else ModelCardData(**front, ignore_metadata_errors=True)
    return "---\n" + data.to_yaml() + "\n---\n\n" + body.lstrip("\n")


def _base_card(base: str) -> dict[str, Any]:
    p = Path(os.path.expanduser(base))
    readme = p / "README.md"
    if p.is_dir() and readme.is_file():
        try:
            return split_front_matter(readme.read_text(encoding="utf-8"))[0]
        except (CodequarryError, UnicodeDecodeError):
            return {}
    return {}


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if value is None:
        return "—"
    return str(value).replace("|", "\\|")


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_fmt(c) for c in r) + " |" for r in rows]
    return lines


def _recipe_lines(recipe: Any) -> list[str]:
    if not recipe:
        return ["The data was not cleaned by `codequarry clean` (its manifest has no recipe)."]
    if isinstance(recipe, dict) and isinstance(recipe.get("steps"), list):
        lines = [f"Cleaning recipe **{recipe.get('name', 'custom')}**"
                 + (f": {recipe['description']}" if recipe.get("description") else "") + "", ""]
        for i, st in enumerate(recipe["steps"], 1):
            params = st.get("params") or {}
            shown = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in params.items())
            lines.append(f"{i}. `{st.get('step')}`" + (f" ({shown})" if shown else ""))
        return lines
    return ["```yaml", yaml.safe_dump(recipe, sort_keys=False, allow_unicode=True).rstrip(), "```"]


def render_card(report: Any, base_model_id: str | None = None) -> str:
    """The README.md text for a training report (results section empty until ``add_results_to_card``)."""
    cfg, data = report.config, report.data
    name = Path(report.out).name
    base_front = _base_card(report.base)
    is_ce = report.kind == "cross-encoder"
    front: dict[str, Any] = {}  # ModelCardData fields
    if base_front.get("language"):
        front["language"] = base_front["language"]
    if base_front.get("license"):
        front["license"] = base_front["license"]
    front["library_name"] = "sentence-transformers"
    front["pipeline_tag"] = "text-ranking" if is_ce else "sentence-similarity"
    front["tags"] = ["sentence-transformers", "cross-encoder" if is_ce else "feature-extraction", "code-search",
                     "codequarry"] + [f"code-{c}" for c in data.get("configs", [])]
    base_id = (base_model_id or cfg.get("base_model_id")
               or (report.base if not Path(os.path.expanduser(report.base)).exists() else None))
    if base_id:
        front["base_model"] = base_id

    lines = [f"# {name}", ""]
    kind = "cross-encoder reranker" if is_ce else "bi-encoder"
    lines += [f"A code-search {kind} fine-tuned with [codequarry](https://github.com/codequarry/codequarry) "
              f"`train` from `{base_id or report.base}` on {data.get('train_examples')} (query, code) pairs of the "
              f"`{cfg.get('train_split')}` split of the pairs dir `{Path(data.get('path', '')).name}` "
              f"({', '.join(data.get('configs', [])) or 'unknown language'}).", ""]
    lines += ["## Usage", "", "```python"]
    if is_ce:
        lines += ["from sentence_transformers import CrossEncoder", "", f'model = CrossEncoder("{name}")',
                  'scores = model.predict([("read a json file", "def load(path):\\n    ...")])', "```", "",
                  "As a second stage in codequarry's benchmarks (rerank the top K of a first-stage model):", "",
                  "```bash", f"codequarry bench --model 'py:codequarry.benchmarks.rerank:Reranked' --model-arg "
                  f"first=bm25 --model-arg model={name} --model-arg top_k=100 --task PAIRS_DIR --split test", "```"]
    else:
        lines += ["from sentence_transformers import SentenceTransformer", "", f'model = SentenceTransformer("{name}")',
                  'queries = model.encode_query(["read a json file"])',
                  'codes = model.encode_document(["def load(path):\\n    with open(path) as f:\\n        return json.load(f)"])',
                  "print(model.similarity(queries, codes))", "```", ""]
        prompts = [f"`{side}` = `{cfg[side + '_prompt']!r}`" for side in ("query", "document")
                   if cfg.get(side + "_prompt")]
        if prompts:
            lines += [f"It was trained with prompts, stored in the model as {' and '.join(prompts)}; "
                      "`encode_query`/`encode_document` apply them (plain `encode` does not).", ""]
        arg = ""
        if cfg.get("query_prompt"):
            arg += " --model-arg query_prompt_name=query"
        if cfg.get("document_prompt"):
            arg += " --model-arg document_prompt_name=document"
        lines += ["Benchmark it with codequarry:", "", "```bash",
                  f"codequarry bench --model st:{name}{arg} --task PAIRS_DIR --split test --out results", "```"]
    lines += [""]

    # data
    lines += ["## Training data", ""]
    lines += _table(("", ""), [
        ("pairs dir", f"`{data.get('path')}`"), ("fingerprint", f"`{data.get('fingerprint')}`"),
        ("created by", f"`{data.get('created_by')}`" if data.get("created_by") else None),
        ("made from", f"`{data['input']['path']}` (`{data['input'].get('fingerprint')}`)" if data.get("input") else None),
        ("splits (rows)", ", ".join(f"{k}: {v}" for k, v in (data.get("splits") or {}).items())),
        ("train rows / examples", f"{data.get('train_rows')} / {data.get('train_examples')}"),
        ("rows not used", ", ".join(f"{k}: {v}" for k, v in (data.get("skipped") or {}).items()) or "none"),
        ("repositories in train", data.get("train_repos")),
    ])
    lines += ["", "### Sources", ""]
    for src in data.get("sources") or []:
        bits = [f"**{src.get('name')}**"]
        if src.get("url"):
            bits.append(f"<{src['url']}>")
        bits.append(f"license: {src.get('license') or 'per row (see below)'}")
        if src.get("revision"):
            bits.append(f"revision `{src['revision']}`")
        lines.append("- " + ", ".join(bits) + (f". {src['description']}" if src.get("description") else ""))
    lic = data.get("licenses") or {}
    if lic:
        lines += ["", "Licenses of the code trained on (rows per `license` value of the train examples):", ""]
        lines += _table(("license", "rows"), list(lic.items())[:20])
        if len(lic) > 20:
            lines.append(f"\n… and {len(lic) - 20} more values.")
    lines += ["", "### Cleaning", ""] + _recipe_lines(data.get("recipe"))

    # overlap
    ov = report.overlap or {}
    lines += ["", "### Train / held-out overlap check", "",
              f"Checked before training ({ov.get('method', 'n/a')}) between `{ov.get('train_split')}` and "
              f"{', '.join(f'`{s}`' for s in ov.get('held_out', [])) or 'no held-out split'}"
              + (" — **training was forced despite a test overlap**." if ov.get("forced") and
                 (ov.get("by_split", {}).get("test", {}).get("rows")) else ".")]
    if ov.get("by_split"):
        lines += [""] + _table(("held-out split", "overlapping train rows", "same id", "identical code", "near-duplicate"),
                               [(s, v["rows"], v["same_id"], v["exact_code"], v["near_duplicate_code"])
                                for s, v in ov["by_split"].items()])

    # training
    lines += ["", "## Training procedure", ""]
    hp = [("base model", f"`{report.base}`"), ("objective", cfg.get("loss") or "BinaryCrossEntropyLoss"),
          ("steps", f"{report.steps} ({report.epochs} epochs; {report.steps_per_epoch} batches per epoch)")]
    keys = ["batch_size", "learning_rate", "scheduler", "warmup_steps_used", "weight_decay", "max_grad_norm", "scale",
            "max_query_length", "max_seq_length", "max_length", "query_prompt", "document_prompt", "hard_negatives",
            "hard_negative_depth", "num_negatives", "seed", "precision", "valid_split", "valid_max_queries",
            "valid_max_docs", "eval_steps", "select_best", "final_weights", "max_train_examples"]
    hp += [(k, f"`{cfg[k]!r}`" if isinstance(cfg[k], str) else cfg[k]) for k in keys if k in cfg]
    env = report.environment or {}
    hp += [("device", f"{env.get('device')} ({env.get('gpu') or str(env.get('cpu_cores')) + ' CPU cores, '}"
                      f"{env.get('torch_threads')} torch threads)"),
           ("training time", f"{report.train_time_s:.0f} s (wall {report.wall_time_s:.0f} s)"),
           ("resumed from", f"`{report.resumed_from}`" if report.resumed_from else None),
           ("software", ", ".join(f"{k} {v}" for k, v in (env.get("packages") or {}).items())
            + f", codequarry {report.codequarry_version}")]
    lines += _table(("hyper-parameter", "value"), hp)
    if report.hard_negatives:
        h = report.hard_negatives
        lines += ["", f"Hard negatives: {h.get('num_negatives')} per example from BM25 (codequarry's code-aware "
                      f"tokenizer) over the split's {h.get('distinct_codes')} distinct codes, skipping the positive and "
                      f"its exact duplicates and codes documented with the same query: {h.get('bm25')} from BM25, "
                      f"{h.get('judged')} judged (label 0) and {h.get('random_fill')} random fills."]
    pl = report.probe_loss or {}
    if pl:
        lines += ["", f"Loss on {pl.get('batches')} fixed training batches (eval mode): {pl.get('before'):.4f} before, "
                      f"{pl.get('after'):.4f} after training."]
    if LOSS_PNG in report.plots:
        lines += ["", f"![training loss]({LOSS_PNG})"]
    if report.evals:
        ev0 = report.evals[-1]
        lines += ["", f"### Validation ({cfg.get('valid_split')} split as a `pairs-retrieval` task: {ev0.get('queries')} "
                      f"queries, {ev0.get('docs')} codes)", ""]
        shown = [m for m in _SHOWN if m in ev0]
        lines += _table(("step", *shown), [(e["step"], *(e.get(m) for m in shown)) for e in report.evals])
        if is_ce and ev0.get("first_stage"):
            fs = ev0["first_stage"]
            lines += ["", f"Each query's top {ev0.get('rerank_top')} BM25 hits are reranked; BM25 alone scores "
                          + ", ".join(f"{m} {fs[m]:.4f}" for m in shown if m in fs) + "."]
        if report.best:
            lines += ["", f"Best MRR {report.best['mrr']:.4f} at step {report.best['step']}; the saved weights are from "
                          f"that step ({cfg.get('final_weights')})."]
        if VALID_PNG in report.plots:
            lines += ["", f"![validation MRR]({VALID_PNG})"]
    lines += ["", "## Results", "", RESULTS_START,
              "No benchmark results yet: run `codequarry train ... --bench-split test`, or "
              "`add_results_to_card(MODEL_DIR, RESULT_FILES)` after `codequarry bench`.", RESULTS_END, ""]
    cites = [s.get("citation") for s in data.get("sources") or [] if s.get("citation")]
    if cites:
        lines += ["## Citation of the data sources", "", "```bibtex", *cites, "```", ""]
    return join_front_matter(front, "\n".join(lines))


def write_card(out: str | os.PathLike[str], report: Any, base_model_id: str | None = None) -> Path:
    """Write the card to ``OUT/README.md`` (results already recorded in ``training_log.json`` are added back)."""
    path = Path(out) / "README.md"
    path.write_text(render_card(report, base_model_id), encoding="utf-8")
    if report.results:
        existing = [p for p in report.results if Path(p).is_file()]
        if existing:
            add_results_to_card(out, existing)
    return path


def _same_model(result: Any, model_dir: Path) -> bool:
    spec = str(result.model.get("spec") or "")
    kind, _, target = spec.partition(":")
    if kind not in ("st", "hf", "py") or not target:
        return False
    try:
        return Path(os.path.expanduser(target)).resolve() == model_dir.resolve()
    except OSError:
        return False


def add_results_to_card(model_dir: str | os.PathLike[str], result_paths: Sequence[str | os.PathLike[str]]) -> Path:
    """Record benchmark results in the card: ``model-index`` entries (this model's results) and a results table.

    Results of other models (e.g. the zero-shot base) appear in the table for comparison only. Entries for
    the same task and split replace earlier ones; the paths are also appended to ``training_log.json``.
    """
    from codequarry.benchmarks.results import load_results, to_model_index

    model_dir = Path(model_dir)
    readme = model_dir / "README.md"
    if not readme.is_file():
        raise CodequarryError(f"{model_dir}: no README.md; is it a folder written by `codequarry train`?")
    if not result_paths:
        raise CodequarryError("add_results_to_card: no result files given")
    log = model_dir / "training_log.json"
    log_data = json.loads(log.read_text(encoding="utf-8")) if log.is_file() else None
    earlier = [p for p in (log_data or {}).get("results", []) if Path(p).is_file()]
    all_paths = list(dict.fromkeys([*earlier, *(str(Path(p).resolve()) for p in result_paths)]))
    results = load_results(all_paths)
    from huggingface_hub.repocard_data import model_index_to_eval_results

    data, body = _parse_card(readme.read_text(encoding="utf-8"))
    own = [r for r in results if _same_model(r, model_dir)]
    if own:
        # one EvalResult per (task, dataset, split, revision, metric): a newer result replaces an earlier one
        _, new = model_index_to_eval_results(to_model_index(own, model_dir.resolve().name)["model-index"])

        def key(e: Any) -> tuple[Any, ...]:
            return e.task_type, e.dataset_name, e.dataset_split, e.dataset_revision

        replaced = {key(e) for e in new}
        data.eval_results = [e for e in data.eval_results or [] if key(e) not in replaced] + new
        data.model_name = data.model_name or model_dir.resolve().name
    rows = []
    for r in sorted(results, key=lambda r: (r.task_name, r.split or "", not _same_model(r, model_dir), r.model_name)):
        ci = r.ci.get(r.main_measure)
        rows.append((("**" + r.model_name + "** (this model)") if _same_model(r, model_dir) else r.model_name,
                     r.task_name, r.split, r.task.get("protocol"), r.task.get("num_queries"), r.task.get("num_docs"),
                     *(r.scores.get(m) for m in _SHOWN),
                     f"[{ci[0]:.4f}, {ci[1]:.4f}]" if ci else None))
    table = _table(("model", "task", "split", "protocol", "queries", "codes", *_SHOWN, "95% CI of the main score"), rows)
    section = "\n".join([RESULTS_START, *table, "",
                         "Scores under codequarry's published protocols (trec_eval semantics; CI: percentile bootstrap "
                         "over queries). Result files: " + ", ".join(f"`{Path(p).name}`" for p in all_paths) + ".",
                         RESULTS_END])
    if RESULTS_START in body and RESULTS_END in body:
        start, end = body.index(RESULTS_START), body.index(RESULTS_END) + len(RESULTS_END)
        body = body[:start] + section + body[end:]
    else:
        body = body.rstrip("\n") + "\n\n## Results\n\n" + section + "\n"
    readme.write_text(join_front_matter(data, body), encoding="utf-8")
    if log_data is not None:
        log_data["results"] = all_paths
        log.write_text(json.dumps(log_data, indent=1, default=str), encoding="utf-8")
    return readme
