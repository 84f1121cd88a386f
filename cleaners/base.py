"""The step contract every cleaner follows; engines (local, Ray) know only this.

A *batch* is an Arrow table of pair rows (the pairs-dir columns) plus a ``split`` string column.
A row-local step maps one batch to the rows it keeps and the rows it drops, each dropped row
with a short machine-readable reason (``too_short``, ``non_english`` …) and an optional detail;
an annotator keeps every row and adds columns. A global step (dedup, split, decontamination)
runs in phases: ``map`` per batch → ``resolve`` once over everything mapped → ``apply`` per batch.
Steps are pure: same batch and parameters ⇒ same output, whatever the engine or worker count.

Engines may carry private columns whose names start with ``_`` (``_pos``, the row's position in
the input); steps must pass every column they do not own through unchanged and never depend on
private columns. A global step's ``resolve`` must not depend on how rows were batched or on the
order of the mapped tables beyond the input order (use ``keep_rule.keep_order_key`` for survivors).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa

from codequarry import options
from codequarry.options import jsonable

STEP_KINDS = ("filter", "annotate", "transform", "global")


@dataclass(frozen=True)
class StepOutput:
    """What a step did to one batch: rows kept, rows dropped (input columns) and one reason per drop."""

    kept: pa.Table
    dropped: pa.Table | None = None
    reasons: tuple[str, ...] = ()
    details: tuple[str | None, ...] | None = None

    def __post_init__(self) -> None:
        n = 0 if self.dropped is None else self.dropped.num_rows
        if len(self.reasons) != n:
            raise ValueError(f"{n} dropped rows but {len(self.reasons)} reasons")
        if self.details is not None and len(self.details) != n:
            raise ValueError(f"{n} dropped rows but {len(self.details)} details")

    @property
    def num_dropped(self) -> int:
        return 0 if self.dropped is None else self.dropped.num_rows


@dataclass(frozen=True)
class NoParams:
    """Parameters of a step that takes none."""


class Step:
    """A cleaning step. Subclasses set ``name``, ``description``, ``kind`` and a frozen ``Params`` dataclass."""

    name: ClassVar[str]
    description: ClassVar[str]
    kind: ClassVar[str] = "filter"
    Params: ClassVar[type] = NoParams

    def __init__(self, params: Any = None) -> None:
        self.params = params if params is not None else self.Params()

    @classmethod
    def from_config(cls, config: dict[str, Any] | None = None) -> Step:
        """Build the step from recipe parameters, refusing unknown names with a clear message."""
        return cls(options.from_mapping(cls.Params, config, f"step {cls.name!r}"))

    @classmethod
    def describe(cls) -> dict[str, Any]:
        """Name, kind, one-line description and every parameter with its type, default and help."""
        return {"name": cls.name, "kind": cls.kind, "description": cls.description,
                "params": options.describe(cls.Params)}

    def param_dict(self) -> dict[str, Any]:
        """Every parameter with its value (written into the manifest and the card), JSON/YAML-ready."""
        return jsonable(dataclasses.asdict(self.params))

    def process(self, batch: pa.Table) -> StepOutput:
        """Row-local steps: keep/drop (filters), add columns (annotators) or rewrite columns (transforms)."""
        raise NotImplementedError

    def added_fields(self) -> list[pa.Field]:
        """Columns this step adds (annotators), so an empty batch can carry them too."""
        return []


class GlobalStep(Step):
    """A step that needs to see every row before deciding (dedup, split, decontamination).

    ``map`` turns each batch into a small table keyed by ``id`` (signatures, hashes, repo keys);
    ``resolve`` reads all mapped tables once (it may spill to ``workdir``) and returns a decision
    made only of plain data and dataclasses of the step's own module: the local engine saves it as
    JSON (``decision_store``), never as pickle; ``apply`` uses the decision on each batch. The keep rule inside ``resolve`` must be
    deterministic (e.g. prefer split order train < valid < test reversed for leakage, then smallest id).
    """

    kind: ClassVar[str] = "global"
    #: Columns ``map`` reads (besides ``split``); None = all. Engines may read only these for a map-only pass.
    map_columns: ClassVar[tuple[str, ...] | None] = None

    def map(self, batch: pa.Table) -> pa.Table:
        raise NotImplementedError

    def resolve(self, mapped: Iterable[pa.Table], workdir: Path) -> Any:
        raise NotImplementedError

    def apply(self, batch: pa.Table, decision: Any) -> StepOutput:
        raise NotImplementedError

    def summary(self, decision: Any) -> dict[str, Any] | None:
        """Optional JSON-ready figures about a decision (clusters, pairs …) for the manifest and report."""
        return None

    def process(self, batch: pa.Table) -> StepOutput:
        raise TypeError(f"{self.name} is a global step: run it through an engine (map → resolve → apply)")


def keep_mask(batch: pa.Table, keep: list[bool], reasons: list[str | None],
              details: list[str | None] | None = None) -> StepOutput:
    """Split a batch by a per-row boolean mask; ``reasons[i]`` is used where ``keep[i]`` is False."""
    mask = pa.array(keep, pa.bool_())
    dropped_idx = [i for i, k in enumerate(keep) if not k]
    if not dropped_idx:
        return StepOutput(kept=batch)
    why = tuple(str(reasons[i]) for i in dropped_idx)
    det = tuple(details[i] for i in dropped_idx) if details is not None else None
    return StepOutput(kept=batch.filter(mask), dropped=batch.take(dropped_idx), reasons=why, details=det)
