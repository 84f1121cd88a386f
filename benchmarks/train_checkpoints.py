"""Training checkpoints: the output folder's state, saving and resuming a run.

A checkpoint (``checkpoints/step-N``) holds everything that decides the rest of a run: weights, AdamW and
scheduler state, the torch RNG and the step, so a resumed run continues exactly (on CPU, bit for bit)
where it stopped. ``checkpoints/best`` holds the best validated weights of an unfinished run.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

from codequarry.benchmarks.train_config import CHECKPOINTS, LOG_NAME, STATE_JSON, STATE_PT
from codequarry.errors import CodequarryError

log = logging.getLogger(__name__)


def torch_rng_state(device: str) -> dict[str, Any]:
    import torch

    state = {"cpu": torch.get_rng_state()}
    if device.startswith("cuda") and torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_torch_rng_state(state: dict[str, Any]) -> None:
    import torch

    torch.set_rng_state(state["cpu"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def checkpoint_dirs(out: Path) -> list[Path]:
    root = out / CHECKPOINTS
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith("step-") and (p / STATE_JSON).is_file())


def prepare_out(out: Path, *, overwrite: bool, resume_from: str | None) -> Path | None:
    """Check the output folder; return the checkpoint to resume from (the latest one of an unfinished run)."""
    if out.exists() and not out.is_dir():
        raise CodequarryError(f"--out {out} exists and is not a folder")
    finished = (out / LOG_NAME).is_file()
    ckpts = checkpoint_dirs(out)
    ours = finished or (out / CHECKPOINTS).is_dir()
    if out.is_dir() and any(out.iterdir()) and not ours:
        raise CodequarryError(f"--out {out} is not empty and was not written by `codequarry train`; choose a new "
                              "folder (it is never deleted, even with --overwrite)")
    if overwrite and ours:
        if resume_from and resume_from != "latest" and out.resolve() in Path(resume_from).expanduser().resolve().parents:
            raise CodequarryError(f"--overwrite would delete the checkpoint --resume-from {resume_from}")
        shutil.rmtree(out)
        finished, ckpts = False, []
    if resume_from:
        return resolve_resume(out, resume_from, ckpts)
    if finished:
        raise CodequarryError(f"--out {out} already holds a trained model. Pass --overwrite to train again, or "
                              "--resume-from latest with a larger --max-steps/--epochs to continue training it.")
    return ckpts[-1] if ckpts else None  # an interrupted run: the same command resumes it


def resolve_resume(out: Path, resume_from: str, ckpts: list[Path]) -> Path:
    if resume_from == "latest":
        if not ckpts:
            raise CodequarryError(f"--resume-from latest: {out / CHECKPOINTS} holds no checkpoint")
        return ckpts[-1]
    p = Path(resume_from).expanduser()
    if not (p / STATE_JSON).is_file():
        found = checkpoint_dirs(p)
        if not found:
            raise CodequarryError(f"--resume-from {resume_from}: not a checkpoint folder (no {STATE_JSON}) nor a "
                                  f"training folder with {CHECKPOINTS}/step-*")
        p = found[-1]
    return p


def save_checkpoint(out: Path, model: Any, optimizer: Any, scheduler: Any, state: dict[str, Any], *, device: str,
                    keep: int) -> Path:
    """Write ``checkpoints/step-N`` atomically (weights, optimizer, scheduler, RNG, state) and keep the newest ``keep``."""
    import torch

    step = state["step"]
    path = out / CHECKPOINTS / f"step-{step:07d}"
    tmp = path.with_name(path.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    model.save(str(tmp), create_model_card=False)
    torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                "rng": torch_rng_state(device)}, tmp / STATE_PT)
    (tmp / STATE_JSON).write_text(json.dumps(state, indent=1, default=str), encoding="utf-8")
    if path.exists():
        shutil.rmtree(path)
    os.replace(tmp, path)
    log.debug("checkpoint %s", path)
    for old in checkpoint_dirs(out)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return path


def restore_best(out: Path, resume: Path, state: dict[str, Any], load_model: Any) -> None:
    """Bring the best validated weights of the run being resumed into this run's ``checkpoints/best``.

    They sit in ``checkpoints/best`` while a run is unfinished; a finished run moved them to its
    output folder (when its final weights were the best ones), so that is where they are read from.
    """
    if not state.get("best"):
        return
    dst = out / CHECKPOINTS / "best"
    src = resume.parent / "best"
    if src.is_dir():
        if src.resolve() != dst.resolve():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        return
    run_dir = resume.parent.parent
    log = run_dir / LOG_NAME
    if log.is_file() and json.loads(log.read_text(encoding="utf-8")).get("config", {}).get("final_weights") == "best":
        load_model(str(run_dir)).save(str(dst), create_model_card=False)
        return
    state["best"] = None  # the best weights are gone: selection restarts among the coming evaluations
