"""Provenance of a benchmark run: package versions, hardware, date, command and seed (docs/harness.md §7)."""

from __future__ import annotations

import datetime as _dt
import os
import platform
import sys
from pathlib import Path
from typing import Any

_PACKAGES = {  # provenance name → distribution names to try
    "numpy": ("numpy",), "scipy": ("scipy",), "torch": ("torch",), "transformers": ("transformers",),
    "sentence-transformers": ("sentence-transformers",), "bm25s": ("bm25s",),
    "faiss": ("faiss-cpu", "faiss-gpu", "faiss-gpu-cu12", "faiss"), "pytrec-eval": ("pytrec-eval-terrier",),
    "onnxruntime": ("onnxruntime", "onnxruntime-gpu"), "onnx": ("onnx",),
}


def _package_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name, dists in _PACKAGES.items():
        for dist in dists:
            try:
                out[name] = version(dist)
                break
            except PackageNotFoundError:
                continue
    return out


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _gpu() -> str | None:
    torch = sys.modules.get("torch")  # only when the run used torch: importing it here would cost seconds
    try:
        if torch is not None and torch.cuda.is_available():
            return ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
    except Exception:  # a broken CUDA setup must not lose the result
        return None
    return None


def _git_sha() -> str | None:
    """The commit of the codequarry source tree, when it runs from a git checkout (read without git)."""
    here = Path(__file__).resolve().parent
    for folder in (here, *here.parents):
        git = folder / ".git"
        if git.is_dir():
            try:
                head = (git / "HEAD").read_text(encoding="utf-8").strip()
                if not head.startswith("ref: "):
                    return head
                ref = head[5:]
                if (git / ref).exists():
                    return (git / ref).read_text(encoding="utf-8").strip()
                packed = git / "packed-refs"
                if packed.exists():
                    for line in packed.read_text(encoding="utf-8").splitlines():
                        if line.endswith(" " + ref):
                            return line.split()[0]
            except OSError:
                return None
            return None
    return None


def provenance(command: str | None = None, wall_time_s: float | None = None, seed: int = 0,
               **extra: Any) -> dict[str, Any]:
    """Versions, hardware, date and command of this run (extra keys are added as given)."""
    from codequarry import __version__

    out: dict[str, Any] = {
        "codequarry_version": __version__,
        "codequarry_git": _git_sha(),
        "packages": _package_versions(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "hardware": {"cpu": _cpu_model(), "cores": os.cpu_count(), "gpu": _gpu()},
        "wall_time_s": None if wall_time_s is None else round(float(wall_time_s), 3),
        "date": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": command if command is not None else " ".join(["codequarry", *sys.argv[1:]]),
        "seed": seed,
    }
    out.update(extra)
    return out
