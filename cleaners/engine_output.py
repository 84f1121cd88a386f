"""The output folder of a clean: refuse to mix runs, lock it, publish the finished result atomically."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from pathlib import Path
from typing import Any

from codequarry.errors import CodequarryError

WORK_DIR = ".codequarry-work"
REPORT_FILES = ("report.md", "report.png", "report.svg")
#: The layout of the work dir's state; raised when it changes, so a run left by older code is refused rather than
#: resumed into a mix (2: the planned final write's ``write/`` statistics and shard accounts).
WORK_FORMAT = 2
#: What a finished clean moves from its staging folder into the output folder (manifest last).
PUBLISHED = ("data", "exclusions", "README.md", *REPORT_FILES, "codequarry.json")


def run_signature(recipe: Any, pairs: Any, batch_rows: int) -> dict[str, Any]:
    """What a resumable run must match: recipe, input (path and fingerprint) and batch size."""
    from codequarry import __version__

    return {"recipe": recipe.resolved(), "recipe_sha256": recipe.signature(),
            "input": {"path": str(Path(pairs.path).resolve()), "fingerprint": pairs.fingerprint},
            "batch_rows": batch_rows, "codequarry_version": __version__, "work_format": WORK_FORMAT}


class OutputDir:
    """The output folder of a clean: its work dir, lock, and the final move into place."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.work = self.path / WORK_DIR
        self._lock_fh: Any = None

    def prepare(self, signature: dict[str, Any], *, overwrite: bool, resumable: bool) -> str:
        """Return 'fresh', 'resume' or 'done'; refuse to mix a different recipe or input."""
        from codequarry.pairs import MANIFEST_NAME

        p = self.path
        if p.exists() and not p.is_dir():
            raise CodequarryError(f"output path {p} exists and is not a folder")
        manifest_path = p / MANIFEST_NAME
        self._check_work_tree(overwrite=overwrite)
        if self.work.is_dir():
            self._lock()  # refuses while another clean writes here; held from now on
            if not self._read_signature() and not (self.work / "final.done").exists():
                self._reset_work()  # killed before its plan was written: nothing was done yet
        shutil.rmtree(p / (WORK_DIR + ".trash"), ignore_errors=True)  # left by a run killed while tidying up
        if overwrite:
            self._wipe()
        elif self.work.is_dir() and self._read_signature():
            old = self._read_signature()
            if old.get("work_format") != signature.get("work_format"):
                raise CodequarryError(f"{p} holds an unfinished clean left by an older codequarry, whose work dir "
                                      "this version cannot resume; pass --overwrite to start over")
            diff = _signature_diff(old, signature)
            if diff:
                raise CodequarryError(
                    f"{p} holds an unfinished clean with a different {diff}; rerun the original command to "
                    "resume it, or pass --overwrite to start over")
            if not resumable:
                raise CodequarryError(f"{p} holds an unfinished local-engine clean; rerun it with --engine local "
                                      "to resume it, or pass --overwrite to start over")
            return "resume"
        elif manifest_path.exists():
            manifest = _read_output_manifest(manifest_path)
            done_input = {k: manifest["input"].get(k) for k in ("path", "fingerprint")}
            diff = _signature_diff({"recipe_sha256": _recipe_sha(manifest.get("recipe")), "input": done_input},
                                   signature, keys=("recipe_sha256", "input"))
            if diff:
                raise CodequarryError(f"{p} already holds a clean made with a different {diff}; "
                                      "choose another --out or pass --overwrite")
            if self.work.is_dir():  # an empty work dir left next to a finished output
                self.release()
                shutil.rmtree(self.work, ignore_errors=True)
            return "done"
        elif p.exists() and any(x.name != WORK_DIR for x in p.iterdir()):
            raise CodequarryError(f"output folder {p} is not empty; choose another --out or pass --overwrite")
        self._reset_work()
        _atomic_write_text(self.work / "plan.json", json.dumps(signature, indent=1, sort_keys=True))
        return "fresh"

    def _check_work_tree(self, *, overwrite: bool) -> None:
        """The work dir is state anyone with write access to --out could have planted: it must be a plain
        folder of plain files, so a resume reads nothing outside it and a reset deletes nothing outside it."""
        if self.work.is_symlink():
            if not overwrite:
                raise CodequarryError(f"{self.work} is a symbolic link, not the folder of an unfinished clean; "
                                      "pass --overwrite to replace it")
            self.work.unlink()  # the link only: never what it points to
            return
        if not self.work.is_dir():
            return
        for q in self.work.rglob("*"):
            if q.is_symlink() or not (q.is_file() or q.is_dir()):
                if overwrite:
                    if q.parent == self.work and q.name == "lock":
                        q.unlink()  # the lock is opened before the reset: never through a link
                    continue  # _reset_work unlinks the rest without following them
                raise CodequarryError(f"{q}: the unfinished clean's state holds a link or special file; "
                                      "pass --overwrite to start over")

    def _reset_work(self) -> None:
        """An empty, locked work dir (the lock is taken before anything in it is removed)."""
        if self.work.is_dir():
            self._lock()
            for child in self.work.iterdir():
                if child.name != "lock":
                    _remove(child)
        else:
            self.work.mkdir(parents=True)
            self._lock()

    def _wipe(self) -> None:
        from codequarry.pairs import MANIFEST_NAME

        p = self.path
        if not p.exists():
            return
        ours = self.work.is_dir() or (p / MANIFEST_NAME).exists()
        if any(p.iterdir()) and not ours:
            raise CodequarryError(f"refusing to overwrite {p}: it is not empty and holds no codequarry output")
        if self.work.is_dir():
            self._reset_work()
        for name in PUBLISHED:
            target = p / name
            if target.is_dir():
                shutil.rmtree(target)
            else:
                target.unlink(missing_ok=True)

    def _read_signature(self) -> dict[str, Any]:
        try:
            return json.loads((self.work / "plan.json").read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return {}

    def _lock(self) -> None:
        if self._lock_fh is not None:
            return
        self.work.mkdir(parents=True, exist_ok=True)
        fh = open(self.work / "lock", "a+")  # noqa: SIM115 - held for the whole run
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            raise CodequarryError(f"another `codequarry clean` is writing to {self.path}; wait for it or choose another --out") from None
        self._lock_fh = fh

    @property
    def staging(self) -> Path:
        return self.work / "final"

    def publish(self) -> None:
        """Move the finished staging folder into place (manifest last), then delete the work dir."""
        marker = self.work / "final.done"
        if not marker.exists():
            _atomic_write_text(marker, "")
        for name in PUBLISHED:
            src = self.staging / name
            if not src.exists():
                continue
            dst = self.path / name
            if dst.is_dir():
                shutil.rmtree(dst)
            elif dst.exists():
                dst.unlink()
            os.replace(src, dst)
        self.release()
        trash = self.path / (WORK_DIR + ".trash")
        shutil.rmtree(trash, ignore_errors=True)
        os.replace(self.work, trash)
        shutil.rmtree(trash, ignore_errors=True)

    def release(self) -> None:
        if self._lock_fh is not None:
            self._lock_fh.close()
            self._lock_fh = None


def _read_output_manifest(path: Path) -> dict[str, Any]:
    """The manifest of a finished clean already in --out (checked: it decides whether the run is done)."""
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        manifest = exc
    if not isinstance(manifest, dict) or not isinstance(manifest.get("input", {}), dict):
        raise CodequarryError(f"{path} is not the manifest of a finished clean; choose another --out or pass "
                              "--overwrite") from None
    manifest.setdefault("input", {})
    return manifest


def _remove(path: Path) -> None:
    """Delete a file or folder; links (and links inside folders) are removed, never followed."""
    if path.is_symlink() or not path.is_dir():
        path.unlink(missing_ok=True)
        return
    for child in path.iterdir():
        _remove(child)
    path.rmdir()


def _recipe_sha(resolved: Any) -> str | None:
    if not resolved:
        return None
    import hashlib

    return hashlib.sha256(json.dumps(resolved, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def _signature_diff(old: dict[str, Any], new: dict[str, Any], keys: tuple[str, ...] = ("recipe_sha256", "input",
                                                                                         "batch_rows")) -> str:
    names = {"recipe_sha256": "recipe", "input": "input (path or fingerprint)", "batch_rows": "batch size"}
    diffs = [names[k] for k in keys if old.get(k) != new.get(k)]
    return " and ".join(diffs)


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f"{path.name}.tmp.{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
