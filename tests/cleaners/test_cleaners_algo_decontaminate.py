"""decontaminate against a benchmark pairs dir: exact and near matches of code and queries, with a report."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from codequarry.cleaners.decontaminate import Decontaminate
from codequarry.errors import CodequarryError
from codequarry.pairs import PairsWriter, SourceInfo
from codequarry.schema import rows_to_table

BENCH_CODE = '''def flatten(nested, skip_empty=True, limit=None):
    """Flatten one level of nesting."""
    result = []
    for group in nested:
        if skip_empty and not group:
            continue
        for item in group:
            result.append(item)
            if limit is not None and len(result) >= limit:
                return result
    return result
'''
BENCH_CODE_2 = '''def is_palindrome(text):
    cleaned = [c.lower() for c in text if c.isalnum()]
    return cleaned == cleaned[::-1]
'''
# the same function with comments and different formatting: equal after normalization
EXACT_COPY = BENCH_CODE.replace("    result = []", "    # collect here\n    result   =   []")
# a local renamed consistently and a comment added: a near match for code shingles (the canonical view is
# identical), not for BigCode's raw tokens (Jaccard 0.59)
NEAR_COPY = BENCH_CODE.replace("item ", "element ").replace("(item)", "(element)").replace(
    "    result = []", "    # collect the members here\n    result = []")
UNRELATED = '''def read_config(path):
    with open(path) as fh:
        return json.load(fh)
'''


@pytest.fixture()
def bench_dir(tmp_path):
    rows = [
        {"id": "b1", "query": "Flatten a list of lists into one list.", "code": BENCH_CODE, "language": "python"},
        {"id": "b2", "query": "Check whether a string reads the same backwards", "code": BENCH_CODE_2,
         "language": "python"},
    ]
    train = [{"id": "b9", "query": "Read the configuration file.", "code": UNRELATED, "language": "python"}]
    with PairsWriter(tmp_path / "bench", created_by="pytest", sources=[SourceInfo("bench")], overwrite=True) as w:
        w.write(rows, split="test")
        w.write(train, split="train")
    return tmp_path / "bench"


def batch(rows):
    table = rows_to_table([{"language": "python", **r} for r in rows])
    return table.append_column("split", pa.array(["train"] * table.num_rows, pa.string()))


ROWS = [
    {"id": "r1", "query": "Some query about lists", "code": EXACT_COPY},
    {"id": "r2", "query": "Another query entirely", "code": NEAR_COPY},
    {"id": "r3", "query": "flatten a list of LISTS into one list", "code": UNRELATED},  # exact query, normalized
    {"id": "r4", "query": "Check whether the string reads the same backwards", "code": UNRELATED},  # near query
    {"id": "r5", "query": "Read the configuration file.", "code": UNRELATED},  # only in the bench's train split
    {"id": "r6", "query": "Flatten", "code": UNRELATED},  # too short to match a query
]


def run(step, batches):
    decision = step.resolve(iter([step.map(b) for b in batches]), None)
    return decision, [step.apply(b, decision) for b in batches]


def test_matches_code_and_queries_of_the_test_split(bench_dir):
    step = Decontaminate.from_config({"dirs": [str(bench_dir)]})
    decision, outs = run(step, [batch(ROWS[:3]), batch(ROWS[3:])])
    found = {i: json.loads(d) for o in outs if o.dropped is not None
             for i, d in zip(o.dropped.column("id").to_pylist(), o.details)}
    assert {i: (m["row"], m["field"], m["match"]) for i, m in found.items()} == {
        "r1": ("b1", "code", "exact"),
        "r2": ("b1", "code", "near"),
        "r3": ("b1", "query", "exact"),
        "r4": ("b2", "query", "near"),
    }
    assert found["r2"]["similarity"] >= 0.7 and found["r4"]["similarity"] >= 0.8
    assert all(o.reasons == ("contaminated",) * o.num_dropped for o in outs)
    summary = step.summary(decision)
    assert summary["dropped"] == 4 and summary["rows"] == 6
    assert summary["benchmarks"][str(bench_dir)] == {
        "rows_dropped": 4, "benchmark_rows_matched": 2,
        "by_match": {"code_exact": 1, "code_near": 1, "query_exact": 1, "query_near": 1}}


def test_switches_and_other_split(bench_dir):
    only_code = Decontaminate.from_config({"dirs": [str(bench_dir)], "query": "none"})
    _, outs = run(only_code, [batch(ROWS)])
    assert sorted(outs[0].dropped.column("id").to_pylist()) == ["r1", "r2"]
    bigcode = Decontaminate.from_config({"dirs": [str(bench_dir)], "query": "none", "shingles": "bigcode"})
    assert (bigcode.params.strip_comments, bigcode.params.canonical_identifiers) == (False, False)
    _, outs = run(bigcode, [batch(ROWS)])
    assert outs[0].dropped.column("id").to_pylist() == ["r1"]  # the renamed copy needs code-aware shingles
    exact_code = Decontaminate.from_config({"dirs": [str(bench_dir)], "query": "none", "code": "exact"})
    _, outs = run(exact_code, [batch(ROWS)])
    assert outs[0].dropped.column("id").to_pylist() == ["r1"]
    train = Decontaminate.from_config({"dirs": [str(bench_dir)], "dirs_split": "train", "code": "none"})
    _, outs = run(train, [batch(ROWS)])
    assert outs[0].dropped.column("id").to_pylist() == ["r5"]


def test_bad_configuration_is_a_clear_error(bench_dir, tmp_path):
    with pytest.raises(CodequarryError, match="at least one benchmark"):
        Decontaminate.from_config({})
    with pytest.raises(CodequarryError, match="nothing to match"):
        Decontaminate.from_config({"dirs": [str(bench_dir)], "code": "none", "query": "none"})
    step = Decontaminate.from_config({"dirs": [str(bench_dir)], "dirs_split": "valid"})
    with pytest.raises(CodequarryError, match="no split 'valid'"):
        step.map(batch(ROWS))
    missing = Decontaminate.from_config({"dirs": [str(tmp_path / "nowhere")]})
    with pytest.raises(CodequarryError):
        missing.map(batch(ROWS))


# every local and parameter renamed (nested, skip_empty, limit, result, group, item): raw 5-gram Jaccard near 0,
# the canonical view identical; the same shape with other calls and attributes is not a match
RENAMED_ALL = (BENCH_CODE.replace("nested", "rows").replace("skip_empty", "drop_blank").replace("limit", "cap")
               .replace("result", "out").replace("group", "chunk").replace("item", "cell"))
SAME_SHAPE = (RENAMED_ALL.replace("append", "add").replace("len(", "count(").replace("Flatten one level of nesting",
              "Collect the cells"))


def test_a_fully_renamed_clone_of_a_benchmark_function_is_contaminated(bench_dir):
    rows = [{"id": "x1", "query": "Some query about rows", "code": RENAMED_ALL},
            {"id": "x2", "query": "Another unrelated query", "code": SAME_SHAPE}]
    for shingles, dropped in (("code", ["x1"]), ("bigcode", [])):
        step = Decontaminate.from_config({"dirs": [str(bench_dir)], "query": "none", "shingles": shingles})
        _, outs = run(step, [batch(rows)])
        got = [] if outs[0].dropped is None else outs[0].dropped.column("id").to_pylist()
        assert got == dropped, shingles
        if dropped:
            match = json.loads(outs[0].details[0])
            assert (match["row"], match["match"], match["similarity"]) == ("b1", "near", 1.0)
