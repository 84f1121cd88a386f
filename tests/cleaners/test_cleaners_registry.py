"""Every registered step: description, Params, config checks, empty and small batches, accounting."""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from codequarry.cleaners.base import STEP_KINDS, GlobalStep, Step, StepOutput
from codequarry.cleaners.registry import STEPS, describe_steps, format_steps, step_class
from codequarry.errors import CodequarryError


def sample_params(name: str, h: Any, tmp: Path) -> dict[str, Any]:
    """Parameters a step needs before it can run on a batch (steps whose defaults run as is get none)."""
    if name == "decontaminate":  # a benchmark pairs dir whose test split holds one of the sample rows
        bench = h.write_pairs(tmp / "bench", {"test": [h.row("bench-0", code=h.SAMPLE_CODE["java"], language="java")]})
        return {"dirs": [str(bench.path)]}
    return {}


def _module_exists(name: str) -> bool:
    return importlib.util.find_spec(STEPS.get(name).partition(":")[0]) is not None


def _small_rows(h: Any) -> list[dict[str, Any]]:
    rows = [h.row(i, language=lang, code=h.SAMPLE_CODE[lang], func_name=f"fn_{i}", path=f"f{i % 3}.x",
                  repo=f"org/r{i % 2}") for i, lang in enumerate(h.SAMPLE_CODE)]
    rows += [h.row("dup", code=h.SAMPLE_CODE["python"]), h.row("nul", query=None),
             h.row("test", func_name="test_add"), h.row("html", query="Adds <b>two</b> numbers together now."),
             h.row("bad", code="def broken(:\n  pass\n"), h.row("unk", language="cobol", code="MOVE A TO B.")]
    return rows


def _run(step: Step, table: pa.Table, tmp: Path) -> StepOutput:
    if isinstance(step, GlobalStep):
        half = table.num_rows // 2
        parts = [table.slice(0, half), table.slice(half)]
        decision = step.resolve(iter([step.map(p) for p in parts]), tmp)
        outs = [step.apply(p, decision) for p in parts]
        kept = pa.concat_tables([o.kept for o in outs], promote_options="permissive")
        dropped = [o.dropped for o in outs if o.dropped is not None and o.dropped.num_rows]
        return StepOutput(kept=kept, dropped=pa.concat_tables(dropped, promote_options="permissive") if dropped else None,
                          reasons=tuple(r for o in outs for r in o.reasons))
    return step.process(table)


@pytest.mark.parametrize("name", STEPS.names())
def test_step_contract(name: str, h: Any, tmp_path: Path) -> None:
    cls = step_class(name)  # a registered step whose module is missing fails here (never skipped)
    assert cls.name == name
    assert cls.kind in STEP_KINDS
    assert cls.description and "\n" not in cls.description and len(cls.description) <= 250
    assert dataclasses.is_dataclass(cls.Params) and cls.Params.__dataclass_params__.frozen
    for f in dataclasses.fields(cls.Params):
        assert f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING, f.name
    with pytest.raises(CodequarryError, match="no_such_param"):
        cls.from_config({"no_such_param": 1})
    step = cls.from_config(sample_params(name, h, tmp_path))
    assert step.param_dict() == cls.from_config(step.param_dict()).param_dict()  # resolved params round-trip

    empty = h.batch([])
    out = _run(step, empty, tmp_path)
    assert out.kept.num_rows == 0 and out.num_dropped == 0
    for f in step.added_fields():
        assert f.name in out.kept.column_names

    rows = _small_rows(h)
    table = h.batch(rows, split=["train", "test"] * (len(rows) // 2) + ["valid"] * (len(rows) % 2))
    out = _run(step, table, tmp_path)
    assert out.kept.num_rows + out.num_dropped == table.num_rows
    assert len(out.reasons) == out.num_dropped and all(isinstance(r, str) and r for r in out.reasons)
    kept_ids = out.kept["id"].to_pylist()
    dropped_ids = out.dropped["id"].to_pylist() if out.dropped is not None else []
    assert sorted(kept_ids + dropped_ids) == sorted(r["id"] for r in rows)
    order = [r["id"] for r in rows]
    assert kept_ids == [i for i in order if i in set(kept_ids)], "steps keep the input order"
    if cls.kind == "annotate":
        assert out.num_dropped == 0
    for f in step.added_fields():
        assert out.kept.schema.field(f.name).type == f.type


def test_contract_fails_when_a_registered_module_is_missing(monkeypatch: pytest.MonkeyPatch, h: Any,
                                                            tmp_path: Path) -> None:
    monkeypatch.setitem(STEPS._items, "ghost", "codequarry.cleaners.no_such_module:Ghost")
    try:
        test_step_contract("ghost", h, tmp_path)
    except CodequarryError as exc:
        assert "not part of this installation" in str(exc)
    except pytest.skip.Exception:
        pytest.fail("the contract test skipped a registered step whose module is missing instead of failing")
    else:
        pytest.fail("the contract test passed for a step whose module does not exist")


def test_every_registered_step_is_available() -> None:
    missing = [n for n in STEPS.names() if not _module_exists(n)]
    assert not missing, f"registered steps without a module: {missing}"


def test_unknown_step_suggests() -> None:
    with pytest.raises(CodequarryError, match="Did you mean 'parse_check'"):
        step_class("parse_chek")


def test_param_types_are_checked() -> None:
    cls = step_class("query_length")
    with pytest.raises(CodequarryError, match="min_tokens.*expects int | null"):
        cls.from_config({"min_tokens": "three"})
    with pytest.raises(CodequarryError, match="expects bool"):
        cls.from_config({"summary": 1})
    assert cls.from_config({"min_tokens": None}).params.min_tokens is None
    split = step_class("split")
    with pytest.raises(CodequarryError, match="sum to 1"):
        split.from_config({"ratios": {"train": 0.5, "test": 0.2}})
    with pytest.raises(CodequarryError, match="mode"):
        split.from_config({"mode": "random"})
    assert split.from_config({"ratios": {"train": 1}}).params.ratios == {"train": 1.0}
    nn = step_class("not_null").from_config({"columns": ["query"]})
    assert nn.params.columns == ("query",)  # YAML lists become tuples


def test_every_step_parameter_is_explained_in_its_declaration() -> None:
    """Each field of a registered step's Params carries its help (``codequarry.options.option``), shown by
    ``clean --list-steps``: a field declared without one fails here."""
    from codequarry import options

    for name in STEPS.names():
        cls = step_class(name)
        for spec in options.specs(cls.Params):
            assert spec.meta.help.strip(), f"step {name}: parameter {spec.name} has no help"
    text = format_steps(describe_steps())
    assert "    max_errors: int = 0\n        most ERROR/MISSING tree-sitter nodes" in text


def test_list_steps_shows_kind_description_and_defaults() -> None:
    text = format_steps(describe_steps())
    assert "query_length" in text and "[filter]" in text and "min_tokens: int | null = 3" in text
    assert "split" in text and '"train": 0.8' in text
    for d in describe_steps():
        assert d["name"] in text
