"""Leakage's resolve spread over Ray workers: the same decision as ``Leakage.resolve``, no task holding the corpus.

A train row leaks when its normalized code key equals a held-out row's (``exact``), or when it shares a
band of any view with held-out rows and (with ``verify``) one of the first ``_MAX_VERIFY`` of them in keep
order passes the step's exact per-view Jaccard (``near``); the held-out row named is the first by the keep
rule, an exact match winning. Each train row's answer depends only on the held-out rows it meets in some
bucket, so the step resolves as a shuffle of buckets (as ``ray_near_dedup``, whose readers it shares):

1. **cut** (per chunk): each in-scope (train or held-out) row's records go to a part: ``(band, hash)`` of
   active rows (``min_tokens``) by ``(hash ^ band·φ) mod P``, its code key by the key's leading bytes; one
   file per chunk and kind (near, exact), batch ``q`` part ``q``'s records (``ray_batch_files``);
2. **pair** (per part): buckets holding both train and held-out rows give (train, held-out) candidates;
   only those rows' ids and splits are read; each train row keeps, of its candidates in this part, the
   first ``_MAX_VERIFY`` held-out rows by the keep rule (one without ``verify``) — the first
   ``_MAX_VERIFY`` of a union are among the union of each part's first ``_MAX_VERIFY``; an exact key
   group names its first held-out row; one file per part, batch ``c`` the train rows of chunk ``c``;
3. **verify** (per chunk of the train row): a train row's candidates from every part, cut to its first
   ``_MAX_VERIFY`` by the keep rule, verified a block at a time with the step's ``verify_pairs`` (only
   those rows' shingle sets are read); the first that passes, or the exact match, is its leak;
4. **decide** (one task): the leaks in the train rows' keep order and the step's stats → the step's
   ``Decision``, saved as data with its summary.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from codequarry.cleaners import sorted_arrays
from codequarry.cleaners.ray_batch_files import (
    by_part,
    pairs_done,
    read_batch,
    read_for_chunk,
    write_batches,
    write_by_chunk,
)
from codequarry.cleaners.ray_near_dedup import SHIFT, read_columns, rows_of, run_stages, save_decision
from codequarry.errors import CodequarryError

_MIX = np.uint64(0x9E3779B97F4A7C15)
_TRAIN, _HELD = 1, 2
_EXACT, _NEAR = "exact", "near"
_CUT = {_NEAR: pa.schema([pa.field("band", pa.uint16()), pa.field("hash", pa.uint64()), pa.field("node", pa.int64()),
                          pa.field("role", pa.int8())]),
        _EXACT: pa.schema([pa.field("key", pa.binary(16)), pa.field("node", pa.int64()), pa.field("role", pa.int8())])}
_PAIRS = pa.schema([pa.field("t", pa.int64()), pa.field("h", pa.int64()), pa.field("kind", pa.string()),
                    pa.field("h_id", pa.string()), pa.field("h_split", pa.string())])
_LEAKS = pa.schema([pa.field("t", pa.int64()), pa.field("t_id", pa.string()), pa.field("t_split", pa.string()),
                    pa.field("h_id", pa.string()), pa.field("h_split", pa.string()), pa.field("kind", pa.string())])


def distributed(step: Any) -> bool:
    """Whether this module resolves ``step`` (every leakage method)."""
    from codequarry.cleaners.leakage import Leakage

    return isinstance(step, Leakage)


def part_count(work: Any, k: int, cpus: int) -> int:
    """As near-dedup's band shuffle: one part per CPU at least, about ``RECORDS_PER_PART`` records each."""
    from codequarry.cleaners.ray_near_dedup import RECORDS_PER_PART

    _, step = _step(work, k)
    width = _width(step) + 1
    return max(1, cpus, -(-sum(c.length for c in work.chunks) * width // RECORDS_PER_PART))


# -- paths and helpers ------------------------------------------------------------------------------


def _dir(work: Any, step: int, parts: int) -> Path:
    return work.work / f"resolve-{step:03d}" / f"leak-{parts:04d}"


def _file(work: Any, step: int, parts: int, stage: str, name: str) -> Path:
    return _dir(work, step, parts) / stage / name


def _cut_file(work: Any, step: int, parts: int, c: int, kind: str) -> Path:
    return _file(work, step, parts, "cut", f"c{c:06d}.{kind}.arrow")


def _step(work: Any, k: int) -> tuple[int, Any]:
    step_i = work.passes[k].map
    step = work.steps[step_i]
    if not distributed(step):
        raise RuntimeError(f"pass {k} maps {step.name!r}, not leakage")
    return step_i, step


def _width(step: Any) -> int:
    from codequarry.cleaners._lsh import hasher, minhash_config

    return hasher(minhash_config(step.params)).total_bands if step._near() else 0


def _write_json(path: Path, data: Any) -> None:
    from codequarry.cleaners.local_engine import _write_json as write

    path.parent.mkdir(parents=True, exist_ok=True)
    write(path, data)


def _write(path: Path, table: pa.Table) -> None:
    from codequarry.cleaners.local_engine import write_arrow

    path.parent.mkdir(parents=True, exist_ok=True)
    write_arrow(path, table)


def _ranked(splits: list[Any], ids: list[Any]) -> np.ndarray:
    """Each row's rank by the shared keep rule (0: kept first)."""
    from codequarry.cleaners.keep_rule import keep_order_key

    order = sorted(range(len(ids)), key=lambda i: keep_order_key(splits[i], ids[i]))
    rank = np.empty(len(ids), np.int64)
    rank[np.asarray(order, dtype=np.int64)] = np.arange(len(ids), dtype=np.int64)
    return rank


# -- stage 1: cut ----------------------------------------------------------------------------------


def cut_chunk(work: Any, k: int, c: int, parts: int) -> None:
    """Chunk ``c``'s in-scope rows' band and key records into one file per kind, batch ``q`` for part ``q``; then
    its row counts as JSON (the chunk's completion marker)."""
    step_i, step = _step(work, k)
    info = _file(work, step_i, parts, "cut", f"c{c:06d}.json")
    if info.exists():
        return
    p = step.params
    names = ["split"] + (["key"] if step._exact() else []) + (["ntok", "bands"] if step._near() else [])
    table = read_columns(work.map_path(k, c), names)
    n = table.num_rows
    split = table.column("split")
    train = pc.is_in(split, pa.array(list(p.train_splits), pa.string())).to_numpy(zero_copy_only=False) if n \
        else np.zeros(0, bool)
    held = pc.is_in(split, pa.array(list(p.held_out_splits), pa.string())).to_numpy(zero_copy_only=False) if n \
        else np.zeros(0, bool)
    role = np.where(train, _TRAIN, np.where(held, _HELD, 0)).astype(np.int8)
    base = np.int64(c) << SHIFT
    near: list[pa.Table] = [pa.table({"band": pa.array([], pa.uint16()), "hash": pa.array([], pa.uint64()),
                                      "node": pa.array([], pa.int64()), "role": pa.array([], pa.int8())})] * parts
    if step._near() and n:
        width = _width(step)
        ntok = table.column("ntok").to_numpy(zero_copy_only=False).astype(np.int64)
        local = np.flatnonzero((ntok >= max(1, p.min_tokens)) & (role > 0)).astype(np.int64)
        flat = np.concatenate([ch.flatten().to_numpy(zero_copy_only=False) for ch in table.column("bands").chunks])
        hashes = flat.reshape(-1, width)[local].reshape(-1).astype(np.uint64)
        bands = np.tile(np.arange(width, dtype=np.uint16), len(local))
        nodes = np.repeat(base | local, width)
        roles = np.repeat(role[local], width)
        part = (hashes ^ (bands.astype(np.uint64) * _MIX)) % np.uint64(parts)
        near = [pa.table({"band": bands[sel], "hash": hashes[sel], "node": nodes[sel], "role": roles[sel]})
                for sel in by_part(part, parts)]
    exact: list[pa.Table] = [pa.table({"key": pa.array([], pa.binary(16)), "node": pa.array([], pa.int64()),
                                       "role": pa.array([], pa.int8())})] * parts
    if step._exact() and n:
        keys = table.column("key")
        local = np.flatnonzero(pc.is_valid(keys).to_numpy(zero_copy_only=False) & (role > 0)).astype(np.int64)
        picked = keys.take(pa.array(local)).to_pylist()
        part = np.array([int.from_bytes(key[:8], "big") % parts for key in picked], dtype=np.int64)
        exact = [pa.table({"key": pa.array([picked[i] for i in sel.tolist()], pa.binary(16)),
                           "node": pa.array(base | local[sel]), "role": pa.array(role[local[sel]])})
                 for sel in by_part(part, parts)]
    write_batches(_cut_file(work, step_i, parts, c, _NEAR), _CUT[_NEAR], near)
    write_batches(_cut_file(work, step_i, parts, c, _EXACT), _CUT[_EXACT], exact)
    _write_json(info, {"train": int(train.sum()), "held": int(held.sum())})


# -- stage 2: candidates per part -------------------------------------------------------------------


def _groups(sorted_keys: list[np.ndarray]) -> np.ndarray:
    """Start index of each run of equal keys (the arrays already sorted together), plus the end."""
    n = len(sorted_keys[0])
    if n == 0:
        return np.zeros(1, np.int64)
    change = np.zeros(n - 1, bool)
    for key in sorted_keys:
        change |= key[1:] != key[:-1]
    return np.concatenate([[0], np.flatnonzero(change) + 1, [n]]).astype(np.int64)


def pair_part(work: Any, k: int, q: int, parts: int) -> None:
    """Part ``q``'s (train, held-out) candidates: near ones cut to each train row's first ``_MAX_VERIFY`` held-out
    rows in keep order (one without verify), exact ones to its key's first held-out row."""
    from codequarry.cleaners.leakage import _MAX_VERIFY

    step_i, step = _step(work, k)
    folder = _dir(work, step_i, parts) / "pairs"
    if pairs_done(folder, q):
        return
    cap = _MAX_VERIFY if step.params.verify else 1
    found: list[tuple[int, int, str]] = []  # (train node, held node, kind)
    for kind in (_NEAR, _EXACT):
        tables = [read_batch(_cut_file(work, step_i, parts, c.index, kind), q, parts) for c in work.chunks]
        table = pa.concat_tables(tables).combine_chunks() if tables else None
        if table is None or table.num_rows == 0:
            continue
        nodes = table.column("node").to_numpy()
        roles = table.column("role").to_numpy()
        if kind == _NEAR:
            keys = [table.column("band").to_numpy(), table.column("hash").to_numpy()]
            order = np.lexsort((keys[1], keys[0]))
        else:
            key_ids = pc.dictionary_encode(table.column("key")).combine_chunks().indices.to_numpy()
            keys = [key_ids]
            order = np.argsort(key_ids, kind="stable")
        keys = [x[order] for x in keys]
        nodes, roles = nodes[order], roles[order]
        bounds = _groups(keys)
        mixed = [(s, e) for s, e in zip(bounds[:-1].tolist(), bounds[1:].tolist())
                 if e - s > 1 and (roles[s:e] == _TRAIN).any() and (roles[s:e] == _HELD).any()]
        if not mixed:
            continue
        members = sorted_arrays.unique(np.concatenate([nodes[s:e] for s, e in mixed]))
        info = rows_of(work, k, members, ["id", "split"])
        rank = _ranked(info["split"], info["id"])
        for s, e in mixed:
            at = np.searchsorted(members, nodes[s:e])
            is_held = roles[s:e] == _HELD
            held_at = at[is_held][np.argsort(rank[at[is_held]], kind="stable")]
            held_at = held_at[:cap] if kind == _NEAR else held_at[:1]
            for t in np.unique(nodes[s:e][roles[s:e] == _TRAIN]).tolist():
                found.extend((t, int(members[h]), kind) for h in held_at.tolist())
        if kind == _NEAR:  # a train row keeps its first `cap` distinct held-out rows over this part's buckets
            near = sorted({(t, h) for t, h, kd in found if kd == _NEAR},
                          key=lambda th: (th[0], rank[np.searchsorted(members, th[1])]))
            kept: list[tuple[int, int, str]] = []
            seen: dict[int, int] = {}
            for t, h in near:
                if seen.get(t, 0) < cap:
                    seen[t] = seen.get(t, 0) + 1
                    kept.append((t, h, _NEAR))
            found = kept
            near_info = (members, info)
        else:
            exact_info = (members, info)
    rows: dict[str, list[Any]] = {"t": [], "h": [], "kind": [], "h_id": [], "h_split": []}
    for t, h, kind in found:
        members, info = near_info if kind == _NEAR else exact_info
        i = int(np.searchsorted(members, h))
        rows["t"].append(t)
        rows["h"].append(h)
        rows["kind"].append(kind)
        rows["h_id"].append(info["id"][i])
        rows["h_split"].append(info["split"][i])
    write_by_chunk(folder, q, pa.table(rows, schema=_PAIRS), "t", len(work.chunks))


# -- stage 3: each train row's leak ------------------------------------------------------------------


def verify_chunk(work: Any, k: int, c: int, parts: int) -> None:
    """The leak of every train row of chunk ``c`` that has candidates: its exact match, else the first of its
    first ``_MAX_VERIFY`` near candidates (keep order) that the step's verification passes."""
    from codequarry.cleaners import clusters
    from codequarry.cleaners._lsh import VIEW_SETS, minhash_config
    from codequarry.cleaners.keep_rule import keep_order_key
    from codequarry.cleaners.leakage import _MAX_VERIFY
    from codequarry.cleaners.ray_near_dedup import VERIFY_BLOCK

    step_i, step = _step(work, k)
    target = _file(work, step_i, parts, "leaks", f"c{c:06d}.arrow")
    if target.exists():
        return
    pairs = read_for_chunk(_dir(work, step_i, parts) / "pairs", parts, len(work.chunks), c, _PAIRS).to_pylist()
    exact = {r["t"]: r for r in pairs if r["kind"] == _EXACT}
    near: dict[int, dict[int, dict[str, Any]]] = {}
    for r in pairs:
        if r["kind"] == _NEAR and r["t"] not in exact:
            near.setdefault(r["t"], {})[r["h"]] = r
    leaks = dict(exact)
    cap = _MAX_VERIFY if step.params.verify else 1
    todo = [(t, r) for t in sorted(near)
            for r in sorted(near[t].values(), key=lambda r: keep_order_key(r["h_split"], r["h_id"]))[:cap]]
    if step.params.verify:
        cfg = minhash_config(step.params)
        names = list(VIEW_SETS[:len(cfg.thresholds)])
        for lo in range(0, len(todo), VERIFY_BLOCK):  # a block of pairs at a time: only their rows' sets held
            block = todo[lo:lo + VERIFY_BLOCK]
            a = np.array([t for t, _ in block], dtype=np.int64)
            b = np.array([r["h"] for _, r in block], dtype=np.int64)
            nodes = sorted_arrays.unique(np.concatenate([a, b]))
            sets = rows_of(work, k, nodes, names)
            idx = np.stack([np.searchsorted(nodes, a), np.searchsorted(nodes, b)], axis=1)
            passed = {(i, j) for i, j in clusters.verify_pairs(idx, [sets[n] for n in names], cfg.thresholds).tolist()}
            for (t, r), (i, j) in zip(block, idx.tolist()):
                if (i, j) in passed and t not in leaks:  # block order is keep order per train row: first wins
                    leaks[t] = r
            del sets
    else:
        for t, r in todo:
            leaks[t] = r
    trains = np.array(sorted(leaks), dtype=np.int64)
    info = rows_of(work, k, trains, ["id", "split"])
    out = {"t": trains.tolist(), "t_id": info["id"], "t_split": info["split"],
           "h_id": [leaks[t]["h_id"] for t in trains.tolist()], "h_split": [leaks[t]["h_split"] for t in trains.tolist()],
           "kind": [leaks[t]["kind"] for t in trains.tolist()]}
    _write(target, pa.table(out, schema=_LEAKS))


# -- stage 4: the decision ---------------------------------------------------------------------------


def decide(work: Any, k: int, parts: int) -> None:
    """Every chunk's leaks in the train rows' keep order and the step's stats → its Decision, saved with its summary."""
    from codequarry.cleaners._lsh import minhash_config
    from codequarry.cleaners.keep_rule import keep_order_key
    from codequarry.cleaners.leakage import Decision
    from codequarry.cleaners.local_engine import _read_json, read_arrow

    step_i, step = _step(work, k)
    train = held = 0
    rows: list[dict[str, Any]] = []
    for ch in work.chunks:
        info = _read_json(_file(work, step_i, parts, "cut", f"c{ch.index:06d}.json"))
        try:
            train += int(info["train"])
            held += int(info["held"])
        except (KeyError, TypeError, ValueError) as exc:
            raise CodequarryError(f"{_dir(work, step_i, parts)}: the account of chunk {ch.index} is not this "
                                  f"resolve's ({type(exc).__name__}: {exc}); pass --overwrite to start over") from None
        rows.extend(read_arrow(_file(work, step_i, parts, "leaks", f"c{ch.index:06d}.arrow")).to_pylist())
    rows.sort(key=lambda r: keep_order_key(r["t_split"], r["t_id"]))
    out = {r["t_id"]: (r["h_id"], r["h_split"], r["kind"]) for r in rows}
    by_split: dict[str, int] = {}
    by_kind: dict[str, int] = {}
    for _, s, kind in out.values():
        by_split[s] = by_split.get(s, 0) + 1
        by_kind[kind] = by_kind.get(kind, 0) + 1
    stats: dict[str, Any] = {"train_rows": train, "held_out_rows": held, "leaked": len(out),
                             "by_split": dict(sorted(by_split.items())), "by_match": dict(sorted(by_kind.items()))}
    if step._near():
        stats["minhash"] = minhash_config(step.params).describe()
    save_decision(work, step_i, Decision(leaks=out, stats=stats), _dir(work, step_i, parts))


def resolve_in_process(work: Any, k: int, parts: int) -> None:
    """This module's stages in this process (``ray_near_dedup.run_stages``)."""
    run_stages(sys.modules[__name__], work, k, parts)
