"""`codequarry card` and `codequarry publish` through the real CLI entry point."""

from __future__ import annotations

import pytest
from huggingface_hub import DatasetCard

from codequarry.cli import main
from codequarry.dataset_cards.cli import parse_size
from codequarry.errors import CodequarryError
from codequarry.pairs import PairsDir


def test_card_command_writes_the_card(pairs_factory, capsys):
    d = pairs_factory()
    assert main(["card", str(d.path), "--pretty-name", "Tiny CSN", "--license", "C-UDA"]) == 0
    assert "README.md" in capsys.readouterr().out
    data = DatasetCard((d.path / "README.md").read_text()).data
    assert data.pretty_name == "Tiny CSN" and data.license == "c-uda"


def test_publish_dry_run_prints_operations_and_writes_the_folder(pairs_factory, tmp_path, capsys):
    d = pairs_factory()
    out = tmp_path / "upload"
    code = main(["publish", str(d.path), "--repo-id", "acme/tiny", "--dry-run", "--out", str(out),
                 "--max-shard-size", "4kB", "--row-group-size", "1500", "--commit-batch", "3"])
    text = capsys.readouterr().out
    assert code == 0
    assert text.startswith("dry run: would send")
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert all(f in text for f in files)
    assert f"in {-(-len(files) // 3)} commit(s)" in text
    assert PairsDir(out).fingerprint == d.fingerprint


def test_publish_errors_exit_non_zero_with_a_message(pairs_factory, tmp_path, capsys):
    d = pairs_factory()
    assert main(["publish", str(d.path), "--repo-id", "not-a-repo-id", "--dry-run"]) == 2
    assert "invalid --repo-id" in capsys.readouterr().err
    # without --dry-run and with HF_HUB_OFFLINE=1 (set for every test) the Hub is never reached
    assert main(["publish", str(d.path), "--repo-id", "acme/tiny"]) == 2
    err = capsys.readouterr().err
    assert "HF_HUB_OFFLINE=1" in err and "Traceback" not in err
    assert main(["card", str(tmp_path / "missing")]) == 2
    assert "not a folder" in capsys.readouterr().err


@pytest.mark.parametrize("text, n", [("500MB", 500_000_000), ("100MiB", 100 * 2**20), ("1500", 1500), ("4kB", 4000),
                                     ("1.5GB", 1_500_000_000)])
def test_parse_size(text, n):
    assert parse_size(text) == n


def test_parse_size_rejects_garbage():
    with pytest.raises(CodequarryError, match="invalid size"):
        parse_size("big")


def test_package_import_is_light_and_exports_resolve():
    import subprocess
    import sys

    code = ("import sys, codequarry.dataset_cards as dc, codequarry.dataset_cards.cli; "
            "heavy = [m for m in ('datasets', 'huggingface_hub', 'pyarrow', 'matplotlib') if m in sys.modules]; "
            "assert not heavy, heavy; assert callable(dc.publish) and callable(dc.render_card) and callable(dc.write_card)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
