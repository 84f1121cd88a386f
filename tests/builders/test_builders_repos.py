"""`build repos`: folders, git repositories and clone URLs → pairs, as CodeSearchNet extracted them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from codequarry.builders import repos as R
from codequarry.cli import main
from codequarry.errors import CodequarryError
from codequarry.pairs import PairsDir
from codequarry.schema import make_id

MIT = ("MIT License\n\nCopyright (c) 2024 Someone\n\nPermission is hereby granted, free of charge, to any person "
       "obtaining a copy\nof this software and associated documentation files (the \"Software\"), to deal ...\n\n"
       "The above copyright notice and this permission notice shall be included in all\ncopies or substantial "
       "portions of the Software.\n")

PY_MAIN = '''\
"""Module doc."""


def add(a, b):
    """Add two numbers.

    Returns their sum."""
    return a + b


def helper(x):
    return x


class Shape:
    def area(self):
        """Area of the shape."""
        return 0
'''

# one documented function per language: (file name, source, func_name)
PER_LANGUAGE = {
    "python": ("m.py", 'def f(x):\n    """Doubles x."""\n    return 2 * x\n', "f"),
    "java": ("A.java", "class A {\n  /** Doubles x. */\n  int f(int x) {\n    return 2 * x;\n  }\n}\n", "A.f"),
    "go": ("m.go", "package m\n\n// Doubles x.\nfunc F(x int) int {\n\treturn 2 * x\n}\n", "F"),
    "javascript": ("m.js", "/** Doubles x. */\nfunction f(x) {\n  return 2 * x;\n}\n", "f"),
    "php": ("m.php", "<?php\nclass A {\n  /** Doubles x. */\n  function f($x) {\n    return 2 * $x;\n  }\n}\n", "A.f"),
    "ruby": ("m.rb", "module M\n  class A\n    # Doubles x.\n    def f(x)\n      2 * x\n    end\n  end\nend\n", "M.A.f"),
    "typescript": ("m.ts", "/** Doubles x. */\nexport function f(x: number): number {\n  return 2 * x;\n}\n", "f"),
    "tsx": ("v.tsx", "/** Doubles x. */\nexport function V(p: P) {\n  return <b>{2 * p.x}</b>;\n}\n", "V"),
    "rust": ("m.rs", "/// Doubles x.\npub fn f(x: i32) -> i32 {\n    2 * x\n}\n", "f"),
    "c": ("m.c", "/* Doubles x. */\nint f(int x)\n{\n    return 2 * x;\n}\n", "f"),
    "cpp": ("m.cpp", "/// Doubles x.\nint f(int x) {\n  return 2 * x;\n}\n", "f"),
    "c_sharp": ("M.cs", "class A {\n  /// <summary>Doubles x.</summary>\n  int F(int x) {\n    return 2 * x;\n  }\n}\n",
                "A.F"),
    "kotlin": ("A.kt", "class A {\n  /** Doubles x. */\n  fun f(x: Int): Int {\n    return 2 * x\n  }\n}\n", "A.f"),
    # the code is the statement: a `;` after it separates statements and is not part of it
    "sql": ("f.sql", "-- Doubles x.\nCREATE FUNCTION f(x integer) RETURNS integer AS $$\n  SELECT 2 * x;\n$$ LANGUAGE SQL\n",
            "f"),
}


def _write(root: Path, files: dict[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def _git(repo: Path, *args: str, date: str | None = None) -> str:
    env = dict(os.environ, GIT_AUTHOR_NAME="T", GIT_AUTHOR_EMAIL="t@example.com", GIT_COMMITTER_NAME="T",
               GIT_COMMITTER_EMAIL="t@example.com", GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")
    if date:
        env.update(GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
    out = subprocess.run(["git", "-c", "init.defaultBranch=main", *args], cwd=repo, env=env, check=True,
                         capture_output=True, text=True)
    return out.stdout.strip()


def _rows(out: Path) -> list[dict]:
    return PairsDir(out).read().to_pylist()


def _text_at(root: Path, row: dict) -> str:
    """The source text of a row's line range."""
    lines = (root / row["path"]).read_text(encoding="utf-8").split("\n")
    return "\n".join(lines[row["start_line"] - 1:row["end_line"]])


def test_folder_build_rows_are_csn_pairs(tmp_path, accounted, exclusions):
    src = _write(tmp_path / "proj", {"LICENSE": MIT, "pkg/main.py": PY_MAIN, "README.md": "# not code"})
    manifest = R.build(tmp_path / "out", paths=[src])
    counts = accounted(manifest)
    assert counts == {"read": 3, "written": 2, "excluded": 1, "exclusion_reasons": {"build/no_docstring": 1}}
    rows = {r["func_name"]: r for r in _rows(tmp_path / "out")}
    assert set(rows) == {"add", "Shape.area"}
    add = rows["add"]
    assert add["query"] == "Add two numbers." and add["query_tokens"] == ["Add", "two", "numbers", "."]
    # the docstring is not in `code` (the query would be found in it); the full function is meta.original_string
    assert add["code"] == "def add(a, b):\n    return a + b" and add["query"] not in add["code"]
    assert json.loads(add["meta"])["original_string"] == _text_at(src, add)
    assert add["code_tokens"] == ["def", "add", "(", "a", ",", "b", ")", ":", "return", "a", "+", "b"]
    assert (add["start_line"], add["end_line"]) == (4, 8) and add["path"] == "pkg/main.py"
    assert add["repo"] == "proj" and add["license"] == "MIT" and add["sha"] is None and add["url"] is None
    assert add["language"] == "python" and add["source"] == "repos" and add["label"] is None
    meta = json.loads(add["meta"])
    assert meta["docstring"] == "Add two numbers.\n\n    Returns their sum." and meta["parameters"] == ["a", "b"]
    assert json.loads(rows["Shape.area"]["meta"])["original_string"] in _text_at(src, rows["Shape.area"])
    assert add["id"] == make_id("repos", "proj", "pkg/main.py", "add", 4)
    excl = exclusions(tmp_path / "out")
    assert {(e["reason"], e["func_name"]) for e in excl} == {("no_docstring", "helper")}
    assert excl[0]["locator"] == "proj:pkg/main.py#L11-L12" and excl[0]["code"] is None


@pytest.mark.parametrize("lang", sorted(PER_LANGUAGE))
def test_every_registered_language(tmp_path, lang, accounted):
    from codequarry.languages import LANGUAGES

    assert set(PER_LANGUAGE) == set(LANGUAGES.names())
    name, code, func_name = PER_LANGUAGE[lang]
    src = _write(tmp_path / "p", {name: code})
    accounted(R.build(tmp_path / "out", paths=[src]))
    (row,) = _rows(tmp_path / "out")
    assert row["func_name"] == func_name and row["query"] == "Doubles x."
    assert row["language"] == LANGUAGES.get(lang).dataset_language
    original = json.loads(row["meta"]).get("original_string", row["code"])
    assert original in _text_at(src, row) and _text_at(src, row).endswith(original.split("\n")[-1])
    assert len(row["code_tokens"]) > 5
    assert "Doubles x" not in row["code"]  # the docstring is never left in the code, whatever the language
    R.build(tmp_path / "kept", paths=[src], keep_docstring=True)
    (kept,) = _rows(tmp_path / "kept")
    assert kept["code"] == original and "original_string" not in json.loads(kept["meta"])


def test_skip_words_follow_csn_and_are_configurable(tmp_path, accounted, exclusions):
    doc = 'def f():\n    """Doc."""\n    return 1\n'
    src = _write(tmp_path / "p", {"a.py": doc, "tests/b.py": doc, "latest.py": doc, "vendor/c.py": doc,
                                  "vendor/d.go": "package d\n// Doc.\nfunc D() int { return 1 }\n"})
    m = R.build(tmp_path / "o1", paths=[src])
    accounted(m)
    assert sorted(r["path"] for r in _rows(tmp_path / "o1")) == ["a.py", "vendor/c.py"]  # vendor is Go/Ruby only
    skipped = {e["path"]: e["detail"] for e in exclusions(tmp_path / "o1")}
    assert skipped == {"latest.py": "path contains 'test'", "tests/b.py": "path contains 'test'",
                       "vendor/d.go": "path contains 'vendor'"}
    R.build(tmp_path / "o2", paths=[src], no_skip=True)
    assert len(_rows(tmp_path / "o2")) == 5
    R.build(tmp_path / "o3", paths=[src], skip_words=["VENDOR"], exclude=["a.py"])
    assert sorted(r["path"] for r in _rows(tmp_path / "o3")) == ["latest.py", "tests/b.py"]
    assert PairsDir(tmp_path / "o3").manifest["repos"]["stats"]["files_excluded_by_pattern"] == 1


def test_languages_option_and_docstring_stripped_by_default(tmp_path):
    src = _write(tmp_path / "p", {n: c for n, c, _ in PER_LANGUAGE.values()})
    R.build(tmp_path / "o", paths=[src], languages=["python", "typescript"])
    rows = {r["path"]: r for r in _rows(tmp_path / "o")}
    assert set(rows) == {"m.py", "m.ts", "v.tsx"}  # typescript includes its tsx dialect
    assert rows["m.py"]["code"] == "def f(x):\n    return 2 * x" and rows["m.py"]["query"] == "Doubles x."
    assert json.loads(rows["v.tsx"]["meta"])["dialect"] == "tsx" and rows["v.tsx"]["language"] == "typescript"
    with pytest.raises(CodequarryError, match="unknown language 'cobol'"):
        R.build(tmp_path / "o2", paths=[src], languages=["cobol"])


@pytest.fixture
def git_repo(tmp_path):
    """A repo with two commits: 2020 (add, keep_old) and 2024 (new function, edit of keep_old's body)."""
    repo = tmp_path / "widgets"
    repo.mkdir()
    _git(repo, "init", "-q")
    _write(repo, {"LICENSE": MIT, "w.py": (
        'def keep_old(x):\n    """Old function."""\n    return x\n\n\n'
        'def half_new(x):\n    """Half new."""\n    y = x\n    return y\n')})
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "first", date="2020-01-01T12:00:00+00:00")
    _write(repo, {"w.py": (
        'def keep_old(x):\n    """Old function."""\n    return x\n\n\n'
        'def half_new(x):\n    """Half new."""\n    y = x + 1\n    return y\n\n\n'
        'def fresh(x):\n    """Fresh function."""\n    return -x\n')})
    _git(repo, "commit", "-q", "-am", "second", date="2024-06-01T12:00:00+00:00")
    _git(repo, "remote", "add", "origin", "git@github.com:acme/widgets.git")
    return repo


def test_git_repo_sha_url_license(git_repo, tmp_path, accounted):
    sha = _git(git_repo, "rev-parse", "HEAD")
    accounted(R.build(tmp_path / "o", paths=[git_repo]))
    rows = {r["func_name"]: r for r in _rows(tmp_path / "o")}
    assert set(rows) == {"keep_old", "half_new", "fresh"}
    fresh = rows["fresh"]
    assert fresh["repo"] == "acme/widgets" and fresh["sha"] == sha and fresh["license"] == "MIT"
    assert fresh["url"] == f"https://github.com/acme/widgets/blob/{sha}/w.py#L12-L14"
    assert fresh["id"] == make_id("repos", "acme/widgets", "w.py", "fresh", 12)  # no sha in the id


def test_since_keeps_functions_changed_after_the_date(git_repo, tmp_path, accounted, exclusions):
    m = R.build(tmp_path / "o", paths=[git_repo], since="2022-01-01")
    counts = accounted(m)
    assert [r["func_name"] for r in _rows(tmp_path / "o")] == ["fresh"]
    assert counts["exclusion_reasons"] == {"build/older_than_since": 2}
    assert {e["func_name"] for e in exclusions(tmp_path / "o")} == {"keep_old", "half_new"}
    R.build(tmp_path / "o2", paths=[git_repo], since="2019-12-31T00:00:00Z")
    assert len(_rows(tmp_path / "o2")) == 3
    R.build(tmp_path / "o3", paths=[git_repo], since="2030-01-01")
    assert _rows(tmp_path / "o3") == []
    with pytest.raises(CodequarryError, match="not a date"):
        R.build(tmp_path / "o4", paths=[git_repo], since="last tuesday")
    with pytest.raises(CodequarryError, match="needs git history"):
        R.build(tmp_path / "o5", paths=[_write(tmp_path / "plain", {"a.py": "x = 1\n"})], since="2022-01-01")


def test_clone_url_is_cloned_shallow(git_repo, tmp_path, accounted):
    url = git_repo.as_uri()  # file:///…/widgets
    accounted(R.build(tmp_path / "o", paths=[url], clone_dir=tmp_path / "clones"))
    rows = _rows(tmp_path / "o")
    assert {r["func_name"] for r in rows} == {"keep_old", "half_new", "fresh"}
    assert rows[0]["repo"] == "widgets" and rows[0]["url"] is None  # a file:// remote has no web page
    assert rows[0]["sha"] == _git(git_repo, "rev-parse", "HEAD")
    clone = next((tmp_path / "clones").iterdir())
    assert _git(clone, "rev-parse", "--is-shallow-repository") == "true"
    # --since needs history: the clone is then full, and blame sees both commits
    R.build(tmp_path / "o2", paths=[url], clone_dir=tmp_path / "clones2", since="2022-01-01")
    assert [r["func_name"] for r in _rows(tmp_path / "o2")] == ["fresh"]


def test_untracked_ignored_and_deleted_files_in_a_repo(git_repo, tmp_path, accounted, exclusions):
    _write(git_repo, {".gitignore": "build/\n", "build/gen.py": 'def g():\n    """Generated."""\n    return 1\n',
                      "new.py": 'def n():\n    """Untracked but not ignored."""\n    return 1\n'})
    _git(git_repo, "rm", "-q", "--cached", "LICENSE")
    (git_repo / "w.py").rename(git_repo / "moved_away.txt")  # tracked, now missing from the work tree
    accounted(R.build(tmp_path / "o", paths=[git_repo]))
    assert [r["func_name"] for r in _rows(tmp_path / "o")] == ["n"]
    assert [(e["path"], e["reason"]) for e in exclusions(tmp_path / "o")] == [("w.py", "unreadable")]


def test_workers_give_identical_output(tmp_path, stdlib_dir):
    src = _write(tmp_path / "p", {n: c for n, c, _ in PER_LANGUAGE.values()})
    for name in ("json", "email", "http"):
        shutil.copytree(stdlib_dir / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    m1 = R.build(tmp_path / "w1", paths=[src], workers=1)
    m2 = R.build(tmp_path / "w2", paths=[src], workers=2)
    assert m1["fingerprint"] == m2["fingerprint"] and m1["counts"] == m2["counts"] and m1["counts"]["written"] > 100
    e1 = PairsDir(tmp_path / "w1").manifest["exclusion_files"]
    assert [f["rows"] for f in e1] == [f["rows"] for f in PairsDir(tmp_path / "w2").manifest["exclusion_files"]]
    t1 = pq.read_table(tmp_path / "w1" / "exclusions" / Path(e1[0]["path"]).name)
    t2 = pq.read_table(tmp_path / "w2" / "exclusions" / Path(e1[0]["path"]).name)
    assert t1.equals(t2)
    assert [f["sha256"] for f in m1["files"]] == [f["sha256"] for f in m2["files"]]


def test_stdlib_rows_match_their_source(tmp_path, stdlib_dir):
    m = R.build(tmp_path / "o", paths=[stdlib_dir / "json"], workers=1)
    assert m["counts"]["written"] > 10
    for row in _rows(tmp_path / "o"):
        text = _text_at(stdlib_dir / "json", row)
        first = text.split("\n")[0]
        original = json.loads(row["meta"])["original_string"]  # every stdlib row here had an in-body docstring
        assert original in text and first.endswith(original.split("\n")[0])
        assert text.endswith(row["code"].split("\n")[-1]) and row["query"] not in row["code"]


def test_cli_build_and_help(tmp_path, capsys):
    src = _write(tmp_path / "p", {"m.py": PER_LANGUAGE["python"][1]})
    assert main(["build", "repos", "--path", str(src), "--out", str(tmp_path / "o")]) == 0
    manifest = PairsDir(tmp_path / "o").manifest
    assert manifest["counts"]["written"] == 1 and manifest["created_by"].startswith("codequarry build repos --path")
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["build", "repos", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--since DATE" in help_text and "postdate a model's training data" in help_text
    for option in ("--workers", "--max-file-bytes", "--skip-words", "--no-skip", "--keep-docstring", "--languages"):
        assert option in help_text


def test_user_errors(tmp_path):
    with pytest.raises(CodequarryError, match="no such file or folder"):
        R.build(tmp_path / "o", paths=[tmp_path / "missing"])
    a = _write(tmp_path / "a" / "src", {"x.py": "x = 1\n"})
    b = _write(tmp_path / "b" / "src", {"y.py": "y = 1\n"})
    with pytest.raises(CodequarryError, match="both give repo name 'src'"):
        R.build(tmp_path / "o", paths=[a, b])
    with pytest.raises(CodequarryError, match="--workers"):
        R.build(tmp_path / "o", paths=[a], workers=0)
    with pytest.raises(CodequarryError, match="clone"):
        R.build(tmp_path / "o", paths=["file:///nonexistent/repo.git"], clone_dir=tmp_path / "c")


def test_output_loads_with_datasets(tmp_path, hf_load):
    src = _write(tmp_path / "p", {n: c for n, c, _ in PER_LANGUAGE.values()})
    R.build(tmp_path / "o", paths=[src])
    ds = hf_load(tmp_path / "o")
    assert ds["train"].num_rows == len(PER_LANGUAGE)
    assert {"start_line", "end_line", "code_tokens"} <= set(ds["train"].column_names)
    go = hf_load(tmp_path / "o", "go")["train"][0]
    assert go["func_name"] == "F" and go["start_line"] == 4 and go["end_line"] == 6


def test_worker_settings_repeat_no_option_default():
    """The worker's Settings declares no default of its own: each comes from repos.Options, written once."""
    import dataclasses

    from codequarry.builders._repos_extract import Settings

    fields = dataclasses.fields(Settings)
    assert fields
    assert all(f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING for f in fields)
    assert R.Options.__dataclass_fields__["max_file_bytes"].default == R.DEFAULT_MAX_FILE_BYTES == 1_000_000
