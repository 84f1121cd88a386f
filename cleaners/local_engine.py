"""The local engine: worker processes over input chunks, resumable after a crash or ``kill -9``.

Work dir (inside the output folder, deleted when the clean finishes)::

    .codequarry-work/
      plan.json                       recipe, input fingerprint, batch size: a rerun must match it
      pass-PP/cCCCCCC.kept.arrow      rows a pass kept for chunk C (Arrow IPC, lz4)
      pass-PP/cCCCCCC.xSSS.arrow      rows step S excluded from chunk C
      pass-PP/cCCCCCC.map.arrow       what the next global step mapped from chunk C
      pass-PP/cCCCCCC.done            completion marker with the per-step counts (written last)
      decision-SSS.json               a global step's resolved decision, as data (decision_store; never pickle)
      decision-SSS.json.mN.arrow      its large per-row dicts as Arrow files that workers memory-map (decision_map)
      write/stats-cCCCCCC.json        the final write: a chunk's statistics (rows and bytes per stream)
      write/shard-SSSSSS.json         the final write: the account of an output shard already written
      final/ , final.done             the finished pairs dir before it is moved into place

Every file is written to a temporary name and renamed, and a chunk counts as done only when its
marker exists, so a rerun after a crash redoes exactly the unfinished chunks; the final write
(``engine_write``, the same as the Ray engine's) plans its shards from the rows alone and writes
each missing one, so the output bytes are those of an uninterrupted run.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from codequarry.cleaners import decision_store
from codequarry.cleaners.engine import (
    DEFAULT_BATCH_ROWS,
    PassPlan,
    decision_summary,
    engine_steps,
    pass_label,
    plan_passes,
    run_pass,
)
from codequarry.cleaners.engine_input import Chunk, plan_chunks, read_chunk
from codequarry.cleaners.engine_output import OutputDir, run_signature
from codequarry.cleaners.engine_write import write_output
from codequarry.cleaners.output_plan import Layout
from codequarry.errors import CodequarryError, one_line

_IPC_OPTIONS = None


def _ipc_options() -> pa.ipc.IpcWriteOptions:
    global _IPC_OPTIONS
    if _IPC_OPTIONS is None:
        _IPC_OPTIONS = pa.ipc.IpcWriteOptions(compression="lz4")
    return _IPC_OPTIONS


def write_arrow(path: Path, table: pa.Table) -> None:
    """Write an Arrow IPC file atomically (temporary name, then rename)."""
    tmp = path.with_name(f"{path.name}.tmp.{os.getpid()}")
    with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, table.schema, options=_ipc_options()) as w:
        w.write_table(table)
    os.replace(tmp, path)


def read_arrow(path: Path) -> pa.Table:
    """Read an Arrow IPC file of the work dir; a missing or damaged one is a clear error (start over)."""
    try:
        with pa.memory_map(str(path), "r") as source:
            return pa.ipc.open_file(source).read_all()
    except FileNotFoundError:
        problem = "is missing"
    except (OSError, pa.ArrowException) as exc:
        problem = f"is damaged ({one_line(exc)})"
    raise CodequarryError(f"{path}: this file of the unfinished clean {problem}; pass --overwrite to start over")


def _read_json(path: Path) -> Any:
    """Read a JSON file of the work dir; a missing or damaged one is a clear error (start over)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise CodequarryError(f"{path}: this file of the unfinished clean cannot be read ({exc}); "
                              "pass --overwrite to start over") from None


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(f"{path.name}.tmp.{os.getpid()}")
    tmp.write_text(json.dumps(data, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


class _Work:
    """Paths and per-chunk work of one run; lives in the parent and (rebuilt) in every worker."""

    def __init__(self, work: Path, recipe: Any, chunks: list[Chunk]) -> None:
        self.work = work
        self.recipe = recipe
        self.steps = engine_steps(self.recipe.build())
        self.passes = plan_passes(self.steps)
        self.chunks = chunks
        self._decisions: dict[int, Any] = {}

    def pass_dir(self, k: int) -> Path:
        return self.work / f"pass-{k:02d}"

    def kept_path(self, k: int, c: int) -> Path:
        return self.pass_dir(k) / f"c{c:06d}.kept.arrow"

    def excl_path(self, k: int, c: int, step: int) -> Path:
        return self.pass_dir(k) / f"c{c:06d}.x{step:03d}.arrow"

    def map_path(self, k: int, c: int) -> Path:
        return self.pass_dir(k) / f"c{c:06d}.map.arrow"

    def marker(self, k: int, c: int) -> Path:
        return self.pass_dir(k) / f"c{c:06d}.done"

    def decision_path(self, step: int) -> Path:
        return self.work / f"decision-{step:03d}.json"

    def summary_path(self, step: int) -> Path:
        return self.work / f"decision-{step:03d}.summary.json"

    def summaries(self) -> dict[int, Any]:
        out = {}
        for plan in self.passes:
            if plan.map is not None:
                data = _read_json(self.summary_path(plan.map))
                if not isinstance(data, dict) or "summary" not in data:
                    raise CodequarryError(f"{self.summary_path(plan.map)}: not a decision summary; "
                                          "pass --overwrite to start over")
                out[plan.map] = data["summary"]
        return out

    def source_pass(self, plan: PassPlan) -> int | None:
        """The latest earlier pass that wrote rows (None: read the input)."""
        for p in reversed(self.passes[: plan.index]):
            if p.writes_rows:
                return p.index
        return None

    def decision(self, step: int) -> Any:
        """Step ``step``'s decision, loaded once; only the latest one is kept.

        A pass applies one decision, so an earlier pass's decision (which can hold an entry per
        row) is dropped before the next is loaded: a worker's memory then does not add up the
        decisions of every global step of the recipe.
        """
        if step not in self._decisions:
            self._decisions.clear()
            self._decisions[step] = decision_store.load(self.decision_path(step), self.steps[step])
        return self._decisions[step]

    def read_source(self, plan: PassPlan, c: int) -> pa.Table:
        src = self.source_pass(plan)
        if src is not None:
            return read_arrow(self.kept_path(src, c))
        columns = None
        if not plan.writes_rows and plan.map is not None:
            wanted = getattr(self.steps[plan.map], "map_columns", None)
            columns = list(wanted) if wanted is not None else None
        return read_chunk(self.chunks[c], columns)

    def run_chunk(self, k: int, c: int) -> dict[str, Any]:
        """Run pass k on chunk c and write its files, marker last; return its counts."""
        plan = self.passes[k]
        batch = self.read_source(plan, c)
        decision = self.decision(plan.apply) if plan.apply is not None else None
        result = run_pass(self.steps, plan, batch, decision)
        if plan.writes_rows:
            write_arrow(self.kept_path(k, c), result.kept)
        for idx, table in result.excluded.items():
            write_arrow(self.excl_path(k, c, idx), table)
        if result.mapped is not None:
            write_arrow(self.map_path(k, c), result.mapped)
        info = {"counts": {str(i): v for i, v in result.counts.items()}, "excluded": sorted(result.excluded),
                "map_seconds": result.map_seconds}
        _write_json(self.marker(k, c), info)
        return info


# -- worker processes ------------------------------------------------------------------------

_WORKER: _Work | None = None


def _init_worker(work: str, recipe: Any, chunks: list[Chunk], parent: int) -> None:
    global _WORKER
    os.environ.setdefault("CODEQUARRY_PROGRESS", "0")
    _WORKER = _Work(Path(work), recipe, chunks)

    def watchdog() -> None:  # an orphaned worker (its parent was killed) exits instead of writing on
        while True:
            if os.getppid() != parent:
                os._exit(1)
            time.sleep(0.5)

    threading.Thread(target=watchdog, daemon=True).start()


def _in_worker(fn: Any, args: tuple[Any, ...]) -> Any:
    if _WORKER is None:
        raise RuntimeError("worker not initialised")
    return fn(_WORKER, *args)


def _pass_job(work: _Work, k: int, c: int) -> dict[str, Any]:
    return work.run_chunk(k, c)


class _Pool:
    """Where a run's jobs run: inline with one worker, else in worker processes started on first use and shared
    by the passes and the final write."""

    def __init__(self, work: _Work, workers: int) -> None:
        self.work = work
        self.workers = workers
        self._executor: Any = None

    def run(self, fn: Any, calls: list[tuple[Any, ...]], on_done: Any = None) -> None:
        """``fn(work, *args)`` for every ``args`` in ``calls``; ``on_done()`` after each."""
        if self.workers == 1:
            for args in calls:
                fn(self.work, *args)
                if on_done is not None:
                    on_done()
            return
        from concurrent.futures import as_completed

        if self._executor is None:
            self._executor = _executor(self.work, self.workers)
        futures = [self._executor.submit(_in_worker, fn, args) for args in calls]
        try:
            for fut in as_completed(futures):
                fut.result()
                if on_done is not None:
                    on_done()
        except BaseException:
            for f in futures:
                f.cancel()
            raise

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None


# -- the driver -------------------------------------------------------------------------------


def run(pairs: Any, out_dir: str | os.PathLike[str], recipe: Any, *, workers: int = 1, overwrite: bool = False,
        batch_rows: int = DEFAULT_BATCH_ROWS, timings: dict[str, Any] | None = None,
        layout: Layout | None = None) -> dict[str, Any]:
    """Clean ``pairs`` into ``out_dir`` with ``recipe`` on ``workers`` processes; resumes an interrupted run.

    ``timings``, when given, is filled with seconds per pass (wall), per step (summed over batches,
    in whichever process ran them), per resolve, and for the final write. ``layout``: shard and row-group
    sizes of the output (``output_plan.Layout``; the defaults unless a test makes them small).
    """
    from codequarry.pairs import MANIFEST_NAME
    from codequarry.storage import location

    if workers < 1:
        raise CodequarryError(f"--workers must be at least 1, got {workers}")
    chunks = plan_chunks(pairs, batch_rows)
    out = OutputDir(out_dir)
    state = out.prepare(run_signature(recipe, pairs, batch_rows), overwrite=overwrite, resumable=True)
    if state == "done":
        return json.loads((out.path / MANIFEST_NAME).read_text(encoding="utf-8"))
    try:
        work = _Work(out.work, recipe, chunks)
        if not (out.work / "final.done").exists():
            _remove_tmp(out.work)
            pool = _Pool(work, workers)
            try:
                _run_passes(work, pool, timings if timings is not None else {})
                pool.close()  # the write starts fresh workers: a pass's decisions and buffers do not add to its memory
                started = time.perf_counter()
                manifest = write_output(work, location(out.staging), lambda kind, calls: _write_jobs(pool, kind, calls),
                                        pairs=pairs, recipe=recipe, batch_rows=batch_rows, layout=layout)
                if timings is not None:
                    timings["write"] = time.perf_counter() - started
            except Exception as exc:
                from concurrent.futures.process import BrokenProcessPool

                if isinstance(exc, BrokenProcessPool):
                    raise CodequarryError(
                        "a worker process died (out of memory or killed); rerun the same command to resume, perhaps "
                        "with fewer --workers or a smaller --batch-rows. (Calling clean() from a script with workers "
                        "> 1? Put the call under `if __name__ == \"__main__\":`, as multiprocessing requires.)") from exc
                raise
            finally:
                pool.close()
        else:
            manifest = None
        out.publish()
    finally:
        out.release()
    if manifest is None:
        manifest = json.loads((out.path / MANIFEST_NAME).read_text(encoding="utf-8"))
    return manifest


def _write_jobs(pool: _Pool, kind: str, calls: list[tuple[Any, ...]]) -> None:
    """The final write's jobs (``output_shards.run_job``) on the run's pool, with a progress bar."""
    from codequarry.cleaners.output_shards import run_job
    from codequarry.progress import progress

    if not calls:
        return
    bar = progress(total=len(calls), desc=f"clean: write ({'chunk statistics' if kind == 'stats' else 'shards'})",
                   unit="job")
    pool.run(run_job, [(kind, args) for args in calls], on_done=bar.update)
    bar.close()


def _remove_tmp(work: Path) -> None:
    for p in work.rglob("*.tmp.*"):
        p.unlink(missing_ok=True)


def _run_passes(work: _Work, pool: _Pool, timings: dict[str, Any]) -> None:
    """Every pass, skipping finished chunks and decisions; fills ``timings`` (per pass, resolve and step)."""
    from codequarry.progress import progress

    timings.setdefault("passes", [])
    timings.setdefault("resolve", {})
    for plan in work.passes:
        started = time.perf_counter()
        work.pass_dir(plan.index).mkdir(parents=True, exist_ok=True)
        todo = [c.index for c in work.chunks if not work.marker(plan.index, c.index).exists()]
        if todo:
            label = pass_label(work.steps, plan)
            bar = progress(total=len(work.chunks), initial=len(work.chunks) - len(todo),
                           desc=f"clean pass {plan.index + 1}/{len(work.passes)} [{label}]", unit="batch")
            pool.run(_pass_job, [(plan.index, c) for c in todo], on_done=bar.update)
            bar.close()
        timings["passes"].append({"pass": plan.index, "steps": pass_label(work.steps, plan),
                                  "seconds": time.perf_counter() - started})
        if plan.map is not None and not work.decision_path(plan.map).exists():
            started = time.perf_counter()
            _resolve(work, plan)
            timings["resolve"][work.steps[plan.map].name] = time.perf_counter() - started
        _collect_garbage(work, plan)
    timings["steps"] = marker_counts(work)[1]


def marker_counts(work: Any) -> tuple[dict[int, dict[str, int]], dict[str, float]]:
    """Per-step counts (in / kept / excluded) and seconds summed over the chunk markers of every pass; both engines
    account from these markers, so a resumed or distributed run counts each chunk exactly once."""
    measured: dict[int, dict[str, int]] = {}
    step_seconds: dict[str, float] = {s.name: 0.0 for s in work.steps}
    for plan in work.passes:
        for c in work.chunks:
            path = work.marker(plan.index, c.index)
            info = _read_json(path)
            try:
                for i, cnt in info["counts"].items():
                    m = measured.setdefault(int(i), {"in": 0, "kept": 0, "excluded": 0})
                    for key in m:
                        m[key] += int(cnt[key])
                    step_seconds[work.steps[int(i)].name] += float(cnt.get("seconds", 0.0))
                if plan.map is not None:
                    step_seconds[work.steps[plan.map].name] += float(info.get("map_seconds", 0.0))
            except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
                raise CodequarryError(f"{path}: not a chunk marker of this clean ({type(exc).__name__}: {exc}); "
                                      "pass --overwrite to start over") from None
    return measured, step_seconds


def _executor(work: _Work, workers: int) -> Any:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    method = os.environ.get("CODEQUARRY_MP_START", "spawn")
    ctx = multiprocessing.get_context(method)
    return ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker,
                               initargs=(str(work.work), work.recipe, work.chunks, os.getpid()))


def _resolve(work: _Work, plan: PassPlan) -> None:
    from codequarry.progress import progress

    if plan.map is None:
        raise RuntimeError(f"pass {plan.index} maps no global step")
    step = work.steps[plan.map]
    scratch = work.work / f"resolve-{plan.map:03d}"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)

    def mapped() -> Iterator[pa.Table]:
        for c in progress(work.chunks, desc=f"clean: {step.name} resolve", unit="batch"):
            yield read_arrow(work.map_path(plan.index, c.index))

    decision = step.resolve(mapped(), scratch)
    _write_json(work.summary_path(plan.map), {"summary": decision_summary(step, decision)})
    decision_store.save(work.decision_path(plan.map), step, decision, compact=True)  # large dicts as Arrow files
    shutil.rmtree(scratch, ignore_errors=True)


def _collect_garbage(work: _Work, plan: PassPlan) -> None:
    """Delete intermediate files no later pass needs (map files once decided, rows once re-read)."""
    if plan.map is not None and work.decision_path(plan.map).exists():
        for c in work.chunks:
            work.map_path(plan.index, c.index).unlink(missing_ok=True)
    src = work.source_pass(plan)
    if src is not None and plan.writes_rows and all(work.marker(plan.index, c.index).exists() for c in work.chunks):
        for c in work.chunks:
            work.kept_path(src, c.index).unlink(missing_ok=True)
