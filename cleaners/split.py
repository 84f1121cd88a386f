"""Global step ``split``: keep the source's splits, or re-split by repository or by file, deterministically.

Modes: ``keep`` (rows stay in their source split); ``repo`` (every row of a repository lands in the
same split); ``file`` (every row of a file, keyed ``"{repo}:{path}"`` as CodeSearchNet did).
Assignment: ``balanced`` takes the keys in the order of a seeded hash and gives each to the split
furthest below its ratio of the *rows* assigned so far (repos differ a lot in size, so counting
keys would miss the ratios); ``hash`` is CodeSearchNet's
``dedup_split.py`` rule, ``int(md5(key), 16) % 2**16`` against cumulative bounds
``int(2**16 * ratio)`` compared with ``<=``, the last split taking the rest (exact with ``seed: null``;
a seed salts the key). Rows with no repo (or no path) fall back to the path, then to their id.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pyarrow as pa

from codequarry.cleaners.base import GlobalStep, StepOutput
from codequarry.cleaners.step_utils import column, with_column
from codequarry.schema import check_split_name


def _default_ratios() -> dict[str, float]:
    return {"train": 0.8, "valid": 0.1, "test": 0.1}


@dataclass(frozen=True)
class Params:
    mode: Literal["keep", "repo", "file"] = "repo"
    ratios: dict[str, float] = field(default_factory=_default_ratios)
    seed: int | None = 0
    assign: Literal["balanced", "hash"] = "balanced"

    def __post_init__(self) -> None:
        if not self.ratios:
            raise ValueError("ratios must name at least one split")
        for name, r in self.ratios.items():
            check_split_name(name)
            if r < 0:
                raise ValueError(f"ratio of {name!r} is negative")
        if abs(sum(self.ratios.values()) - 1.0) > 1e-6:
            raise ValueError(f"ratios must sum to 1, got {sum(self.ratios.values())}")


def split_key(mode: str, repo: str | None, path: str | None, row_id: str) -> str:
    """The grouping key of a row: everything with the same key lands in the same split."""
    if mode == "repo":
        if repo:
            return "repo:" + repo
        return "path:" + path if path else "id:" + row_id
    if path is None:
        return "id:" + row_id
    return f"{repo or ''}:{path}"


def csn_bucket(key: str, seed: int | None) -> int:
    """CodeSearchNet's hash bucket: md5 of the key (salted with the seed unless it is None) mod 2**16."""
    text = key if seed is None else f"{seed}\x1f{key}"
    return int(hashlib.md5(text.encode("utf-8", "surrogatepass")).hexdigest(), 16) % (2 ** 16)


def hash_split(bucket: int, ratios: dict[str, float]) -> str:
    names = list(ratios)
    bound = 0
    for name in names[:-1]:
        bound += int(2 ** 16 * ratios[name])
        if bucket <= bound:
            return name
    return names[-1]


class Split(GlobalStep):
    """Assign every row to a split by repository or file (so no repository or file straddles splits)."""

    name = "split"
    description = "assign splits: keep the source's, or re-split by repo (default) or file with ratios and seed"
    Params = Params
    map_columns = ("id", "repo", "path")

    def _keys(self, batch: pa.Table) -> list[str]:
        m = self.params.mode
        return [split_key(m, r, p, i) for r, p, i in zip(column(batch, "repo"), column(batch, "path"),
                                                           column(batch, "id"))]

    def map(self, batch: pa.Table) -> pa.Table:
        if self.params.mode == "keep" or self.params.assign == "hash":
            return pa.table({"key": pa.array([], pa.string()), "rows": pa.array([], pa.int64())})
        counts = Counter(self._keys(batch))
        return pa.table({"key": pa.array(list(counts), pa.string()), "rows": pa.array(list(counts.values()), pa.int64())})

    def resolve(self, mapped: Iterable[pa.Table], workdir: Path) -> dict[str, str] | None:
        counts: Counter[str] = Counter()
        for table in mapped:
            for k, n in zip(table["key"].to_pylist(), table["rows"].to_pylist()):
                counts[k] += n
        if self.params.mode == "keep" or self.params.assign == "hash":
            return None
        seed = self.params.seed
        order = sorted(counts, key=lambda k: (hashlib.blake2b(f"{seed}\x1f{k}".encode("utf-8", "surrogatepass"),
                                                              digest_size=16).digest(), k))
        ratios = self.params.ratios
        names = list(ratios)
        assigned = dict.fromkeys(names, 0)
        decision: dict[str, str] = {}
        done = 0
        for k in order:  # each key to the split furthest below its share of the rows so far
            done += counts[k]
            best = max(names, key=lambda n: (ratios[n] * done - assigned[n], -names.index(n)))
            decision[k] = best
            assigned[best] += counts[k]
        return decision

    def apply(self, batch: pa.Table, decision: dict[str, str] | None) -> StepOutput:
        p = self.params
        if p.mode == "keep":
            return StepOutput(kept=batch)
        keys = self._keys(batch)
        if p.assign == "hash":
            splits = [hash_split(csn_bucket(k, p.seed), p.ratios) for k in keys]
        else:
            if decision is None:
                raise RuntimeError("split: no decision for balanced assignment")
            splits = [decision[k] for k in keys]
        return StepOutput(kept=with_column(batch, pa.field("split", pa.string()), splits))
