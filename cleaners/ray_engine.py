"""The Ray engine (``--engine ray``, ``pip install 'codequarry[ray]'``): the same recipe on Ray Data.

The input is read as Arrow batches (the same chunks as the local engine, each carrying ``_pos``);
every pass is one ``map_batches`` that runs the pass's fused steps and returns kept and excluded
rows together (excluded rows marked in private ``_step``/``_reason``/``_detail`` columns); the
result is materialized and split in two. A global step's ``map`` runs as ``map_batches`` too, the
driver streams the mapped tables into ``resolve``, and the decision travels to the next pass
through the object store. Finally the kept rows are written in ``_pos`` order and the exclusions
in (step, ``_pos``) order, through the same writer as the local engine, so both engines write the
same bytes. Ray Data keeps the input order here (``preserve_order``); the order is checked on the
``_pos`` column first and the rows are sorted with ``Dataset.sort`` when it does not hold.
Not resumable: an interrupted Ray run starts over.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from codequarry.cleaners.engine import (
    DEFAULT_BATCH_ROWS,
    EXCL_FIELDS,
    POS,
    PassPlan,
    decision_summary,
    engine_steps,
    plan_passes,
    run_pass,
)
from codequarry.cleaners.engine_input import Chunk, plan_chunks, read_chunk
from codequarry.cleaners.engine_output import OutputDir, run_signature
from codequarry.cleaners.engine_write import write_output
from codequarry.errors import require

_X = ("_step", "_reason", "_detail")
_STEPS: dict[str, list[Any]] = {}
_DECISIONS: dict[str, Any] = {}


def _steps(recipe: Any) -> list[Any]:
    """The engine steps of a recipe, built once per Ray worker process."""
    key = recipe.signature()
    if key not in _STEPS:
        _STEPS[key] = engine_steps(recipe.build())
    return _STEPS[key]


def _read(batch: pa.Table, chunks: list[Chunk], columns: list[str] | None) -> pa.Table:
    tables = [read_chunk(chunks[i], columns) for i in batch["chunk"].to_pylist()]
    return pa.concat_tables(tables) if len(tables) != 1 else tables[0]


def _pass(batch: pa.Table, recipe: Any, plan: PassPlan, decision: Any) -> pa.Table:
    """Run one pass; return kept rows and excluded rows in one table (excluded ones have ``_step`` set)."""
    steps = _steps(recipe)
    if decision is not None:  # an ObjectRef: fetched once per worker process
        import ray

        key = decision.hex()
        if key not in _DECISIONS:
            _DECISIONS.clear()
            _DECISIONS[key] = ray.get(decision)
        decision = _DECISIONS[key]
    result = run_pass(steps, plan, batch, decision)
    kept = result.kept
    n = kept.num_rows
    parts = [kept.append_column("_step", pa.nulls(n, pa.int32())).append_column("_reason", pa.nulls(n, pa.string()))
             .append_column("_detail", pa.nulls(n, pa.string()))]
    schema = parts[0].schema
    for idx in sorted(result.excluded):
        x = result.excluded[idx]
        cols = []
        for f in schema:
            if f.name in x.column_names:
                col = x.column(f.name)
                cols.append(col if col.type == f.type else col.cast(f.type))
            else:
                cols.append(pa.nulls(x.num_rows, f.type))
        parts.append(pa.Table.from_arrays(cols, schema=schema))
    return pa.concat_tables(parts) if len(parts) > 1 else parts[0]


def _live(batch: pa.Table) -> pa.Table:
    return batch.filter(pc.is_null(batch["_step"])).drop_columns(list(_X))


def _excluded(batch: pa.Table) -> pa.Table:
    rows = batch.filter(pc.is_valid(batch["_step"]))
    cols = []
    for f in EXCL_FIELDS:
        col = rows.column(f.name) if f.name in rows.column_names else pa.nulls(rows.num_rows, f.type)
        cols.append(col if col.type == f.type else col.cast(f.type))
    return pa.Table.from_arrays(cols, schema=pa.schema(list(EXCL_FIELDS)))


def _of_step(batch: pa.Table, step_index: int) -> pa.Table:
    return batch.filter(pc.equal(batch["_step"], step_index))


def _in_order(ds: Any, keys: list[str], batch_rows: int) -> Iterator[pa.Table]:
    """Batches in ``keys`` order: as they come when Ray kept the input order (checked first), else sorted."""
    last = None
    ordered = True
    for batch in ds.select_columns(keys).iter_batches(batch_size=None, batch_format="pyarrow"):
        rows = list(zip(*(batch[k].to_pylist() for k in keys)))
        if rows and ((last is not None and rows[0] <= last) or any(b <= a for a, b in zip(rows, rows[1:]))):
            ordered = False
            break
        if rows:
            last = rows[-1]
    source = ds if ordered else ds.sort(keys)
    yield from source.iter_batches(batch_size=batch_rows, batch_format="pyarrow")


def _map(batch: pa.Table, recipe: Any, step_index: int) -> pa.Table:
    return _steps(recipe)[step_index].map(batch)


def run(pairs: Any, out_dir: str | os.PathLike[str], recipe: Any, *, workers: int = 1, overwrite: bool = False,
        batch_rows: int = DEFAULT_BATCH_ROWS) -> dict[str, Any]:
    """Clean ``pairs`` into ``out_dir`` on Ray Data (a local cluster of ``workers`` CPUs unless one is running)."""
    from codequarry.pairs import MANIFEST_NAME

    ray = require("ray", extra="ray")
    require("ray.data", extra="ray")
    chunks = plan_chunks(pairs, batch_rows)
    out = OutputDir(out_dir)
    state = out.prepare(run_signature(recipe, pairs, batch_rows), overwrite=overwrite, resumable=False)
    if state == "done":
        return json.loads((out.path / MANIFEST_NAME).read_text(encoding="utf-8"))
    started = False
    try:
        if not ray.is_initialized():
            if os.environ.get("RAY_ADDRESS"):
                ray.init(log_to_driver=False)
            else:
                ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
            started = True
        try:
            manifest = _run(ray, pairs, out, recipe, chunks, batch_rows)
        except BaseException:
            out.release()
            shutil.rmtree(out.work, ignore_errors=True)  # a Ray run is not resumable: leave nothing half-done
            raise
        out.publish()
    finally:
        out.release()
        if started:
            ray.shutdown()
    return manifest


def _run(ray: Any, pairs: Any, out: OutputDir, recipe: Any, chunks: list[Chunk], batch_rows: int) -> dict[str, Any]:
    import ray.data

    from codequarry.progress import _disabled

    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = True
    ctx.enable_progress_bars = _disabled() is False
    steps = engine_steps(recipe.build())
    passes = plan_passes(steps)
    input_rows = sum(c.length for c in chunks)
    excluded_parts: list[Any] = []
    decision_ref: Any = None
    summaries: dict[int, Any] = {}
    ds = None
    if chunks:
        ds = ray.data.from_items([{"chunk": c.index} for c in chunks], override_num_blocks=len(chunks))
        ds = ds.map_batches(_read, fn_args=(chunks, None), batch_size=1, batch_format="pyarrow")
    for plan in passes:
        if plan.writes_rows and ds is not None:
            both = ds.map_batches(_pass, fn_args=(recipe, plan, decision_ref), batch_size=None,
                                  batch_format="pyarrow").materialize()
            excluded_parts.append((plan, both.map_batches(_excluded, batch_size=None, batch_format="pyarrow")))
            ds = both.map_batches(_live, batch_size=None, batch_format="pyarrow")  # fused into the next pass
        if plan.map is not None:
            step = steps[plan.map]
            scratch = out.work / f"resolve-{plan.map:03d}"
            shutil.rmtree(scratch, ignore_errors=True)
            scratch.mkdir(parents=True)
            if ds is None:
                mapped: Iterator[pa.Table] = iter(())
            else:
                mapped = ds.map_batches(_map, fn_args=(recipe, plan.map), batch_size=None,
                                        batch_format="pyarrow").iter_batches(batch_size=None, batch_format="pyarrow")
            decision = step.resolve(mapped, scratch)
            summaries[plan.map] = decision_summary(step, decision)
            decision_ref = ray.put(decision)
            shutil.rmtree(scratch, ignore_errors=True)

    live = ds.materialize() if ds is not None else None
    parts = [(plan, part.materialize()) for plan, part in excluded_parts]

    def kept() -> Iterator[pa.Table]:
        if live is not None and live.count():
            yield from _in_order(live, [POS], batch_rows)

    def excluded() -> Iterator[pa.Table]:
        for plan, part in parts:
            if not part.count():
                continue
            for idx in plan.step_indices:
                rows = part.map_batches(_of_step, fn_args=(idx,), batch_size=None, batch_format="pyarrow")
                yield from _in_order(rows.materialize(), [POS], batch_rows)

    return write_output(out.staging, pairs=pairs, recipe=recipe, steps=steps, input_rows=input_rows,
                        kept_tables=kept(), excluded_tables=excluded(), measured=None, summaries=summaries,
                        batch_rows=batch_rows)
