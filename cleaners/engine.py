"""What every engine shares: the pass plan, the per-batch runner, the output folder and the final write.

A recipe runs as *passes*. Row-local steps (filters, annotators, transforms) between two global
steps are fused into one pass over each batch; a global step splits the work: its ``map`` ends
one pass, its ``resolve`` runs once in the driver, its ``apply`` starts the next pass. The engine
always runs one step of its own first, ``unique_id``: a repeated row id is excluded (reason
``duplicate_id``; the copy in the most held-out split is kept, then the first in input order), so
ids are unique for every later step.

Batches carry a private ``_pos`` column (the row's position in the input's canonical order); the
output is written in ``_pos`` order through one ``PairsWriter``, and exclusions in (step, ``_pos``)
order, so the bytes do not depend on the engine, the worker count or the batch size.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
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
WORK_DIR = ".codequarry-work"
DEFAULT_BATCH_ROWS = 10_000
REPORT_FILES = ("report.md", "report.png", "report.svg")
#: What a finished clean moves from its staging folder into the output folder (manifest last).
PUBLISHED = ("data", "exclusions", "README.md", *REPORT_FILES, "codequarry.json")
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
        ids = batch["id"].to_pylist()
        pos = batch[POS].to_pylist()
        keep = [decision.get(i, p) == p for i, p in zip(ids, pos)]
        if all(keep):
            return StepOutput(kept=batch)
        drop = [i for i, k in enumerate(keep) if not k]
        return StepOutput(kept=batch.filter(pa.array(keep)), dropped=batch.take(drop),
                          reasons=("duplicate_id",) * len(drop),
                          details=tuple(f"id {ids[i]!r} is kept at input row {decision[ids[i]]}" for i in drop))


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


# --------------------------------------------------------------------------------------------
# input


@dataclass(frozen=True)
class Chunk:
    """A slice of one input shard: the unit of work (and of resumption)."""

    index: int
    path: str
    row_group: int
    offset: int
    length: int
    split: str
    start: int  # position of its first row in the input's canonical order


def plan_chunks(pairs: Any, batch_rows: int) -> list[Chunk]:
    """Cut the input into chunks of at most ``batch_rows`` rows, in canonical order (config, split, shard)."""
    import pyarrow.parquet as pq

    if batch_rows < 1:
        raise CodequarryError(f"batch size must be at least 1 row, got {batch_rows}")
    chunks: list[Chunk] = []
    pos = 0
    for config, split in pairs.parts():
        for path in pairs.files(split=split, config=config):
            meta = pq.read_metadata(path)
            for rg in range(meta.num_row_groups):
                n = meta.row_group(rg).num_rows
                for off in range(0, n, batch_rows):
                    length = min(batch_rows, n - off)
                    chunks.append(Chunk(len(chunks), str(path), rg, off, length, split, pos))
                    pos += length
    return chunks


def check_input_schema(pairs: Any) -> None:
    names = pairs.schema.names
    bad = [n for n in names if n == SPLIT or n.startswith("_")]
    if bad:
        raise CodequarryError(f"{pairs.path}: column(s) {bad} clash with the cleaner's own columns "
                              f"({SPLIT!r} and names starting with '_'); rename them in the input")


_RG_CACHE: dict[str, Any] = {}


def read_chunk(chunk: Chunk, columns: list[str] | None = None) -> pa.Table:
    """The rows of a chunk with ``split`` and ``_pos`` columns (one row group cached per process)."""
    import pyarrow.parquet as pq

    key = (chunk.path, chunk.row_group, tuple(columns) if columns else None)
    table = _RG_CACHE.get("table") if _RG_CACHE.get("key") == key else None
    if table is None:
        _RG_CACHE.clear()
        table = pq.ParquetFile(chunk.path).read_row_group(chunk.row_group, columns=columns)
        _RG_CACHE.update(key=key, table=table)
    part = table.slice(chunk.offset, chunk.length)
    part = part.append_column(SPLIT, pa.array([chunk.split] * part.num_rows, pa.string()))
    return part.append_column(POS, pa.array(range(chunk.start, chunk.start + part.num_rows), pa.int64()))


# --------------------------------------------------------------------------------------------
# the output folder: refuse to mix runs, lock, publish atomically


def decision_summary(step: Step, decision: Any) -> Any:
    """A global step's JSON-ready summary of its decision (None when it gives none)."""
    fn = getattr(step, "summary", None)
    if fn is None:
        return None
    summary = fn(decision)
    return json.loads(json.dumps(summary, default=str, sort_keys=True)) if summary is not None else None


def run_signature(recipe: Any, pairs: Any, batch_rows: int) -> dict[str, Any]:
    """What a resumable run must match: recipe, input (path and fingerprint) and batch size."""
    from codequarry import __version__

    return {"recipe": recipe.resolved(), "recipe_sha256": recipe.signature(),
            "input": {"path": str(Path(pairs.path).resolve()), "fingerprint": pairs.fingerprint},
            "batch_rows": batch_rows, "codequarry_version": __version__}


class OutputDir:
    """The output folder of a clean: its work dir, lock, and the final move into place."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.work = self.path / WORK_DIR
        self._lock_fh: Any = None

    def prepare(self, signature: dict[str, Any], *, overwrite: bool, resumable: bool) -> str:
        """Return 'fresh', 'resume' or 'done'; refuse to mix a different recipe or input."""
        from codequarry.pairs import MANIFEST_NAME

        p = self.path
        if p.exists() and not p.is_dir():
            raise CodequarryError(f"output path {p} exists and is not a folder")
        manifest_path = p / MANIFEST_NAME
        if self.work.is_dir():
            self._lock()  # refuses while another clean writes here; held from now on
            if not self._read_signature() and not (self.work / "final.done").exists():
                self._reset_work()  # killed before its plan was written: nothing was done yet
        shutil.rmtree(p / (WORK_DIR + ".trash"), ignore_errors=True)  # left by a run killed while tidying up
        if overwrite:
            self._wipe()
        elif self.work.is_dir() and self._read_signature():
            old = self._read_signature()
            diff = _signature_diff(old, signature)
            if diff:
                raise CodequarryError(
                    f"{p} holds an unfinished clean with a different {diff}; rerun the original command to "
                    "resume it, or pass --overwrite to start over")
            if not resumable:
                raise CodequarryError(f"{p} holds an unfinished local-engine clean; rerun it with --engine local "
                                      "to resume it, or pass --overwrite to start over")
            return "resume"
        elif manifest_path.exists():
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
            done_input = {k: manifest.get("input", {}).get(k) for k in ("path", "fingerprint")}
            diff = _signature_diff({"recipe_sha256": _recipe_sha(manifest.get("recipe")), "input": done_input},
                                   signature, keys=("recipe_sha256", "input"))
            if diff:
                raise CodequarryError(f"{p} already holds a clean made with a different {diff}; "
                                      "choose another --out or pass --overwrite")
            if self.work.is_dir():  # an empty work dir left next to a finished output
                self.release()
                shutil.rmtree(self.work, ignore_errors=True)
            return "done"
        elif p.exists() and any(x.name != WORK_DIR for x in p.iterdir()):
            raise CodequarryError(f"output folder {p} is not empty; choose another --out or pass --overwrite")
        self._reset_work()
        _atomic_write_text(self.work / "plan.json", json.dumps(signature, indent=1, sort_keys=True))
        return "fresh"

    def _reset_work(self) -> None:
        """An empty, locked work dir (the lock is taken before anything in it is removed)."""
        if self.work.is_dir():
            self._lock()
            for child in self.work.iterdir():
                if child.name != "lock":
                    shutil.rmtree(child) if child.is_dir() else child.unlink()
        else:
            self.work.mkdir(parents=True)
            self._lock()

    def _wipe(self) -> None:
        from codequarry.pairs import MANIFEST_NAME

        p = self.path
        if not p.exists():
            return
        ours = self.work.is_dir() or (p / MANIFEST_NAME).exists()
        if any(p.iterdir()) and not ours:
            raise CodequarryError(f"refusing to overwrite {p}: it is not empty and holds no codequarry output")
        if self.work.is_dir():
            self._reset_work()
        for name in PUBLISHED:
            target = p / name
            if target.is_dir():
                shutil.rmtree(target)
            else:
                target.unlink(missing_ok=True)

    def _read_signature(self) -> dict[str, Any]:
        try:
            return json.loads((self.work / "plan.json").read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return {}

    def _lock(self) -> None:
        if self._lock_fh is not None:
            return
        self.work.mkdir(parents=True, exist_ok=True)
        fh = open(self.work / "lock", "a+")  # noqa: SIM115 - held for the whole run
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            raise CodequarryError(f"another `codequarry clean` is writing to {self.path}; wait for it or choose another --out") from None
        self._lock_fh = fh

    @property
    def staging(self) -> Path:
        return self.work / "final"

    def publish(self) -> None:
        """Move the finished staging folder into place (manifest last), then delete the work dir."""
        marker = self.work / "final.done"
        if not marker.exists():
            _atomic_write_text(marker, "")
        for name in PUBLISHED:
            src = self.staging / name
            if not src.exists():
                continue
            dst = self.path / name
            if dst.is_dir():
                shutil.rmtree(dst)
            elif dst.exists():
                dst.unlink()
            os.replace(src, dst)
        self.release()
        trash = self.path / (WORK_DIR + ".trash")
        shutil.rmtree(trash, ignore_errors=True)
        os.replace(self.work, trash)
        shutil.rmtree(trash, ignore_errors=True)

    def release(self) -> None:
        if self._lock_fh is not None:
            self._lock_fh.close()
            self._lock_fh = None


def _recipe_sha(resolved: Any) -> str | None:
    if not resolved:
        return None
    import hashlib

    return hashlib.sha256(json.dumps(resolved, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def _signature_diff(old: dict[str, Any], new: dict[str, Any], keys: tuple[str, ...] = ("recipe_sha256", "input",
                                                                                         "batch_rows")) -> str:
    names = {"recipe_sha256": "recipe", "input": "input (path or fingerprint)", "batch_rows": "batch size"}
    diffs = [names[k] for k in keys if old.get(k) != new.get(k)]
    return " and ".join(diffs)


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f"{path.name}.tmp.{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


# --------------------------------------------------------------------------------------------
# the final write (both engines)


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


def iter_concat(parts: Iterable[Iterator[pa.Table]]) -> Iterator[pa.Table]:
    for it in parts:
        yield from it
