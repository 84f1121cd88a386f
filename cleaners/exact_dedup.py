"""Global step ``exact_dedup``: one row per normalized code (or per (query, code)), kept by the shared keep rule."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from codequarry.cleaners.base import GlobalStep, StepOutput, keep_mask
from codequarry.cleaners.decision_map import get_many
from codequarry.cleaners.spill import Spill, split_ranks
from codequarry.cleaners.step_utils import column, lang_spec
from codequarry.options import option

_WS = re.compile(r"\s+")


@dataclass(frozen=True)
class Params:
    key: Literal["code", "query_code"] = option(
        "code", help="code: one row per normalized code; query_code: one row per normalized (query, code) "
                     "pair")
    normalize: bool = option(True, help="compare code as tree-sitter tokens without comments (false: "
                                        "whitespace-collapsed text only)")


class ExactDedup(GlobalStep):
    """Rows are grouped by a 128-bit blake2b hash of (language, normalized code[, normalized query]).

    Normalized code is the code's tokens without comments joined by single spaces (tree-sitter, so
    formatting and comments do not matter); without a grammar, or with ``normalize: false``, runs of
    whitespace collapse to one space. Queries are compared with whitespace collapsed and case folded.
    In each group the row with the smallest ``keep_order_key(split, id)`` is kept: the most held-out
    split first (test, valid, other, train), then the smallest id.
    """

    name = "exact_dedup"
    description = "exclude exact duplicates of normalized code (comments/whitespace removed) or of (query, code)"
    Params = Params
    partition_column = "key"  # groups are rows of equal key: a distributed resolve may split by it (ray_resolve)

    def _key(self, query: str | None, code: str | None, lang: str | None) -> bytes | None:
        if code is None:
            return None
        spec = lang_spec(lang) if self.params.normalize else None
        if spec is not None:
            from codequarry.cleaners.parsing import normalize_code

            norm = normalize_code(code, spec)
        else:
            norm = _WS.sub(" ", code).strip()
        h = hashlib.blake2b(digest_size=16)
        h.update((lang or "").encode("utf-8"))
        h.update(b"\x1f")
        h.update(norm.encode("utf-8", "surrogatepass"))
        if self.params.key == "query_code":
            h.update(b"\x1e")
            h.update(_WS.sub(" ", query or "").strip().casefold().encode("utf-8", "surrogatepass"))
        return h.digest()

    def map(self, batch: pa.Table) -> pa.Table:
        keys = [self._key(q, c, lang) for q, c, lang in zip(column(batch, "query"), column(batch, "code"),
                                                           column(batch, "language"))]
        return pa.table({"id": batch.column("id"), "split": batch.column("split"),
                         "key": pa.array(keys, pa.binary(16))})

    def resolve(self, mapped: Iterable[pa.Table], workdir: Path | None) -> dict[str, str]:
        """Dropped id → kept id. Rows sorted by (key, keep rule) (``Spill.sorted_batches``: in memory up to a
        budget, else runs on disk merged), so a group of equal keys arrives together and its first row is the one
        kept; memory holds only the dropped rows."""
        with Spill(mapped, workdir) as spill:

            def keyed(k: int, table: pa.Table) -> pa.Table:
                table = table.filter(pc.is_valid(table.column("key")))
                return pa.table({"key": table.column("key"),
                                 "rank": pa.array(split_ranks(table.column("split")), pa.int8()),
                                 "split": pc.fill_null(table.column("split"), ""), "id": table.column("id")})

            losers: dict[str, str] = {}
            prev_key, prev_kept = None, ""
            for batch in spill.sorted_batches(["key", "split", "id"], keyed, ["key", "rank", "split", "id"]):
                keys = batch.column("key").combine_chunks()
                ids = batch.column("id").to_pylist()
                raw = np.frombuffer(keys.buffers()[1], np.uint8)[16 * keys.offset:16 * (keys.offset + len(keys))]
                words = raw.reshape(-1, 16)
                first = np.empty(len(keys), dtype=bool)  # the row starts a group of equal keys
                first[0] = keys[0].as_py() != prev_key
                first[1:] = (words[1:] != words[:-1]).any(axis=1)
                head = np.maximum.accumulate(np.where(first, np.arange(len(keys)), -1))  # each row's group start
                for i in np.flatnonzero(~first).tolist():
                    losers[ids[i]] = ids[head[i]] if head[i] >= 0 else prev_kept
                if head[-1] >= 0:
                    prev_kept = ids[head[-1]]
                prev_key = keys[len(keys) - 1].as_py()
            return losers

    def apply(self, batch: pa.Table, decision: dict[str, str]) -> StepOutput:
        kept_as = get_many(decision, column(batch, "id"))  # the id each dropped row copies; None: kept
        keep = [k is None for k in kept_as]
        reason = "duplicate_code" if self.params.key == "code" else "duplicate_query_code"
        details = [None if k is None else f"same as {k}" for k in kept_as]
        return keep_mask(batch, keep, [None if k else reason for k in keep], details)
