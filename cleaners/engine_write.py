"""The final write of a clean (both engines): rows in input order, exclusions, per-step counts, manifest, report."""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from codequarry.cleaners.base import Step
from codequarry.cleaners.engine import DEFAULT_BATCH_ROWS, POS, SPLIT
from codequarry.schema import CORE_FIELDS


def step_counts(steps: list[Step], input_rows: int, excluded: dict[int, Counter[str]],
                measured: dict[int, dict[str, int]] | None = None,
                summaries: dict[int, Any] | None = None) -> list[dict[str, Any]]:
    """Per step: in, kept, excluded, reasons; checks in = kept + excluded and, if given, the measured counts."""
    out = []
    n = input_rows
    for i, step in enumerate(steps):
        reasons = excluded.get(i, Counter())
        ex = sum(reasons.values())
        kept = n - ex
        if kept < 0:
            raise RuntimeError(f"step {step.name!r}: {ex} rows excluded out of {n}")
        if measured is not None:
            m = measured.get(i, {"in": 0, "kept": 0, "excluded": 0})
            if (m["in"], m["kept"], m["excluded"]) != (n, kept, ex):
                raise RuntimeError(f"step {step.name!r}: counted in={m['in']} kept={m['kept']} excluded={m['excluded']} "
                                   f"but the exclusions say in={n} kept={kept} excluded={ex}")
        entry = {"name": step.name, "kind": step.kind, "params": step.param_dict(), "in": n, "kept": kept,
                 "excluded": ex, "reasons": dict(sorted(reasons.items()))}
        if summaries and summaries.get(i) is not None:
            entry["summary"] = summaries[i]
        out.append(entry)
        n = kept
    return out


def write_output(
    staging: Path,
    *,
    pairs: Any,
    recipe: Any,
    steps: list[Step],
    input_rows: int,
    kept_tables: Iterable[pa.Table],
    excluded_tables: Iterable[pa.Table],
    measured: dict[int, dict[str, int]] | None = None,
    summaries: dict[int, Any] | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    progress_total: int | None = None,
) -> dict[str, Any]:
    """Write the cleaned pairs dir, exclusions, manifest and report into ``staging``; return the manifest.

    ``kept_tables`` arrive in ``_pos`` order; ``excluded_tables`` in (step, ``_pos``) order.
    """
    from codequarry.cleaners.report import write_report
    from codequarry.pairs import PairsWriter
    from codequarry.progress import progress

    if staging.exists():
        shutil.rmtree(staging)
    params = {"recipe": recipe.name, "recipe_origin": recipe.origin, "batch_rows": batch_rows}
    writer = PairsWriter(staging, created_by="codequarry clean", sources=pairs.manifest.get("sources", []),
                         params=params)
    try:
        writer.add_read(input_rows)
        last = -1
        bar = progress(total=progress_total, desc="clean: write", unit="batch")
        for table in rebatch(kept_tables, batch_rows, on_input=lambda: bar.update(1)):
            if table.num_rows == 0:
                continue
            pos = table[POS].to_numpy()
            if pos[0] <= last or (len(pos) > 1 and bool((pos[1:] <= pos[:-1]).any())):
                raise RuntimeError("rows reached the writer out of input order")
            last = int(pos[-1])
            _write_by_split(writer, table)
        bar.close()
        excluded: dict[int, Counter[str]] = {}
        last_key = (-1, -1)
        for table in excluded_tables:
            if table.num_rows == 0:
                continue
            idx = table["_step"].to_pylist()
            pos_l = table[POS].to_pylist()
            for key in zip(idx, pos_l):
                if key <= last_key:
                    raise RuntimeError("exclusions reached the writer out of (step, position) order")
                last_key = key
            for i, r in zip(idx, table["_reason"].to_pylist()):
                excluded.setdefault(i, Counter())[r] += 1
            writer.exclude_arrow(_exclusion_records(table, steps))
        counts = step_counts(steps, input_rows, excluded, measured, summaries)
        if counts[-1]["kept"] != writer.written:
            raise RuntimeError(f"the last step kept {counts[-1]['kept']} rows but {writer.written} were written")
        writer.set_manifest("recipe", recipe.resolved())
        writer.set_manifest("steps", counts)
        writer.set_manifest("input", {"path": str(Path(pairs.path).resolve()), "fingerprint": pairs.fingerprint,
                                      "rows": input_rows})
        writer.set_manifest("report", {"markdown": "report.md", "plot": ["report.png", "report.svg"]})
        manifest = writer.close()
    except BaseException:
        writer.abort()
        raise
    write_report(staging, manifest)
    return manifest


def rebatch(tables: Iterable[pa.Table], rows: int, on_input: Callable[[], Any] | None = None) -> Iterator[pa.Table]:
    """The same rows in tables of exactly ``rows`` rows (the last may be shorter), each one contiguous chunk,
    so what the writer sees (and the byte counts it records) does not depend on how an engine batched."""
    buffer: list[pa.Table] = []
    held = 0
    for table in tables:
        if on_input is not None:
            on_input()
        if table.num_rows == 0:
            continue
        buffer.append(table)
        held += table.num_rows
        while held >= rows:
            whole = pa.concat_tables(buffer, promote_options="permissive") if len(buffer) > 1 else buffer[0]
            yield whole.slice(0, rows).combine_chunks()
            rest = whole.slice(rows)
            buffer, held = ([rest] if rest.num_rows else []), rest.num_rows
    if held:
        whole = pa.concat_tables(buffer, promote_options="permissive") if len(buffer) > 1 else buffer[0]
        yield whole.combine_chunks()


def _write_by_split(writer: Any, table: pa.Table) -> None:
    private = [n for n in table.column_names if n.startswith("_")]
    splits = table[SPLIT]
    if splits.null_count:
        raise RuntimeError("a row reached the writer without a split")
    body = table.drop_columns([*private, SPLIT])
    values = splits.unique().to_pylist()
    if len(values) == 1:
        writer.write(body, split=values[0])
        return
    for s in values:
        writer.write(body.filter(pc.equal(splits, s)), split=s)


def _exclusion_records(table: pa.Table, steps: list[Step]) -> pa.Table:
    names = pa.array([steps[i].name for i in table["_step"].to_pylist()], pa.string())
    locator = pc.binary_join_element_wise(pa.scalar("input row "), pc.cast(table[POS], pa.string()), "")
    cols = {"step": names, "reason": table["_reason"], "detail": table["_detail"], "locator": locator,
            "split": table[SPLIT]}
    for f in CORE_FIELDS:
        cols[f.name] = table[f.name]
    return pa.table(cols)

