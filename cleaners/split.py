"""Global step ``split``: keep the source's splits, or re-split by repository or by file, deterministically.

Modes: ``keep`` (rows stay in their source split); ``repo`` (every row of a repository lands in the
same split); ``file`` (every row of a file, keyed ``"{repo}:{path}"`` as CodeSearchNet did).
Assignment: ``balanced`` takes the keys in the order of a seeded hash and gives each to the split
furthest below its ratio of the *rows* assigned so far (repos differ a lot in size, so counting
keys would miss the ratios); ``hash`` is CodeSearchNet's
``dedup_split.py`` rule, ``int(md5(key), 16) % 2**16`` against cumulative bounds
``int(2**16 * ratio)`` compared with ``<=``, the last split taking the rest (exact with ``seed: null``;
a seed salts the key). Rows with no repo (or no path) fall back to the path, then to their id.

Fallback (``fallback: true``, the default): when the chosen unit has too few groups for the splits
(a single repository, or sizes such that a split with a positive ratio would get no row), the step
falls back to the next unit — repository → file → function (each row its own group) — and says so:
the decision's ``note`` goes into the report and the manifest (``steps[split].summary.fallback``, with
``unit`` the unit used and ``requested_unit`` the one asked for), which the dataset card reads, and a
warning is logged. An output where a split stays empty is never silent: the note says which.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc

from codequarry.cleaners.base import GlobalStep, StepOutput
from codequarry.cleaners.spill import Spill
from codequarry.cleaners.step_utils import column, with_column
from codequarry.options import option
from codequarry.schema import check_split_name


def _default_ratios() -> dict[str, float]:
    return {"train": 0.8, "valid": 0.1, "test": 0.1}


UNITS = ("repo", "file", "function")  # the fallback order: each unit groups rows more finely than the one before
_PLURAL = {"repo": "repositories", "file": "files", "function": "functions"}
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Params:
    mode: Literal["keep", "repo", "file", "function"] = option(
        "repo", help="keep: the source's splits; repo, file or function: re-split so no group straddles "
                     "splits")
    ratios: dict[str, float] = option(default_factory=_default_ratios, help="split name to share of the rows")
    seed: int | None = option(0, help="seed of the key order (null with assign hash: CodeSearchNet's exact "
                                      "md5 rule)")
    assign: Literal["balanced", "hash"] = option(
        "balanced", help="balanced: seeded order, each key to the split furthest below its ratio of rows; "
                         "hash: CodeSearchNet's md5 bounds")
    fallback: bool = option(True, help="fall back to a finer unit (repo, file, function) when a split would "
                                       "get no row, and say so")

    def __post_init__(self) -> None:
        if not self.ratios:
            raise ValueError("ratios must name at least one split")
        for name, r in self.ratios.items():
            check_split_name(name)
            if r < 0:
                raise ValueError(f"ratio of {name!r} is negative")
        if abs(sum(self.ratios.values()) - 1.0) > 1e-6:
            raise ValueError(f"ratios must sum to 1, got {sum(self.ratios.values())}")


@dataclass(frozen=True)
class Decision:
    """The unit the rows were grouped by, each group's split (None for ``assign: hash``: computed per row) and
    the fallback note (None when the requested unit was used)."""

    unit: str
    assignment: dict[str, str] | None
    note: str | None = None
    groups: int = 0


def split_key(mode: str, repo: str | None, path: str | None, row_id: str) -> str:
    """The grouping key of a row: everything with the same key lands in the same split."""
    if mode == "function":
        return "id:" + row_id
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


def balanced_assignment(counts: Counter[str], ratios: dict[str, float], seed: int | None) -> dict[str, str]:
    """Each key, in the order of a seeded hash, to the split furthest below its share of the rows so far."""
    order = sorted(counts, key=lambda k: (hashlib.blake2b(f"{seed}\x1f{k}".encode("utf-8", "surrogatepass"),
                                                          digest_size=16).digest(), k))
    names = list(ratios)
    assigned = dict.fromkeys(names, 0)
    decision: dict[str, str] = {}
    done = 0
    for k in order:
        done += counts[k]
        best = max(names, key=lambda n: (ratios[n] * done - assigned[n], -names.index(n)))
        decision[k] = best
        assigned[best] += counts[k]
    return decision


class _LazyCounts(dict):
    """Key counts per unit, computed from the spill the first time a unit is asked for."""

    def __init__(self, count: Callable[[str], Counter[str]]) -> None:
        super().__init__()
        self._count = count

    def __missing__(self, unit: str) -> Counter[str]:
        self[unit] = value = self._count(unit)
        return value


class Split(GlobalStep):
    """Assign every row to a split by repository, file or function (no group straddles splits), falling back to
    a finer unit when the requested one has too few groups for the splits."""

    name = "split"
    description = ("assign splits: keep the source's, or re-split by repo (default), file or function with ratios "
                   "and seed; falls back to a finer unit (and says so) when there are too few groups")
    Params = Params
    map_columns = ("id", "repo", "path")

    def _units(self) -> tuple[str, ...]:
        """The units the step may use: the requested one, then (with fallback) the finer ones."""
        mode = self.params.mode
        if mode == "keep":
            return ()
        return UNITS[UNITS.index(mode):] if self.params.fallback else (mode,)

    def _keys(self, batch: pa.Table, unit: str) -> list[str]:
        return [split_key(unit, r, p, i) for r, p, i in zip(column(batch, "repo"), column(batch, "path"),
                                                            column(batch, "id"))]

    def map(self, batch: pa.Table) -> pa.Table:
        units, keys, rows = [], [], []
        for unit in self._units():
            counts = Counter(self._keys(batch, unit))
            units += [unit] * len(counts)
            keys += list(counts)
            rows += list(counts.values())
        return pa.table({"unit": pa.array(units, pa.string()), "key": pa.array(keys, pa.string()),
                         "rows": pa.array(rows, pa.int64())})

    def _assign(self, counts: Counter[str]) -> tuple[dict[str, str] | None, set[str]]:
        """(assignment or None for hash, the splits that get at least one row)."""
        p = self.params
        if p.assign == "hash":
            return None, {hash_split(csn_bucket(k, p.seed), p.ratios) for k in counts}
        assignment = balanced_assignment(counts, p.ratios, p.seed)
        return assignment, set(assignment.values())

    def resolve(self, mapped: Iterable[pa.Table], workdir: Path | None) -> Decision | None:
        units = self._units()
        if not units:
            for _ in mapped:
                pass
            return None
        with Spill(mapped, workdir) as spill:  # a finer unit's keys are counted only when the coarser one fails
            return self._resolve(spill, units)

    @staticmethod
    def _counts(spill: Spill, unit: str) -> Counter[str]:
        counts: Counter[str] = Counter()
        for table in spill.tables(["unit", "key", "rows"]):
            table = table.filter(pc.equal(table.column("unit"), unit))
            for k, n in zip(table["key"].to_pylist(), table["rows"].to_pylist()):
                counts[k] += n
        return counts

    def _resolve(self, spill: Spill, units: tuple[str, ...]) -> Decision:
        counts: dict[str, Counter[str]] = _LazyCounts(lambda u: self._counts(spill, u))
        if not counts[units[0]]:  # no rows: nothing to assign, nothing to say
            return Decision(unit=units[0], assignment=None if self.params.assign == "hash" else {})
        needed = [name for name, r in self.params.ratios.items() if r > 0]
        notes = []
        for pos, unit in enumerate(units):
            assignment, used = self._assign(counts[unit])
            empty = [name for name in needed if name not in used]
            last = pos == len(units) - 1
            if not empty or last:
                break
            notes.append(f"{len(counts[unit])} {_PLURAL[unit]} for {len(needed)} splits ({', '.join(needed)}) "
                         f"would leave {', '.join(empty)} empty")
        note = None
        if notes:
            note = (f"split by {units[0]} fell back to {unit}: " + "; ".join(notes)
                    + (f"; by {unit} {', '.join(empty)} still stay empty (too few rows)" if empty else ""))
        elif empty and counts[unit]:
            note = (f"{len(counts[unit])} {_PLURAL[unit]} for {len(needed)} splits ({', '.join(needed)}): "
                    f"{', '.join(empty)} stay empty" + ("" if self.params.fallback else " (fallback is off)"))
        if note:
            _log.warning("split: %s", note)
        return Decision(unit=unit, assignment=assignment, note=note, groups=len(counts[unit]))

    def summary(self, decision: Decision | None) -> dict[str, Any] | None:
        """The unit used, the one asked for, the number of groups and the fallback note (for report and card)."""
        if decision is None:
            return None
        return {"unit": decision.unit, "requested_unit": self.params.mode, "groups": decision.groups,
                "fallback": decision.note}

    def apply(self, batch: pa.Table, decision: Decision | None) -> StepOutput:
        p = self.params
        if p.mode == "keep":
            return StepOutput(kept=batch)
        if decision is None:
            raise RuntimeError("split: no decision")
        keys = self._keys(batch, decision.unit)
        if decision.assignment is None:
            splits = [hash_split(csn_bucket(k, p.seed), p.ratios) for k in keys]
        else:
            splits = [decision.assignment[k] for k in keys]
        return StepOutput(kept=with_column(batch, pa.field("split", pa.string()), splits))
