"""codequarry.options: one declaration gives checks, CLI flags, --help and a description."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Literal

import pytest

from codequarry import options
from codequarry.errors import CodequarryError
from codequarry.options import option


@dataclass(frozen=True)
class Inner:
    col: str | None = option("x", flag="--x-col", help="the x column")


@dataclass(frozen=True)
class Demo:
    path: tuple[str, ...] = option(required=True, flag="--path", metavar="P", repeat=True, help="inputs")
    mode: Literal["a", "b"] = option("a", help="how")
    size: int = option(3, minimum=1, help="how many")
    ratio: float = option(0.5, minimum=0, below=1, help="a fraction")
    words: tuple[str, ...] | None = option(None, help="some words")
    fast: bool = option(False, help="go fast")
    checks: bool = option(True, help="check things")
    threads: int | None = option(None, flag="--threads", minimum=1, help="threads")
    tags: tuple[str, ...] = option((), repeat=True, metavar="T", help="repeatable, with a default")
    hidden: int = option(7, cli=False, help="library only")
    inner: Inner = option(Inner(), help="columns")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="demo")
    options.add_arguments(p, Demo)
    return p


def test_flags_and_values_come_from_the_declaration(capsys: pytest.CaptureFixture[str]) -> None:
    args = _parser().parse_args(["--path", "a", "--path", "b", "--mode", "b", "--size", "4", "--words", "u", "v",
                                 "--fast", "--no-checks", "--threads", "2", "--x-col", "y"])
    values = options.values_from_args(Demo, args)
    assert values == {"path": ("a", "b"), "mode": "b", "size": 4, "ratio": 0.5, "words": ("u", "v"), "fast": True,
                      "checks": False, "threads": 2, "tags": (), "inner": Inner(col="y")}
    assert Demo(**values).hidden == 7
    defaults = options.values_from_args(Demo, _parser().parse_args(["--path", "a"]))
    assert defaults["mode"] == "a" and defaults["size"] == 3 and defaults["checks"] is True and defaults["words"] is None
    assert defaults["tags"] == ()  # a repeatable flag not given reads back as its default, not None
    assert options.values_from_args(Demo, _parser().parse_args(["--path", "a", "--tags", "x", "--tags", "y"]))["tags"] == (
        "x", "y")
    with pytest.raises(SystemExit):
        _parser().parse_args(["--help"])
    text = capsys.readouterr().out
    assert "how many (default: 3)" in text and "do not check things" in text and "--hidden" not in text
    assert "{a,b}" in text and "--x-col" in text


@pytest.mark.parametrize("argv", [["--size", "0"], ["--ratio", "1"], ["--mode", "c"], ["--size", "x"], []])
def test_bad_command_lines_are_usage_errors(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        _parser().parse_args((["--path", "p"] if argv else []) + argv)
    assert exc.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_from_mapping_checks_names_types_and_bounds() -> None:
    d = options.from_mapping(Demo, {"path": ["a"], "size": 2}, "demo")
    assert d.path == ("a",) and d.size == 2
    with pytest.raises(CodequarryError, match=r"demo has no parameter\(s\) \['nope'\]"):
        options.from_mapping(Demo, {"path": ["a"], "nope": 1}, "demo")
    with pytest.raises(CodequarryError, match="parameter 'size' expects int"):
        options.from_mapping(Demo, {"path": ["a"], "size": "3"}, "demo")
    options.check(d, "demo")
    with pytest.raises(CodequarryError, match="demo: size must be a positive integer, got 0"):
        options.check(Demo(path=("a",), size=0), "demo")
    with pytest.raises(CodequarryError, match="demo: ratio must be below 1"):
        options.check(Demo(path=("a",), ratio=1.0), "demo")
    with pytest.raises(CodequarryError, match="demo: mode must be one of a, b"):
        options.check(Demo(path=("a",), mode="z"), "demo")  # type: ignore[arg-type]


def test_describe_is_json_ready() -> None:
    desc = {d["name"]: d for d in options.describe(Demo)}
    assert desc["path"]["default"] is None and desc["path"]["type"] == "list[str]"
    assert desc["mode"]["type"] == "'a' | 'b'" and desc["size"] == {"name": "size", "type": "int", "default": 3,
                                                                    "help": "how many"}


def test_mutable_default_is_refused() -> None:
    with pytest.raises(TypeError, match="immutable"):
        option([1])


def test_training_flags_are_generated_from_train_config() -> None:
    """Every TrainConfig option with a CLI flag is a `codequarry train` flag, and the flag maps back to it."""
    from codequarry.benchmarks import train_cli
    from codequarry.benchmarks.train_config import TrainConfig

    parser = argparse.ArgumentParser(prog="codequarry")
    train_cli.register(parser.add_subparsers(dest="command"))
    sub = parser._subparsers._group_actions[0].choices["train"]  # type: ignore[union-attr]
    flags = {o for a in sub._actions for o in a.option_strings}
    for s in options.specs(TrainConfig):
        if s.meta.cli:
            assert s.flag in flags
    args = parser.parse_args(["train", "D", "--base", "B", "--out", "O", "--warmup-steps", "5", "--scheduler", "cosine",
                              "--no-select-best", "--precision", "bf16"])
    cfg = TrainConfig(**train_cli.options_from_args(args))
    cfg.check()
    assert (cfg.warmup_steps, cfg.scheduler, cfg.select_best, cfg.precision) == (5, "cosine", False, "bf16")
    with pytest.raises(CodequarryError, match="--no-select-best applies to bi-encoders only"):
        train_cli.options_from_args(parser.parse_args(["train", "D", "--base", "B", "--out", "O", "--kind",
                                                       "cross-encoder", "--no-select-best"]))


def test_model_kinds_declare_their_options_the_same_way() -> None:
    """Every model kind's --model-arg options are an options dataclass: typed parsing and help come from it."""
    import dataclasses

    from codequarry.benchmarks import models

    for kind, entry in models.KINDS.items():
        import importlib

        cls = importlib.import_module(entry.module).OPTIONS[kind]
        assert dataclasses.is_dataclass(cls), kind
        assert all(s.meta.help for s in options.specs(cls)), kind
    from codequarry.benchmarks.models_bm25 import BM25Options
    from codequarry.benchmarks.models_dense import STOptions

    got = models.parse_options("bm25", BM25Options, {"k1": "2", "split_identifiers": "false", "threshold": "none"})
    assert got["k1"] == 2.0 and got["split_identifiers"] is False and got["threshold"] is None and got["b"] == 0.75
    assert models.parse_options("st:x", STOptions, {"max_length": "128"})["max_length"] == 128
    with pytest.raises(CodequarryError, match="expected int"):
        models.parse_options("st:x", STOptions, {"max_length": "long"})
    with pytest.raises(CodequarryError, match="not an option of bm25 models"):
        models.parse_options("bm25", BM25Options, {"k3": "1"})


def test_cross_encoder_training_shares_the_bi_encoder_declarations() -> None:
    """RerankConfig takes the shared options with `like` (same flag and help, its own default)."""
    from codequarry.benchmarks import train_cli
    from codequarry.benchmarks.train_config import RerankConfig, TrainConfig

    train = {s.name: s for s in options.specs(TrainConfig)}
    rerank = {s.name: s for s in options.specs(RerankConfig)}
    assert rerank["num_negatives"].flag == "--hard-negatives" and rerank["num_negatives"].default == 3
    assert rerank["batch_size"].meta.help == train["batch_size"].meta.help and rerank["batch_size"].default == 16
    assert rerank["max_length"].flag == "--max-seq-length" and rerank["num_threads"].flag == "--threads"
    parser = argparse.ArgumentParser(prog="codequarry")
    train_cli.register(parser.add_subparsers(dest="command"))
    base = ["train", "D", "--base", "B", "--out", "O"]
    ce = train_cli.options_from_args(parser.parse_args([*base, "--kind", "cross-encoder", "--hard-negatives", "5",
                                                        "--max-seq-length", "128", "--rerank-top", "7"]))
    cfg = RerankConfig(**ce)
    cfg.check()
    assert (cfg.num_negatives, cfg.max_length, cfg.rerank_top, cfg.batch_size) == (5, 128, 7, 16)
    with pytest.raises(CodequarryError, match="--rerank-top applies to cross-encoders only"):
        train_cli.options_from_args(parser.parse_args([*base, "--rerank-top", "7"]))
    with pytest.raises(CodequarryError, match="rerank_top must be a positive integer"):
        RerankConfig(rerank_top=0).check()
    with pytest.raises(TypeError, match="no option"):
        options.like(TrainConfig, "nope")


@dataclass(frozen=True)
class Recorded:
    path: tuple[str, ...] = option(required=True, help="inputs")
    fmt: str | None = option(None, flag="--format", param="format", help="a format")
    workers: int = option(1, record=False, help="does not change the output")
    inner: Inner = option(Inner(), help="columns")


def test_from_keywords_names_unknown_and_missing_options() -> None:
    with pytest.raises(CodequarryError, match=r"^source 'x' has no option\(s\) \['bogus'\]; its options are "
                                              r"\['fmt', 'inner', 'path', 'workers'\]$"):
        options.from_keywords(Recorded, {"path": ("a",), "bogus": 1}, "source 'x'")
    with pytest.raises(CodequarryError, match=r"^source 'x' needs the option\(s\) \['path'\]$"):
        options.from_keywords(Recorded, {"fmt": "csv"}, "source 'x'")
    value = options.from_keywords(Recorded, {"path": ("a",)}, "source 'x'")
    assert value == Recorded(path=("a",)) and value.workers == 1  # the defaults are the declaration's


def test_params_of_records_every_option_under_its_param_name() -> None:
    from pathlib import Path

    value = Recorded(path=("a", "b"))
    assert options.params_of(value) == {"path": ["a", "b"], "format": None, "inner": {"col": "x"}}
    # the values a build resolved replace the given ones, JSON-ready (paths as strings, tuples as lists)
    assert options.params_of(value, path=[Path("a"), Path("c")], fmt="csv") == {
        "path": ["a", "c"], "format": "csv", "inner": {"col": "x"}}
    with pytest.raises(TypeError, match="no option"):
        options.params_of(value, nope=1)


def test_a_mutable_default_comes_from_a_factory() -> None:
    @dataclass(frozen=True)
    class WithMap:
        table: dict[str, float] = option(default_factory=dict, help="a map")

    assert WithMap().table == {} and WithMap().table is not WithMap().table
    assert options.describe(WithMap) == [{"name": "table", "type": "map[str, float]", "default": {}, "help": "a map"}]
    with pytest.raises(TypeError, match="not both"):
        option(1, default_factory=dict)
