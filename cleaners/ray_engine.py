"""The Ray engine (``--engine ray``, ``pip install 'codequarry[ray]'``): the recipe as Ray tasks, the driver kept small.

What runs where:

- **workers** run every pass over every chunk (the local engine's per-chunk work, ``local_engine._Work``:
  read the chunk, apply the previous global step's decision, run the fused row-local steps, map the
  next global step) and write the results into the work dir; a global step decided by one column
  (``unique_id``, ``exact_dedup``) resolves as a shuffle over the workers (``ray_resolve``), near-dedup
  (MinHash) and leakage as a band shuffle (``ray_near_dedup``, ``ray_leakage``: candidates per part,
  verified per chunk, decided by one task), any other one (split) as one task on a worker (reading
  the mapped files, spilling to its scratch folder); the
  decision is saved as data (``decision_store``, never a pickle); finally the output is written by
  the workers straight into its place (``engine_write``, the local engine's final write): one task
  per chunk measures its streams, then one task per planned output shard writes it;
- the **driver** only plans chunks and output shards (from a few numbers per chunk), submits tasks
  (a bounded number in flight), and at the end merges the small per-shard accounts into the
  manifest, card and report. No row passes through it, so its memory does not grow with the row count.

Resumable: the work dir (``.codequarry-work`` in a local output folder) has the local engine's
layout, ``write/`` included (each chunk's statistics, each written shard's account). Every file is
written under a temporary name and renamed, and a chunk counts as done only when its marker
exists, so rerunning the same command after a crash, a killed driver or a lost node redoes only
the unfinished chunks and gives the same fingerprint. A local output dir is published atomically
as the local engine's is. An object-store output (``s3://``, ``gs://``, ``hf://``...) is written in
place, manifest last (the manifest is what makes it a pairs dir); its work dir is then a local
folder, ``$CODEQUARRY_WORK_DIR`` (default: the system temp folder) ``/codequarry-ray-<hash of the URI>``,
which must be shared by all nodes for a multi-node run.

The output is the local engine's, byte for byte: the same shards (planned from the rows alone,
``output_plan``), exclusions, manifest, card and report.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from codequarry.cleaners.engine import DEFAULT_BATCH_ROWS
from codequarry.cleaners.engine_input import Chunk, plan_chunks
from codequarry.cleaners.engine_output import OutputDir, run_signature
from codequarry.errors import CodequarryError, require
from codequarry.storage import Location, location, staging_dir

_WORKS: dict[tuple[str, str, int], Any] = {}


# -- worker side ------------------------------------------------------------------------------


def _work(work_dir: str, recipe: Any, chunks: list[Chunk]) -> Any:
    """The run's ``_Work`` in this worker process (built once per process and run)."""
    from codequarry.cleaners.local_engine import _Work

    os.environ["CODEQUARRY_PROGRESS"] = "0"
    key = (work_dir, recipe.signature(), len(chunks))
    if key not in _WORKS:
        _WORKS.clear()
        _WORKS[key] = _Work(Path(work_dir), recipe, chunks)
    return _WORKS[key]


def _pass_task(work_dir: str, recipe: Any, chunks: list[Chunk], k: int, c: int) -> int:
    _work(work_dir, recipe, chunks).run_chunk(k, c)
    return c


def _resolve_task(work_dir: str, recipe: Any, chunks: list[Chunk], k: int) -> int:
    from codequarry.cleaners.local_engine import _resolve

    work = _work(work_dir, recipe, chunks)
    _resolve(work, work.passes[k])
    return k


def _cut_task(work_dir: str, recipe: Any, chunks: list[Chunk], k: int, c: int, parts: int) -> int:
    from codequarry.cleaners.ray_resolve import cut_chunk

    cut_chunk(_work(work_dir, recipe, chunks), k, c, parts)
    return c


def _part_task(work_dir: str, recipe: Any, chunks: list[Chunk], k: int, p: int, parts: int) -> int:
    from codequarry.cleaners.ray_resolve import resolve_part

    resolve_part(_work(work_dir, recipe, chunks), k, p, parts)
    return p


def _merge_task(work_dir: str, recipe: Any, chunks: list[Chunk], k: int, parts: int) -> int:
    from codequarry.cleaners.ray_resolve import merge_parts

    merge_parts(_work(work_dir, recipe, chunks), k, parts)
    return k


def staged(step: Any) -> Any:
    """The module that resolves ``step`` as a band shuffle (``ray_near_dedup``, ``ray_leakage``), or None."""
    from codequarry.cleaners import ray_leakage, ray_near_dedup

    return next((m for m in (ray_near_dedup, ray_leakage) if m.distributed(step)), None)


def _stage_task(work_dir: str, recipe: Any, chunks: list[Chunk], stage: str, k: int, i: int, parts: int) -> int:
    """One stage of a band-shuffle resolve: ``cut``/``verify`` chunk i, ``pair`` part i, ``decide`` (i unused)."""
    work = _work(work_dir, recipe, chunks)
    module = staged(work.steps[work.passes[k].map])
    if stage == "decide":
        module.decide(work, k, parts)
    else:
        {"cut": module.cut_chunk, "pair": module.pair_part, "verify": module.verify_chunk}[stage](work, k, i, parts)
    return i


def _write_task(work_dir: str, recipe: Any, chunks: list[Chunk], kind: str, args: tuple[Any, ...]) -> str:
    """One job of the final write (a chunk's statistics or one output shard; ``output_shards.run_job``)."""
    from codequarry.cleaners.output_shards import run_job

    run_job(_work(work_dir, recipe, chunks), kind, args)
    return kind


# -- driver -----------------------------------------------------------------------------------


def run(pairs: Any, out_dir: str | os.PathLike[str], recipe: Any, *, workers: int = 1, overwrite: bool = False,
        batch_rows: int = DEFAULT_BATCH_ROWS, source: str | None = None, layout: Any = None,
        timings: dict[str, Any] | None = None) -> dict[str, Any]:
    """Clean ``pairs`` into ``out_dir`` (a path or URI) on Ray: the cluster at ``RAY_ADDRESS`` or one already
    joined, else a local one of ``workers`` CPUs. Resumes an interrupted run of the same command.

    ``source``: the object-store URI ``pairs`` is a checked local copy of; the workers then read their
    chunks from there, so no node needs the driver's copy. ``layout``: the output's shard and row-group sizes
    (``output_plan.Layout``; the defaults unless a test makes them small). ``timings``, when given, is filled as
    the local engine fills it (wall seconds per pass, per resolve, for the final write; per step summed over
    chunks) plus ``stages``: the wall seconds of each stage of a shuffled resolve, all measured on the driver."""
    from codequarry.pairs import MANIFEST_NAME

    ray = require("ray", extra="ray")
    chunks = plan_chunks(pairs, batch_rows)
    if source is not None:
        chunks = _remote_chunks(chunks, Path(pairs.path).resolve(), source)
    dest = location(out_dir)
    signature = run_signature(recipe, pairs, batch_rows)
    if dest.is_local:
        out = OutputDir(dest.root)
    else:
        done = _remote_done(dest, signature, overwrite=overwrite)
        if done is not None:
            return done
        out = OutputDir(staging_dir(dest.uri, "ray"))
    state = out.prepare(signature, overwrite=overwrite, resumable=True)
    if not dest.is_local and state == "fresh" and not overwrite and not dest.is_empty():
        out.release()
        shutil.rmtree(out.path, ignore_errors=True)  # no work dir left behind: a rerun is refused the same way
        raise CodequarryError(f"{dest.uri} is not empty and holds no finished clean; choose another --out or pass "
                              "--overwrite (which replaces its data/ and exclusions/)")
    if state == "done":
        return json.loads((out.path / MANIFEST_NAME).read_text(encoding="utf-8"))
    started = False
    try:
        if not ray.is_initialized():
            if os.environ.get("RAY_ADDRESS"):
                ray.init(log_to_driver=False)
            else:
                # "local": a fresh instance even when another Ray cluster runs on this machine
                start_local_ray(ray, workers)
            started = True
        if dest.is_local:
            target = location(out.staging)
        else:
            target = dest
            if state == "fresh":
                for name in ("data", "exclusions"):
                    dest.delete_dir(name)
        manifest = None
        if not (out.work / "final.done").exists():
            manifest = _run(ray, pairs, out.work, target, recipe, chunks, batch_rows, workers, layout,
                            timings if timings is not None else {})
        if dest.is_local:
            out.publish()
        else:
            out.release()
            shutil.rmtree(out.path, ignore_errors=True)
    finally:
        out.release()
        if started:
            ray.shutdown()
    if manifest is None:  # finished by an earlier run: the published manifest
        raw = (out.path / MANIFEST_NAME).read_bytes() if dest.is_local else dest.read_bytes(MANIFEST_NAME)
        manifest = json.loads(raw)
    return manifest


def _remote_chunks(chunks: list[Chunk], root: Path, source: str) -> list[Chunk]:
    """The chunks of the checked local copy at ``root``, pointed at the object store ``source`` they came from,
    each with the digest of its row group in that copy (the workers check what they read against it)."""
    from codequarry.cleaners.remote_input import row_group_digest

    digests: dict[tuple[str, int], str] = {}
    out = []
    for c in chunks:
        key = (c.path, c.row_group)
        if key not in digests:
            digests[key] = row_group_digest(c.path, c.row_group)
        rel = Path(c.path).resolve().relative_to(root).as_posix()
        out.append(replace(c, path=f"{source}/{rel}", check=digests[key]))
    return out


def start_local_ray(ray: Any, workers: int) -> None:
    """Start a fresh local Ray instance of ``workers`` CPUs whose task workers run at the driver's niceness.

    Ray's task workers call ``nice(worker_niceness)`` (default 15, env ``RAY_worker_niceness``) on start, an
    increment over the raylet's niceness, which the raylet inherits from this process: at 15 they starve on a
    machine running other jobs. A ``RAY_worker_niceness`` the user set is kept; the variable is set only while
    ``ray.init`` starts the raylet, so this process's environment is left as it was."""
    if "RAY_worker_niceness" in os.environ:
        ray.init(address="local", num_cpus=workers, include_dashboard=False, log_to_driver=False)
        return
    os.environ["RAY_worker_niceness"] = "0"
    try:
        ray.init(address="local", num_cpus=workers, include_dashboard=False, log_to_driver=False)
    finally:
        os.environ.pop("RAY_worker_niceness", None)


def _remote_done(dest: Location, signature: dict[str, Any], *, overwrite: bool) -> dict[str, Any] | None:
    """The manifest of a finished clean already at an object-store ``dest`` (None: none, or --overwrite)."""
    from codequarry.cleaners.engine_output import _recipe_sha
    from codequarry.pairs import MANIFEST_NAME

    if overwrite or not dest.exists(MANIFEST_NAME):
        if overwrite and dest.exists(MANIFEST_NAME):
            dest.fs.delete_file(dest.path(MANIFEST_NAME))
        return None
    try:
        manifest = json.loads(dest.read_bytes(MANIFEST_NAME))
    except ValueError:
        manifest = None
    if not isinstance(manifest, dict):
        raise CodequarryError(f"{dest.uri}/{MANIFEST_NAME} is not the manifest of a finished clean; choose another "
                              "--out or pass --overwrite")
    same = (_recipe_sha(manifest.get("recipe")) == signature["recipe_sha256"]
            and (manifest.get("input") or {}).get("fingerprint") == signature["input"]["fingerprint"])
    if not same:
        raise CodequarryError(f"{dest.uri} already holds a clean of another recipe or input; choose another --out "
                              "or pass --overwrite")
    return manifest


def get(ray: Any, refs: Any) -> Any:
    """``ray.get``, with a worker's CodequarryError (bad input, a damaged work dir) raised as itself, so the
    user sees its one-line message rather than Ray's remote traceback."""
    from ray.exceptions import RayTaskError

    try:
        return ray.get(refs)
    except RayTaskError as exc:
        cause = getattr(exc, "cause", None)
        if isinstance(cause, CodequarryError):
            raise cause from None
        raise


def _submit_all(ray: Any, fn: Any, calls: list[tuple[Any, ...]], limit: int) -> None:
    """Run ``fn.remote(*args)`` for every call, at most ``limit`` in flight (the driver holds only refs)."""
    pending: list[Any] = []
    for args in calls:
        if len(pending) >= limit:
            done, pending = ray.wait(pending, num_returns=1)
            get(ray, done)
        pending.append(fn.remote(*args))
    while pending:
        done, pending = ray.wait(pending, num_returns=1)
        get(ray, done)


def _run(ray: Any, pairs: Any, work_dir: Path, target: Location, recipe: Any, chunks: list[Chunk],
         batch_rows: int, workers: int, layout: Any, timings: dict[str, Any]) -> dict[str, Any]:
    """Every pass, resolve and the final write as tasks; fills ``timings`` (driver wall seconds, no row data)."""
    from codequarry.cleaners.engine import pass_label
    from codequarry.cleaners.engine_write import write_output
    from codequarry.cleaners.local_engine import _collect_garbage, _remove_tmp, _Work, marker_counts
    from codequarry.cleaners.ray_resolve import part_count

    _remove_tmp(work_dir)
    work = _Work(work_dir, recipe, chunks)
    cpus = int(ray.cluster_resources().get("CPU", workers))
    limit = 2 * max(workers, cpus, 1)
    pass_fn = ray.remote(num_cpus=1, max_retries=2)(_pass_task)
    resolve_fn = ray.remote(num_cpus=1, max_retries=2)(_resolve_task)
    write_fn = ray.remote(num_cpus=1, max_retries=2)(_write_task)
    cut_fn = ray.remote(num_cpus=1, max_retries=2)(_cut_task)
    part_fn = ray.remote(num_cpus=1, max_retries=2)(_part_task)
    merge_fn = ray.remote(num_cpus=1, max_retries=2)(_merge_task)
    stage_fn = ray.remote(num_cpus=1, max_retries=2)(_stage_task)
    chunks_ref = ray.put(chunks)
    wd = str(work_dir)
    timings.setdefault("passes", [])
    timings.setdefault("resolve", {})
    timings.setdefault("stages", {})

    def timed(stages: dict[str, float], stage: str, fn: Any, calls: list[tuple[Any, ...]]) -> None:
        started = time.perf_counter()
        _submit_all(ray, fn, calls, limit)
        stages[stage] = time.perf_counter() - started

    for plan in work.passes:
        started = time.perf_counter()
        work.pass_dir(plan.index).mkdir(parents=True, exist_ok=True)
        todo = [c.index for c in chunks if not work.marker(plan.index, c.index).exists()]
        _submit_all(ray, pass_fn, [(wd, recipe, chunks_ref, plan.index, c) for c in todo], limit)
        timings["passes"].append({"pass": plan.index, "steps": pass_label(work.steps, plan),
                                  "seconds": time.perf_counter() - started})
        if plan.map is not None and not work.decision_path(plan.map).exists():
            started = time.perf_counter()
            step = work.steps[plan.map]
            stages: dict[str, float] = {}
            parts = part_count(work, step, cpus)
            module = staged(step)
            if module is not None:  # near-dedup, leakage: band shuffle, verify by chunk, one deciding task
                parts = module.part_count(work, plan.index, cpus)
                for stage, items in (("cut", [c.index for c in chunks]), ("pair", list(range(parts))),
                                     ("verify", [c.index for c in chunks]), ("decide", [0])):
                    timed(stages, stage, stage_fn, [(wd, recipe, chunks_ref, stage, plan.index, i, parts) for i in items])
            elif parts > 1:  # a shuffle by the step's partition column, resolved part by part (ray_resolve)
                timed(stages, "cut", cut_fn, [(wd, recipe, chunks_ref, plan.index, c.index, parts) for c in chunks])
                timed(stages, "part", part_fn, [(wd, recipe, chunks_ref, plan.index, p, parts) for p in range(parts)])
                timed(stages, "merge", merge_fn, [(wd, recipe, chunks_ref, plan.index, parts)])
            else:
                get(ray, resolve_fn.remote(wd, recipe, chunks_ref, plan.index))
            timings["resolve"][step.name] = time.perf_counter() - started
            if stages:
                timings["stages"][step.name] = stages
        _collect_garbage(work, plan)
    timings["steps"] = marker_counts(work)[1]
    started = time.perf_counter()
    manifest = write_output(work, target, lambda kind, calls: _submit_all(
        ray, write_fn, [(wd, recipe, chunks_ref, kind, args) for args in calls], limit),
        pairs=pairs, recipe=recipe, batch_rows=batch_rows, layout=layout)
    timings["write"] = time.perf_counter() - started
    return manifest
