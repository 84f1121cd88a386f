"""What every engine shares: the engine's own step, the pass plan and the per-batch runner.

A recipe runs as *passes*. Row-local steps (filters, annotators, transforms) between two global
steps are fused into one pass over each batch; a global step splits the work: its ``map`` ends
one pass, its ``resolve`` runs once in the driver, its ``apply`` starts the next pass. The engine
always runs one step of its own first, ``unique_id``: a repeated row id is excluded (reason
``duplicate_id``; the copy in the most held-out split is kept, then the first in input order), so
ids are unique for every later step.

Batches carry a private ``_pos`` column (the row's position in the input's canonical order); the
output is written in ``_pos`` order through one ``PairsWriter``, and exclusions in (step, ``_pos``)
order, so the bytes do not depend on the engine, the worker count or the batch size.

The rest of the shared machinery has a module per job: ``engine_input`` (chunks of the input),
``engine_output`` (the output folder: refuse to mix runs, lock, publish atomically) and
``engine_write`` (the final write of rows, exclusions, manifest and report).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from codequarry.cleaners.base import GlobalStep, Step, StepOutput
from codequarry.errors import CodequarryError
from codequarry.schema import CORE_FIELDS

POS = "_pos"
SPLIT = "split"
DEFAULT_BATCH_ROWS = 10_000
STEP_ERROR = "step_error"

EXCL_FIELDS: tuple[pa.Field, ...] = (
    pa.field("_step", pa.int32()),
    pa.field("_reason", pa.string()),
    pa.field("_detail", pa.string()),
    pa.field(POS, pa.int64()),
    pa.field(SPLIT, pa.string()),
    *(pa.field(f.name, f.type) for f in CORE_FIELDS),
)
EXCL_SCHEMA = pa.schema(list(EXCL_FIELDS))

# --------------------------------------------------------------------------------------------
# the engine's own step


class UniqueIds(GlobalStep):
    """Engine step: ids must be unique, so every repeat of an id is excluded (``duplicate_id``).

    Of the rows sharing an id, the one in the most held-out split is kept (the shared keep rule),
    then the first in input order.
    """

    name = "unique_id"
    description = "engine: exclude rows whose id repeats another row's id (reason duplicate_id)"
    map_columns = ("id",)
    partition_column = "id"  # groups are rows of equal id: a distributed resolve may split by it (ray_resolve)

    def map(self, batch: pa.Table) -> pa.Table:
        return batch.select(["id", SPLIT, POS])

    def resolve(self, mapped: Iterable[pa.Table], workdir: Path) -> dict[str, int]:
        from codequarry.cleaners.keep_rule import split_rank

        tables = [t for t in mapped if t.num_rows]
        if not tables:
            return {}
        table = pa.concat_tables(tables)
        counts = table.group_by("id").aggregate([(POS, "count")])
        dup = counts.filter(pc.greater(counts[f"{POS}_count"], 1))["id"]
        if not len(dup):
            return {}
        rows = table.filter(pc.is_in(table["id"], value_set=dup))
        best: dict[str, tuple[int, str, int]] = {}
        for rid, split, pos in zip(rows["id"].to_pylist(), rows[SPLIT].to_pylist(), rows[POS].to_pylist()):
            key = (split_rank(split), split or "", pos)
            if rid not in best or key < best[rid]:
                best[rid] = key
        return {rid: key[2] for rid, key in best.items()}

    def apply(self, batch: pa.Table, decision: dict[str, int]) -> StepOutput:
        if not decision or batch.num_rows == 0:
            return StepOutput(kept=batch)
        from codequarry.cleaners.decision_map import get_many

        ids = batch["id"].to_pylist()
        pos = batch[POS].to_pylist()
        kept_at = get_many(decision, ids)  # the input row that keeps each repeated id; None: not repeated
        keep = [k is None or k == p for k, p in zip(kept_at, pos)]
        if all(keep):
            return StepOutput(kept=batch)
        drop = [i for i, k in enumerate(keep) if not k]
        return StepOutput(kept=batch.filter(pa.array(keep)), dropped=batch.take(drop),
                          reasons=("duplicate_id",) * len(drop),
                          details=tuple(f"id {ids[i]!r} is kept at input row {kept_at[i]}" for i in drop))


def engine_steps(recipe_steps: list[Step]) -> list[Step]:
    """The steps an engine runs: its own ``unique_id`` first, then the recipe's."""
    return [UniqueIds(), *recipe_steps]


# --------------------------------------------------------------------------------------------
# passes


@dataclass(frozen=True)
class PassPlan:
    """One pass over every batch: apply a global step's decision, run row-local steps, map the next global."""

    index: int
    apply: int | None
    local: tuple[int, ...]
    map: int | None

    @property
    def step_indices(self) -> tuple[int, ...]:
        return ((self.apply,) if self.apply is not None else ()) + self.local

    @property
    def writes_rows(self) -> bool:
        """A pass that only maps leaves the rows as they were (the next pass reads the same source)."""
        return bool(self.step_indices)


def plan_passes(steps: list[Step]) -> list[PassPlan]:
    passes: list[PassPlan] = []
    apply: int | None = None
    local: list[int] = []
    for i, step in enumerate(steps):
        if isinstance(step, GlobalStep):
            passes.append(PassPlan(len(passes), apply, tuple(local), i))
            apply, local = i, []
        else:
            local.append(i)
    passes.append(PassPlan(len(passes), apply, tuple(local), None))
    return passes


def pass_label(steps: list[Step], plan: PassPlan) -> str:
    names = [steps[i].name for i in plan.step_indices]
    if plan.map is not None:
        names.append(f"{steps[plan.map].name}:map")
    return ", ".join(names)


@dataclass
class PassResult:
    """What one pass did to one batch."""

    kept: pa.Table
    excluded: dict[int, pa.Table] = field(default_factory=dict)
    counts: dict[int, dict[str, Any]] = field(default_factory=dict)
    mapped: pa.Table | None = None
    map_seconds: float = 0.0


def run_pass(steps: list[Step], plan: PassPlan, batch: pa.Table, decision: Any = None) -> PassResult:
    """Run one pass's steps over a batch, checking per step: rows in = rows kept + rows excluded."""
    result = PassResult(kept=batch)
    live = batch
    for idx in plan.step_indices:
        step = steps[idx]
        started = time.perf_counter()
        n_in = live.num_rows
        pos_in = _pos_sum(live)
        if idx == plan.apply:
            out = _guarded(step, live, lambda b, s=step: s.apply(b, decision), per_row=False)
        else:
            out = _guarded(step, live, step.process, per_row=True)
        out = StepOutput(kept=_conform_added(step, out.kept), dropped=out.dropped, reasons=out.reasons,
                         details=out.details)
        _check_accounting(step, n_in, pos_in, out)
        reasons = Counter(out.reasons)
        result.counts[idx] = {"in": n_in, "kept": out.kept.num_rows, "excluded": out.num_dropped,
                              "reasons": dict(sorted(reasons.items())), "seconds": time.perf_counter() - started}
        if out.num_dropped:
            result.excluded[idx] = exclusion_table(out.dropped, idx, out.reasons, out.details)
        live = out.kept
    result.kept = live
    if plan.map is not None:
        started = time.perf_counter()
        result.mapped = steps[plan.map].map(live)
        result.map_seconds = time.perf_counter() - started
    return result


def _pos_sum(table: pa.Table) -> int:
    if POS not in table.column_names:
        return 0
    s = pc.sum(table[POS]).as_py()
    return int(s or 0)


def _check_accounting(step: Step, n_in: int, pos_in: int, out: StepOutput) -> None:
    kept, dropped = out.kept.num_rows, out.num_dropped
    if kept + dropped != n_in:
        raise RuntimeError(f"step {step.name!r} broke the accounting: {n_in} rows in, {kept} kept + {dropped} excluded")
    if step.kind == "annotate" and dropped:
        raise RuntimeError(f"annotator {step.name!r} dropped {dropped} rows; annotators only add columns")
    if POS in out.kept.column_names or n_in == 0:
        got = _pos_sum(out.kept) + (_pos_sum(out.dropped) if out.dropped is not None else 0)
        if got != pos_in:
            raise RuntimeError(f"step {step.name!r} lost, duplicated or rewrote rows (positions do not add up)")
        if kept > 1:
            import numpy as np

            pos = out.kept[POS].to_numpy()
            if bool(np.any(np.diff(pos) <= 0)):
                raise RuntimeError(f"step {step.name!r} reordered rows; steps must keep the input order")
    else:
        raise RuntimeError(f"step {step.name!r} dropped the engine's private column {POS!r}; pass unknown columns through")


def _conform_added(step: Step, table: pa.Table) -> pa.Table:
    """Cast declared annotation columns to their declared types (every batch then has one schema)."""
    for f in step.added_fields():
        if f.name not in table.column_names:
            raise RuntimeError(f"step {step.name!r} declares column {f.name!r} but did not add it")
        col = table.column(f.name)
        if col.type != f.type:
            table = table.set_column(table.column_names.index(f.name), f, col.cast(f.type))
    return table


def _guarded(step: Step, batch: pa.Table, fn: Callable[[pa.Table], StepOutput], *, per_row: bool) -> StepOutput:
    """Run a step; if it raises on a batch, retry row by row and exclude only the rows it fails on."""
    try:
        return fn(batch)
    except (CodequarryError, MemoryError, KeyboardInterrupt):
        raise
    except Exception as exc:
        if not per_row or batch.num_rows == 0:
            raise RuntimeError(f"step {step.name!r} failed: {type(exc).__name__}: {exc}") from exc
        first = exc
    kept: list[pa.Table] = []
    dropped: list[pa.Table] = []
    reasons: list[str] = []
    details: list[str | None] = []
    for i in range(batch.num_rows):
        row = batch.slice(i, 1)
        try:
            out = fn(row)
        except (CodequarryError, MemoryError, KeyboardInterrupt):
            raise
        except Exception as exc:
            dropped.append(row)
            reasons.append(STEP_ERROR)
            details.append(f"{type(exc).__name__}: {exc}"[:500])
            continue
        kept.append(out.kept)
        if out.num_dropped:
            dropped.append(out.dropped)
            reasons.extend(out.reasons)
            details.extend(out.details or (None,) * out.num_dropped)
    if not kept and batch.num_rows > 1:
        raise RuntimeError(f"step {step.name!r} fails on every row: {type(first).__name__}: {first}") from first
    kept_t = pa.concat_tables(kept, promote_options="permissive") if kept else fn(batch.slice(0, 0)).kept
    dropped_t = pa.concat_tables([_core_only(d) for d in dropped], promote_options="permissive") if dropped else None
    return StepOutput(kept=kept_t, dropped=dropped_t, reasons=tuple(reasons), details=tuple(details))


def _core_only(table: pa.Table) -> pa.Table:
    names = [f.name for f in EXCL_FIELDS if f.name in table.column_names]
    return table.select(names)


def exclusion_table(dropped: pa.Table, step_index: int, reasons: Iterable[str], details: Iterable[str | None] | None
                    ) -> pa.Table:
    """Dropped rows in the engine's exclusion layout: step index, reason, detail, position, split, pairs columns."""
    n = dropped.num_rows
    reasons = list(reasons)
    details = list(details) if details is not None else [None] * n
    arrays: list[Any] = []
    for f in EXCL_FIELDS:
        if f.name == "_step":
            arrays.append(pa.array([step_index] * n, pa.int32()))
        elif f.name == "_reason":
            arrays.append(pa.array(reasons, pa.string()))
        elif f.name == "_detail":
            arrays.append(pa.array([None if d is None else str(d) for d in details], pa.string()))
        elif f.name in dropped.column_names:
            col = dropped.column(f.name)
            if col.type != f.type:
                try:
                    col = col.cast(f.type)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                    col = pa.nulls(n, f.type)
            arrays.append(col)
        else:
            arrays.append(pa.nulls(n, f.type))
    return pa.Table.from_arrays(arrays, schema=EXCL_SCHEMA)


def decision_summary(step: Step, decision: Any) -> Any:
    """A global step's JSON-ready summary of its decision (None when it gives none)."""
    fn = getattr(step, "summary", None)
    if fn is None:
        return None
    summary = fn(decision)
    return json.loads(json.dumps(summary, default=str, sort_keys=True)) if summary is not None else None
