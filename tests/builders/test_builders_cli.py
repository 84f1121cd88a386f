"""`codequarry build SOURCE … --out DIR`: summary output, errors without tracebacks, --overwrite."""

from __future__ import annotations

import json
import subprocess
import sys

from codequarry.cli import main
from codequarry.pairs import PairsDir


def _cosqa(tmp_path):
    p = tmp_path / "cosqa-dev.json"
    items = [{"idx": f"cosqa-dev-{i}", "doc": f"query {i}", "code": f"def f{i}(): pass", "code_tokens": "def f ( )",
              "docstring_tokens": "", "label": i % 2} for i in range(3)]
    items.append({"idx": "cosqa-dev-0", "doc": "dup", "code": "x", "label": 1})
    p.write_text(json.dumps(items))
    return p


def test_build_prints_a_summary(tmp_path, capsys):
    src = _cosqa(tmp_path)
    out = tmp_path / "out"
    assert main(["build", "cosqa", "--path", str(src), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert f"codequarry build cosqa: wrote 3 rows to {out}" in text
    assert "python  valid  3" in text
    assert "excluded 1 records:" in text and "duplicate_id: 1" in text
    assert "read 4 = written 3 + excluded 1" in text and "fingerprint sha256:" in text
    manifest = PairsDir(out).manifest
    assert manifest["created_by"] == f"codequarry build cosqa --path {src} --out {out}"
    assert manifest["params"] == {"path": [str(src)], "kind": "qa"}


def test_overwrite_and_refusal(tmp_path, capsys):
    src = _cosqa(tmp_path)
    out = tmp_path / "out"
    assert main(["build", "cosqa", "--path", str(src), "--out", str(out)]) == 0
    assert main(["build", "cosqa", "--path", str(src), "--out", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main(["build", "cosqa", "--path", str(src), "--out", str(out), "--overwrite"]) == 0


def test_user_mistakes_exit_nonzero_without_traceback(tmp_path):
    cases = [
        ["build", "cosqa", "--path", str(tmp_path / "missing.json"), "--out", str(tmp_path / "o")],
        ["build", "staqc", "--path", str(tmp_path), "--out", str(tmp_path / "o2")],
        ["build", "files", "--path", str(_cosqa(tmp_path)), "--query-col", "nope", "--out", str(tmp_path / "o3")],
        ["build", "nosuchsource", "--out", str(tmp_path / "o4")],
    ]
    for argv in cases:
        res = subprocess.run([sys.executable, "-m", "codequarry.cli", *argv], capture_output=True, text=True, timeout=120)
        assert res.returncode == 2, (argv, res.stderr)
        assert "Traceback" not in res.stderr and "error" in res.stderr, res.stderr
    res = subprocess.run([sys.executable, "-m", "codequarry.cli", *cases[2]], capture_output=True, text=True, timeout=120)
    assert "Available columns: idx, doc, code, code_tokens, docstring_tokens, label" in res.stderr


def test_files_cli_mapping_options(tmp_path, capsys):
    p = tmp_path / "train.jsonl"
    p.write_text(json.dumps({"q": "reverse", "c": "s[::-1]", "l": "Py", "y": "1"}) + "\n")
    out = tmp_path / "o"
    assert main(["build", "files", "--path", str(p), "--query-col", "q", "--code-col", "c", "--language-col", "l",
                 "--label-col", "y", "--out", str(out)]) == 0
    (row,) = PairsDir(out).read().to_pylist()
    assert (row["query"], row["code"], row["language"], row["label"]) == ("reverse", "s[::-1]", "python", 1)


def test_overwrite_refuses_an_out_folder_holding_the_input(tmp_path, capsys):
    """`--out X --overwrite` with the input inside X would delete the input: refused, for every source."""
    out = tmp_path / "out"
    assert main(["build", "cosqa", "--path", str(_cosqa(tmp_path)), "--out", str(out)]) == 0
    src = out / "cosqa-dev.json"
    src.write_text((tmp_path / "cosqa-dev.json").read_text())
    capsys.readouterr()
    for source in ("cosqa", "files"):
        extra = ["--language", "python"] if source == "files" else []
        assert main(["build", source, "--path", str(src), *extra, "--out", str(out), "--overwrite"]) == 2
        err = capsys.readouterr().err
        assert "lies inside --out" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
        assert src.exists()
    from codequarry.builders import build, repos
    from codequarry.errors import CodequarryError

    (out / "lib").mkdir()
    (out / "lib" / "m.py").write_text('def f(x):\n    """Double."""\n    return 2 * x\n')
    for call in (lambda: build("cosqa", out, path=str(src), overwrite=True),
                 lambda: repos.build(out, paths=[str(out / "lib")], overwrite=True)):
        try:
            call()
        except CodequarryError as exc:
            assert "lies inside --out" in str(exc)
        else:
            raise AssertionError("the build did not refuse")
        assert src.exists() and (out / "lib" / "m.py").exists()
    # an --out inside the input folder is fine (e.g. building the current repository into ./pairs)
    m = repos.build(out / "lib" / "pairs", paths=[str(out / "lib")])
    assert m["counts"]["written"] == 1
