"""compare: paired tests per task on constructed per-query data, Holm across tasks, reports."""

from __future__ import annotations

import json

import numpy as np
import pytest

from codequarry.benchmarks.compare import compare, compare_paths
from codequarry.benchmarks.results import Result, save_result
from codequarry.errors import CodequarryError


def _res(model: str, task: str, values: dict[str, float], split: str | None = "test", main: str = "mrr") -> Result:
    mean = sum(values.values()) / len(values)
    return Result(task={"name": task, "split": split, "main_score": main}, model={"name": model},
                  scores={main: mean}, main_score=mean, per_query={main: dict(values)})


def _values(seed: int, n: int = 300, shift: float = 0.0) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    return {f"q{i}": float(np.clip(v + shift, 0, 1)) for i, v in enumerate(rng.random(n))}


def test_identical_results_give_p_one():
    a = [_res("A", "t1", _values(1)), _res("A", "t2", _values(2))]
    b = [_res("B", "t1", _values(1)), _res("B", "t2", _values(2))]
    for method in ("randomization", "t"):
        c = compare(a, b, method=method)
        assert [r.p_value for r in c.rows] == [1.0, 1.0]
        assert [r.p_holm for r in c.rows] == [1.0, 1.0]
        assert not any(r.significant for r in c.rows)
        assert all(r.diff == 0 and r.effect_size == 0 for r in c.rows)


def test_clear_difference_is_significant_and_holm_is_monotone():
    base = _values(3)
    a = [_res("A", "big", {q: min(1.0, v + 0.2) for q, v in base.items()}),
         _res("A", "none", _values(4)), _res("A", "small", _values(5, shift=0.03))]
    b = [_res("B", "big", base), _res("B", "none", _values(4, shift=0.0)), _res("B", "small", _values(5))]
    c = compare(a, b, permutations=2000)
    rows = {r.task: r for r in c.rows}
    assert rows["big"].p_value == pytest.approx(1 / 2001) and rows["big"].significant
    assert rows["big"].diff > 0.15 and rows["big"].effect_size > 1
    assert rows["none"].p_value == 1.0 and not rows["none"].significant
    assert rows["small"].p_value < rows["none"].p_value
    ordered = sorted(c.rows, key=lambda r: r.p_value)
    assert all(x.p_holm <= y.p_holm for x, y in zip(ordered, ordered[1:]))
    assert all(r.p_holm >= r.p_value for r in c.rows)
    assert rows["big"].p_holm == pytest.approx(3 / 2001)
    t = compare(a, b, method="t")
    assert {r.task: r.p_value < 1e-6 for r in t.rows}["big"]


def test_query_sets_are_paired_on_shared_ids():
    va = _values(6, n=100)
    vb = {q: v for q, v in list(va.items())[10:]}
    vb["extra"] = 0.5
    with pytest.warns(UserWarning, match="90 shared queries"):
        c = compare([_res("A", "t", va)], [_res("B", "t", vb)])
    row = c.rows[0]
    assert (row.n_queries, row.only_a, row.only_b) == (90, 10, 1)
    assert row.p_value == 1.0 and c.notes
    with pytest.raises(CodequarryError, match="share no query ids"):
        compare([_res("A", "t", {"x": 1.0})], [_res("B", "t", {"y": 1.0})])


def test_matching_by_task_and_split():
    a = [_res("A", "cosqa", _values(7), split="dev"), _res("A", "cosqa", _values(8), split="test"),
         _res("A", "only-a", _values(9))]
    b = [_res("B", "cosqa", _values(7), split="dev"), _res("B", "other", _values(9))]
    c = compare(a, b)
    assert [(r.task, r.split) for r in c.rows] == [("cosqa", "dev")]
    assert c.unmatched_a == ("cosqa [test]", "only-a [test]") and c.unmatched_b == ("other [test]",)
    with pytest.raises(CodequarryError, match="no task appears in both"):
        compare([a[2]], [b[1]])
    with pytest.raises(CodequarryError, match="two results"):
        compare([a[0], a[0]], b)
    with pytest.raises(CodequarryError, match="no per-query 'ndcg@10'"):
        compare(a, b, measure="ndcg@10")
    with pytest.raises(CodequarryError, match="method"):
        compare(a, b, method="wilcoxon")


def test_reports_and_paths(tmp_path):
    a = [_res("A", "t1", _values(10, shift=0.1)), _res("A", "t2", _values(11))]
    b = [_res("B", "t1", _values(10)), _res("B", "t2", _values(11, shift=0.01))]
    for r in a:
        save_result(r, tmp_path / "a")
    for r in b:
        save_result(r, tmp_path / "b")
    c = compare_paths(tmp_path / "a", tmp_path / "b", permutations=500)
    direct = compare(a, b, permutations=500)
    assert [r.p_value for r in c.rows] == [r.p_value for r in direct.rows]
    md = c.to_markdown()
    assert "| t1 | test | mrr | 300 |" in md and "Holm" in md and "✓" in md
    d = c.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["tasks"][0]["task"] == "t1" and d["correction"] == "holm"
    with pytest.raises(CodequarryError, match="no codequarry result files"):
        compare_paths(tmp_path / "a", tmp_path / "empty" if (tmp_path / "empty").mkdir() is None else None)
