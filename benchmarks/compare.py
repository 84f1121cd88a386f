"""Compare two sets of results task by task: paired test on per-query scores, Holm across tasks, effect size."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codequarry.benchmarks.results import Result, load_results
from codequarry.errors import CodequarryError

METHODS = ("randomization", "t")


@dataclass(frozen=True)
class TaskComparison:
    """One task's paired comparison of A against B on the queries both scored."""

    task: str
    split: str | None
    measure: str
    n_queries: int
    mean_a: float
    mean_b: float
    diff: float
    p_value: float
    p_holm: float
    effect_size: float
    significant: bool
    only_a: int = 0
    only_b: int = 0


@dataclass(frozen=True)
class Comparison:
    """The per-task comparisons plus what could not be paired."""

    model_a: str
    model_b: str
    method: str
    alpha: float
    rows: tuple[TaskComparison, ...]
    unmatched_a: tuple[str, ...] = ()
    unmatched_b: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (infinite effect sizes become null)."""
        def clean(v: Any) -> Any:
            return None if isinstance(v, float) and not math.isfinite(v) else v

        return {"model_a": self.model_a, "model_b": self.model_b, "method": self.method, "alpha": self.alpha,
                "correction": "holm",
                "tasks": [{k: clean(v) for k, v in row.__dict__.items()} for row in self.rows],
                "unmatched_a": list(self.unmatched_a), "unmatched_b": list(self.unmatched_b),
                "notes": list(self.notes)}

    def to_markdown(self) -> str:
        """A Markdown table: means, difference, effect size, raw and Holm-adjusted p, significance."""
        test = "paired randomization (sign-flip)" if self.method == "randomization" else "paired t-test"
        lines = [f"A = {self.model_a}, B = {self.model_b}; {test}, Holm-adjusted across {len(self.rows)} task(s), "
                 f"α = {self.alpha}", "",
                 "| task | split | measure | n | A | B | A − B | d | p | p (Holm) | sig. |",
                 "|---|---|---|---:|---:|---:|---:|---:|---:|---:|:-:|"]
        for r in self.rows:
            d = f"{r.effect_size:.3f}" if math.isfinite(r.effect_size) else ("∞" if r.effect_size > 0 else "−∞")
            lines.append(f"| {r.task} | {r.split or ''} | {r.measure} | {r.n_queries} | {r.mean_a:.4f} | "
                         f"{r.mean_b:.4f} | {r.diff:+.4f} | {d} | {_fmt_p(r.p_value)} | {_fmt_p(r.p_holm)} | "
                         f"{'✓' if r.significant else ''} |")
        extra = [f"- only in A: {t}" for t in self.unmatched_a] + [f"- only in B: {t}" for t in self.unmatched_b]
        extra += [f"- {n}" for n in self.notes]
        return "\n".join(lines + ([""] + extra if extra else [])) + "\n"


def _fmt_p(p: float) -> str:
    return f"{p:.2e}" if p < 1e-3 else f"{p:.4f}"


def _key(r: Result) -> tuple[str, str]:
    return r.task_name, r.split or ""


def _label(key: tuple[str, str]) -> str:
    return key[0] + (f" [{key[1]}]" if key[1] else "")


def _index(results: Sequence[Result], side: str) -> dict[tuple[str, str], Result]:
    out: dict[tuple[str, str], Result] = {}
    for r in results:
        k = _key(r)
        if k in out:
            raise CodequarryError(f"compare: set {side} holds two results for task {_label(k)} "
                                  f"({out[k].model_name} and {r.model_name}); give one result per task")
        out[k] = r
    return out


def _model(results: Sequence[Result]) -> str:
    names = sorted({r.model_name for r in results})
    return ", ".join(names) if names else "(none)"


def compare(a: Sequence[Result], b: Sequence[Result], *, measure: str | None = None, method: str = "randomization",
            permutations: int = 10000, seed: int = 0, alpha: float = 0.05) -> Comparison:
    """Paired significance test of A vs B per task (matched by task name and split), Holm-corrected."""
    from codequarry.benchmarks.stats import effect_size, holm, paired_randomization_test, paired_t_test

    if method not in METHODS:
        raise CodequarryError(f"compare: unknown method {method!r}; use one of {METHODS}")
    ia, ib = _index(a, "A"), _index(b, "B")
    shared = sorted(set(ia) & set(ib))
    if not shared:
        raise CodequarryError(f"compare: no task appears in both sets (A: {sorted(map(_label, ia))}, "
                              f"B: {sorted(map(_label, ib))})")
    pending, notes = [], []
    for key in shared:
        ra, rb = ia[key], ib[key]
        m = measure or ra.main_measure
        if measure is None and rb.main_measure != m:
            raise CodequarryError(f"compare: task {_label(key)} has main score {m!r} in A but "
                                  f"{rb.main_measure!r} in B; pass measure=")
        for side, r in (("A", ra), ("B", rb)):
            if m not in r.per_query or not r.per_query[m]:
                raise CodequarryError(f"compare: result {side} for task {_label(key)} has no per-query {m!r} "
                                      f"scores (it has {sorted(r.per_query)}); re-run bench to record them")
        pa, pb = ra.per_query[m], rb.per_query[m]
        qids = sorted(set(pa) & set(pb))
        if not qids:
            raise CodequarryError(f"compare: task {_label(key)}: A and B share no query ids; "
                                  "were they run on the same data and split?")
        only_a, only_b = len(pa) - len(qids), len(pb) - len(qids)
        if only_a or only_b:
            msg = (f"task {_label(key)}: compared on the {len(qids)} shared queries "
                   f"({only_a} only in A, {only_b} only in B)")
            warnings.warn(msg, stacklevel=2)
            notes.append(msg)
        xa = [pa[q] for q in qids]
        xb = [pb[q] for q in qids]
        if method == "randomization":
            p = paired_randomization_test(xa, xb, permutations=permutations, seed=seed)
        else:
            p = paired_t_test(xa, xb) if len(qids) > 1 else 1.0
        pending.append((key, m, xa, xb, p, only_a, only_b))
    adjusted = holm({_label(item[0]): item[4] for item in pending})
    rows = []
    for key, m, xa, xb, p, only_a, only_b in pending:
        mean_a, mean_b = sum(xa) / len(xa), sum(xb) / len(xb)
        ph = adjusted[_label(key)]
        rows.append(TaskComparison(task=key[0], split=key[1] or None, measure=m, n_queries=len(xa), mean_a=mean_a,
                                   mean_b=mean_b, diff=mean_a - mean_b, p_value=p, p_holm=ph,
                                   effect_size=effect_size(xa, xb), significant=ph < alpha,
                                   only_a=only_a, only_b=only_b))
    return Comparison(model_a=_model(a), model_b=_model(b), method=method, alpha=alpha, rows=tuple(rows),
                      unmatched_a=tuple(_label(k) for k in sorted(set(ia) - set(ib))),
                      unmatched_b=tuple(_label(k) for k in sorted(set(ib) - set(ia))), notes=tuple(notes))


def compare_paths(path_a: Path | str | Sequence[Path | str], path_b: Path | str | Sequence[Path | str],
                  **kw: Any) -> Comparison:
    """``compare`` on result files or folders (each side: one path or a list of paths)."""
    ra, rb = load_results(path_a), load_results(path_b)
    for side, paths, rs in (("A", path_a, ra), ("B", path_b, rb)):
        if not rs:
            raise CodequarryError(f"compare: no codequarry result files found in {side} ({paths})")
    return compare(ra, rb, **kw)
