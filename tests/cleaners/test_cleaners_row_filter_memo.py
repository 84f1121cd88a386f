"""A row filter judges each distinct row (its read columns' values) once per batch, with the same verdicts."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from codequarry.cleaners.row_filter import RowFilter


class _Counting(RowFilter):
    name = "counting"
    description = "exclude rows whose query mentions their name; counts its calls"
    reads = ("query", "func_name", "code_tokens")

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[Any, ...]] = []

    def reason(self, row):  # noqa: ANN001, ANN202
        self.calls.append((row["query"], row["func_name"]))
        if row["query"] and row["func_name"] and row["func_name"] in row["query"]:
            return "mentions_name", f"{row['func_name']} in {len(row['code_tokens'] or [])} tokens"
        return None


def test_copies_in_a_batch_are_judged_once_with_the_same_verdicts() -> None:
    queries = ["get foo", "bar it", "get foo", None, "bar it", "get foo", "baz"]
    names = ["foo", "bar", "foo", "foo", "bar", "foo", "qux"]
    batch = pa.table({"id": [f"r{i}" for i in range(7)], "query": queries, "func_name": names})
    step = _Counting()
    out = step.process(batch)
    assert out.kept["id"].to_pylist() == ["r3", "r6"]
    assert out.reasons == ("mentions_name",) * 5 and out.details == ("foo in 0 tokens", "bar in 0 tokens") * 2 + (
        "foo in 0 tokens",)
    assert sorted(step.calls, key=str) == sorted({("get foo", "foo"), ("bar it", "bar"), (None, "foo"),
                                                  ("baz", "qux")}, key=str)  # 4 distinct rows, 4 calls


def test_rows_with_unhashable_values_are_judged_each() -> None:
    batch = pa.table({"id": ["a", "b", "c"], "query": ["get foo"] * 3, "func_name": ["foo"] * 3,
                      "code_tokens": [["x"], ["x"], ["y", "z"]]})
    step = _Counting()
    out = step.process(batch)
    assert out.details == ("foo in 1 tokens", "foo in 1 tokens", "foo in 2 tokens") and len(step.calls) == 3
