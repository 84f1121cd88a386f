"""Every CLI command has --help text, every option is explained, and every command is in the README."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import pytest

from codequarry.cli import build_parser, main, subcommands

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
COMMANDS = sorted(subcommands())


def test_expected_commands_exist():
    assert {"sources", "tasks", "build", "clean", "bench", "compare", "leaderboard", "card", "publish", "demo",
            "train"} <= set(COMMANDS)


@pytest.mark.parametrize("name", COMMANDS)
def test_command_help_and_readme(name, capsys):
    with pytest.raises(SystemExit) as exc:
        main([name, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert f"codequarry {name}" in out and len(out) > 80
    parser = subcommands()[name]
    assert (parser.description or "").strip(), f"`codequarry {name}` has no description"
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        assert action.help and action.help != argparse.SUPPRESS, f"`codequarry {name}` option {action.dest} has no help"
    assert re.search(rf"`codequarry {name}\b|^\s*codequarry {name}\b", README, re.M), f"`codequarry {name}` not in README"


def test_top_level_help_lists_every_command(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert name in out


def test_unknown_command_is_a_usage_error():
    parser = build_parser()
    with pytest.raises(SystemExit) as exc:
        parser.parse_args(["no-such-command"])
    assert exc.value.code == 2


def test_help_is_fast_and_light():
    """`codequarry --help` must not import heavy libraries (torch, datasets, ray)."""
    code = ("import sys; from codequarry.cli import build_parser; build_parser(); "
            "heavy=[m for m in ('torch','datasets','ray','sentence_transformers','matplotlib') if m in sys.modules]; "
            "print(','.join(heavy)); sys.exit(1 if heavy else 0)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, f"heavy imports at CLI start: {res.stdout}"


# ---------------------------------------------------------------------------------------------
# logging: -v / -q


def test_verbosity_flags_set_the_codequarry_logger(tmp_path, capsys):
    import logging

    from codequarry import progress
    from codequarry.cli import configure_logging

    log = logging.getLogger("codequarry")
    try:
        parser = build_parser()
        for argv, level in ((["sources"], logging.WARNING), (["-v", "sources"], logging.INFO),
                            (["sources", "-vv"], logging.DEBUG), (["-q", "sources"], logging.ERROR),
                            (["sources", "--quiet"], logging.ERROR)):
            args = parser.parse_args(argv)
            assert configure_logging(args.verbose or 0, bool(args.quiet)).level == level, argv
        with pytest.raises(SystemExit):
            parser.parse_args(["-v", "-q", "sources"])
        configure_logging(quiet=True)
        assert progress.progress(range(3)).disable  # -q: no progress bars
        configure_logging(verbose=1)
        logging.getLogger("codequarry.dataset_cards.card").info("hello from a module")
        assert "codequarry: INFO: hello from a module" in capsys.readouterr().err
        assert len([h for h in log.handlers if getattr(h, "_codequarry_cli", False)]) == 1  # replaced, not stacked
    finally:
        configure_logging()


@pytest.fixture
def pairs_dir_for_cli(tmp_path):
    from codequarry.pairs import PairsWriter, SourceInfo

    out = tmp_path / "pairs"
    with PairsWriter(out, created_by="test", sources=[SourceInfo(name="files", license="MIT")]) as w:
        w.write([{"id": f"r{i}", "query": f"add {i} numbers", "code": f"def add{i}(a, b):\n    return a + b",
                  "language": "python", "source": "files", "repo": "o/r", "license": "MIT"} for i in range(5)],
                split="train")
    return out


def test_quiet_card_prints_only_the_result(pairs_dir_for_cli, capsys):
    assert main(["-q", "card", str(pairs_dir_for_cli)]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("wrote ") and captured.err == ""
    assert main(["card", str(pairs_dir_for_cli), "-v"]) == 0
    assert "INFO: computing the statistics of" in capsys.readouterr().err
