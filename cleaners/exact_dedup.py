"""Global step ``exact_dedup``: one row per normalized code (or per (query, code)), kept by the shared keep rule."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa

from codequarry.cleaners.base import GlobalStep, StepOutput, keep_mask
from codequarry.cleaners.keep_rule import keep_order_key
from codequarry.cleaners.step_utils import column, lang_spec

_WS = re.compile(r"\s+")


@dataclass(frozen=True)
class Params:
    key: Literal["code", "query_code"] = "code"
    normalize: bool = True


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

    def resolve(self, mapped: Iterable[pa.Table], workdir: Path) -> dict[str, str]:
        best: dict[bytes, tuple[Any, str]] = {}
        losers: dict[str, bytes] = {}
        for table in mapped:
            for rid, split, key in zip(table["id"].to_pylist(), table["split"].to_pylist(), table["key"].to_pylist()):
                if key is None:
                    continue
                order = keep_order_key(split, rid)
                cur = best.get(key)
                if cur is None:
                    best[key] = (order, rid)
                elif order < cur[0]:
                    losers[cur[1]] = key
                    best[key] = (order, rid)
                else:
                    losers[rid] = key
        return {rid: best[key][1] for rid, key in losers.items()}

    def apply(self, batch: pa.Table, decision: dict[str, str]) -> StepOutput:
        ids = column(batch, "id")
        keep = [i not in decision for i in ids]
        reason = "duplicate_code" if self.params.key == "code" else "duplicate_query_code"
        details = [None if k else f"same as {decision[i]}" for i, k in zip(ids, keep)]
        return keep_mask(batch, keep, [None if k else reason for k in keep], details)
