"""Clone-aware near-dedup (issue 13): planted clones of every edit kind are caught, same-shape functions are not.

The clones are made by ``perf/clones.py`` (tree-sitter edits of real standard-library functions: k of n
locals renamed, reformatting, comments, literals, operand swaps, reordering, statements inserted, deleted or
modified, and the Type-2 and Type-3 mixes); the negatives are tiny accessors with their own names, same-class
sibling accessors and real functions with every name and value replaced.
"""

from __future__ import annotations

import importlib.util
import json
import random
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from codequarry.cleaners import minhash as mh
from codequarry.cleaners.leakage import Leakage
from codequarry.cleaners.near_dedup import NearDedup
from codequarry.schema import rows_to_table

CLONES_PY = Path(__file__).resolve().parents[2] / "perf" / "clones.py"
FILES = ("json/decoder.py", "json/encoder.py", "textwrap.py", "difflib.py", "argparse.py", "configparser.py",
         "shlex.py", "fractions.py", "statistics.py", "calendar.py")


@pytest.fixture(scope="module")
def clones():
    spec = importlib.util.spec_from_file_location("perf_clones", CLONES_PY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def functions(stdlib_dir) -> list[str]:
    """Real functions of a few standard-library modules (every function, documented or not)."""
    from codequarry.languages import ExtractionRules, extract_functions

    rules = ExtractionRules(scope="all", require_docstring=False, min_code_tokens=0, apply_blacklist=False,
                            skip_empty=False)
    out = []
    for name in FILES:
        path = stdlib_dir / name
        if path.is_file():
            out.extend(f.code for f in extract_functions(path.read_bytes(), "python", rules))
    if len(out) < 300:
        pytest.skip("too few standard-library functions found")
    return out


@pytest.fixture(scope="module")
def planted(clones, functions):
    """(corpus rows, planted (source, kind, variant), negatives) with sources that are singletons."""
    import re

    labels = mh.cluster_texts(functions, min_tokens=5, languages=["python"] * len(functions))
    single = np.bincount(labels, minlength=len(functions))[labels] == 1
    pool = [i for i in np.flatnonzero(single).tolist() if len(re.findall(r"\w+", functions[i])) >= 40]
    clone_rows, negatives = clones.plant(functions, pool, per_kind=8, seed=3)
    return functions, clone_rows, negatives


def test_every_clone_kind_is_caught_and_same_shape_functions_are_not(clones, planted):
    functions, clone_rows, negatives = planted
    kinds = {kind for _, kind, _ in clone_rows}
    assert kinds == set(clones.KINDS) and len(negatives) >= 40
    assert {k for k, _ in negatives} == set(clones.NEGATIVE_KINDS)
    corpus = functions + [v for _, _, v in clone_rows] + [c for _, c in negatives]
    n = len(functions)
    caught: dict[str, list[bool]] = {}
    for config in (None, mh.MinHashConfig(shingles="bigcode")):
        labels = mh.cluster_texts(corpus, config, min_tokens=5, languages=["python"] * len(corpus))
        hits = caught if config is None else {}
        for k, (src, kind, _) in enumerate(clone_rows):
            hits.setdefault(kind, []).append(bool(labels[src] == labels[n + k]))
        sizes = np.bincount(labels, minlength=len(corpus))
        if config is None:
            # no negative joins any cluster: sharing a shape (or being a same-class sibling) is not being a clone
            assert (sizes[labels[n + len(clone_rows):]] == 1).all()
        else:  # BigCode's raw shingles miss most renamed clones: what the canonical view is for
            assert np.mean(hits["rename-50%"] + hits["rename-100%"] + hits["type2"]) < 0.5
    recall = {kind: float(np.mean(v)) for kind, v in caught.items()}
    type2 = [h for kind in clones.TYPE2_UP_TO_HALF for h in caught[kind]]
    assert np.mean(type2) >= 0.95, recall  # Type-1/2, up to half the locals renamed, literals, swaps, reordering
    close = [h for kind in clones.CLOSE_TYPE3 for h in caught[kind]]
    assert np.mean(close) >= 0.9, recall  # half renamed + 1-2 statements inserted/deleted/modified (0.54 before)
    for kind in clones.KINDS:  # every kind is caught, the far Type-3 edge (every local renamed, 3 edits) mostly
        assert recall[kind] >= (0.5 if kind == "type3-far" else 0.75), recall


def test_generator_edits_are_what_they_say(clones):
    rng = random.Random(0)
    code = ("def scale(values, factor, key=None):\n    out = []\n    for v in values:\n"
            "        out.append(key(v) * factor if key else v * factor)\n    return out\n")
    assert clones.locals_of(clones._function(code.encode()), code.encode()) == ["values", "factor", "key", "out", "v"]
    renamed = clones.rename(code, 1.0, rng)
    assert "values" not in renamed and "append" in renamed and renamed.count("def scale(") == 1
    assert mh.MinHasher().token_views(renamed, "python")[1] == mh.MinHasher().token_views(code, "python")[1]
    reformatted = clones.reformat(code, rng)
    assert reformatted != code and reformatted.split() == code.split()  # whitespace only
    assert mh.MinHasher().token_views(reformatted, "python") == mh.MinHasher().token_views(code, "python")
    assert clones.insert(code, rng).count("\n") == code.count("\n") + 1
    assert clones.delete(code, rng).count("\n") == code.count("\n") - 1


def test_mutation_operators_make_the_edit_they_name(clones):
    """literal, swap, reorder, modify and the sibling negatives each do what they say, and the code still parses."""
    import re

    code = ("def rank(values, factor, key=None):\n    out = []\n    seen = 0\n    for v in values:\n"
            "        if v > 2:\n            out.append(v * factor)\n    label = 'ranked values'\n"
            "    return sorted(out, key=key, reverse=True), label\n")
    parses = [clones._parser().parse(x.encode()).root_node.has_error is False for x in [code]]
    rng = random.Random(1)
    lit = clones.literal(code, rng)
    assert lit != code and re.sub(r"'[^']*'|\d+", "L", lit) == re.sub(r"'[^']*'|\d+", "L", code)
    swapped = clones.swap(code, rng)
    assert swapped != code and sorted(re.findall(r"\w+", swapped)) == sorted(re.findall(r"\w+", code))
    assert "2 < v" in swapped or "reverse=True, key=key" in swapped
    reordered = clones.reorder(code, rng)  # the only independent adjacent assignments: out = [] and seen = 0
    assert reordered.index("seen = 0") < reordered.index("out = []") and sorted(reordered.split("\n")) == sorted(
        code.split("\n"))
    modified = clones.modify(code, rng, 2)
    changed = [a for a, b in zip(code.split("\n"), modified.split("\n")) if a != b]
    assert modified.count("\n") == code.count("\n") and len(changed) == 2
    for variant in (lit, swapped, reordered, modified):
        parses.append(clones._parser().parse(variant.encode()).root_node.has_error is False)
    assert all(parses)
    siblings = clones.siblings(8, ["alpha", "beta", "gamma", "delta"], random.Random(0))
    assert len(set(siblings)) == 8 and all(clones._function(s.encode()) is not None for s in siblings)
    getters = [s for s in siblings if s.startswith("def get_")]
    assert len(getters) >= 2 and getters[0].split("_")[-1] == getters[1].split("_")[-1]  # one stem, other attributes


def _batch(rows: list[tuple[str, str, str]]) -> pa.Table:
    table = rows_to_table([{"id": i, "code": c, "language": "python", "query": "q"} for i, _, c in rows])
    return table.append_column("split", pa.array([s for _, s, _ in rows], pa.string()))


def test_leakage_removes_a_renamed_clone_of_a_test_function(clones, planted):
    functions, clone_rows, negatives = planted
    src, _, variant = next(p for p in clone_rows if p[1] == "type2")  # half the locals renamed, comment, spaces
    other = next(p for p in clone_rows if p[0] != src)[0]
    rows = [("t1", "test", functions[src]), ("x1", "train", variant), ("x2", "train", functions[other]),
            ("x3", "train", negatives[0][1])]
    for shingles, leaked in (("code", {"x1"}), ("bigcode", set())):
        step = Leakage.from_config({"method": "minhash", "shingles": shingles})
        batches = [_batch(rows[:2]), _batch(rows[2:])]
        decision = step.resolve(iter([step.map(b) for b in batches]), None)
        assert set(decision.leaks) == leaked
        if leaked:
            out = step.apply(batches[0], decision)
            assert list(out.reasons) == ["leak_test"]
            assert json.loads(out.details[0]) == {"held_out": "t1", "split": "test", "match": "near"}


def test_leakage_removes_a_type3_clone_of_a_test_function(planted):
    """A Type-3 clone (half the locals renamed, one statement inserted, one deleted) of a test function, whose
    canonical Jaccard is under 0.7, leaves train by the Type-3 rule; a sibling accessor of a test accessor stays."""
    functions, clone_rows, negatives = planted
    h = mh.MinHasher()

    def canonical(a: str, b: str) -> tuple[float, int]:
        x, y = h.shingle_sets([a, b], ["python"] * 2)[1]
        return mh.jaccard(x, y), len(np.intersect1d(x, y))

    src, variant = next((s, v) for s, kind, v in clone_rows if kind == "type3"
                        and 0.4 <= canonical(functions[s], v)[0] < 0.7 and canonical(functions[s], v)[1] >= 15)
    siblings = [c for k, c in negatives if k == "sibling" and c.startswith("def get_")][:2]
    rows = [("t1", "test", functions[src]), ("t2", "test", siblings[0]), ("x1", "train", variant),
            ("x2", "train", siblings[1]), ("x3", "train", functions[next(p[0] for p in clone_rows if p[0] != src)])]
    for params, leaked in (({}, {"x1"}), ({"type3_threshold": 0.7}, set())):  # the 0.7-only rule missed it
        step = Leakage.from_config({"method": "minhash", **params})
        batches = [_batch(rows[:3]), _batch(rows[3:])]
        decision = step.resolve(iter([step.map(b) for b in batches]), None)
        assert set(decision.leaks) == leaked
        if leaked:
            out = step.apply(batches[0], decision)
            assert list(out.reasons) == ["leak_test"] and out.kept.column("id").to_pylist() == ["t1", "t2"]
            assert json.loads(out.details[0]) == {"held_out": "t1", "split": "test", "match": "near"}


def test_near_dedup_step_drops_renamed_clones_and_records_both_views(planted):
    functions, clone_rows, _ = planted
    rows = [(f"s{k}", "train", functions[s]) for k, (s, _, _) in enumerate(clone_rows[:12])]
    rows += [(f"v{k}", "train", v) for k, (_, _, v) in enumerate(clone_rows[:12])]
    step = NearDedup.from_config({})
    assert step.params.verify is True and step.params.canonical_threshold == mh.CANONICAL_THRESHOLD
    assert (step.params.type3_threshold, step.params.type3_shared) == (mh.TYPE3_THRESHOLD, mh.TYPE3_SHARED)
    batches = [_batch(rows[::2]), _batch(rows[1::2])]
    decision = step.resolve(iter([step.map(b) for b in batches]), None)
    caught = {k for k in range(12) if decision.members.get(f"v{k}", (None,))[0] == f"s{k}"
              or decision.members.get(f"s{k}", (None,))[0] == f"v{k}"}
    assert len(caught) >= 11
    stats = step.summary(decision)
    assert stats["minhash"]["canonical_bands"] == 64 and "OR canonical view" in stats["minhash"]["views"]
    assert stats["minhash"]["type3_threshold"] == 0.4
