"""Packaging: every package folder ships in the wheel as codequarry.*, and the wheel works in a fresh venv."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

REPO_ROOT = Path(__file__).resolve().parents[1]
BARE = ("builders", "cleaners", "benchmarks", "leaderboard", "dataset_cards")
NOT_PACKAGES = {"tests", "perf", "build", "dist", "docs", "examples"}


def _setuptools_config() -> dict:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def _package_for(folder: Path, package_dir: dict[str, str]) -> str | None:
    """Map a repo folder to its import name through package-dir (longest matching folder wins)."""
    rel = folder.relative_to(REPO_ROOT).as_posix()
    best = None
    for pkg, src in package_dir.items():
        if rel == src or rel.startswith(src + "/"):
            if best is None or len(src) > len(package_dir[best]):
                best = pkg
    if best is None:
        return None
    rest = rel[len(package_dir[best]):].strip("/")
    return best + ("." + rest.replace("/", ".") if rest else "")


def _package_folders() -> dict[str, Path]:
    cfg = _setuptools_config()
    found = {}
    for init in REPO_ROOT.rglob("__init__.py"):
        parts = init.relative_to(REPO_ROOT).parts
        if parts[0].startswith(".") or parts[0] in NOT_PACKAGES or "__pycache__" in parts:
            continue
        pkg = _package_for(init.parent, cfg["package-dir"])
        if pkg is None:
            raise AssertionError(f"{init.parent} holds an __init__.py but no package-dir entry maps it")
        found[pkg] = init.parent
    return found


def test_packages_list_matches_every_init_folder():
    listed = set(_setuptools_config()["packages"])
    assert listed == set(_package_folders()), "pyproject [tool.setuptools] packages must list every package folder"


def test_no_bare_imports_in_source():
    offenders = []
    for path in REPO_ROOT.rglob("*.py"):
        parts = path.relative_to(REPO_ROOT).parts
        if parts[0].startswith(".") or parts[0] in {"build", "dist"}:
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            stripped = line.strip()
            for name in BARE:
                if stripped.startswith((f"import {name}", f"from {name} ", f"from {name}.")):
                    offenders.append(f"{path}: {stripped}")
    assert not offenders


@pytest.mark.slow
def test_wheel_contents_and_fresh_venv_install(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist),
                    str(REPO_ROOT)], check=True, capture_output=True)
    (wheel,) = dist.glob("codequarry-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for pkg, folder in _package_folders().items():
        prefix = pkg.replace(".", "/")
        assert f"{prefix}/__init__.py" in names, f"{pkg} missing from the wheel"
        for module in folder.glob("*.py"):
            assert f"{prefix}/{module.name}" in names, f"{module} missing from the wheel"
        for data in folder.glob("**/*.yaml"):
            assert f"{prefix}/{data.relative_to(folder).as_posix()}" in names, f"{data} missing from the wheel"
    tops = {n.split("/")[0] for n in names}
    assert tops == {"codequarry", wheel.name.split("-")[0] + "-" + wheel.name.split("-")[1] + ".dist-info"}

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = venv / "bin" / "pip"
    subprocess.run([str(pip), "install", "-q", str(wheel)], check=True, capture_output=True)
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH"}}
    out = subprocess.run([str(venv / "bin" / "codequarry"), "--help"], check=True, capture_output=True, text=True,
                         cwd=tmp_path, env=env)
    assert "build" in out.stdout and "bench" in out.stdout
    site = next((venv / "lib").glob("python*/site-packages"))
    for name in BARE:
        assert not (site / name).exists(), f"bare top-level package {name} installed"
    probe = f"import importlib.util as u, sys; sys.exit(any(u.find_spec(n) for n in {BARE!r}))"
    assert subprocess.run([str(venv / "bin" / "python"), "-c", probe], cwd=tmp_path, env=env).returncode == 0
    imp = "import codequarry.builders, codequarry.cleaners.base, codequarry.benchmarks, codequarry.leaderboard, codequarry.dataset_cards"
    subprocess.run([str(venv / "bin" / "python"), "-c", imp], check=True, cwd=tmp_path, env=env)
