"""Cleaners: steps (filters, annotators, dedup, split, decontamination, obfuscation), recipes and engines.

``clean(input, out, preset="default")`` is the library call behind ``codequarry clean``; this module
stays import-light (heavy modules load inside the call).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ENGINES = ("local", "ray")


def clean(
    input: str | os.PathLike[str],
    out: str | os.PathLike[str],
    recipe: Any = None,
    preset: str | None = None,
    engine: str = "local",
    workers: int = 1,
    overwrite: bool = False,
    batch_rows: int | None = None,
    timings: dict[str, Any] | None = None,
    verify: str | None = None,
) -> dict[str, Any]:
    """Clean the pairs dir ``input`` into ``out`` with a recipe (path, dict or Recipe) or a preset; return the manifest.

    The ``local`` engine resumes an interrupted run of the same command; ``ray`` runs the same
    recipe on Ray Data (``pip install 'codequarry[ray]'``). Both write the same rows and fingerprint.
    ``timings``, when a dict is given, receives seconds per pass, step, resolve and write (Ray: per resolve stage).
    With ``workers > 1`` the local engine starts worker processes (spawn): call it from a script under
    ``if __name__ == "__main__":``. ``verify`` is how closely the input is checked against its
    manifest first (``none``, ``sha256`` by default, or ``full``; see ``codequarry.pairs_verify``).
    """
    from codequarry.cleaners.engine import DEFAULT_BATCH_ROWS
    from codequarry.cleaners.engine_input import check_input_schema
    from codequarry.cleaners.recipe import load_recipe
    from codequarry.errors import CodequarryError
    from codequarry.pairs import PairsDir

    if engine not in ENGINES:
        raise CodequarryError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if not isinstance(workers, int) or workers < 1:
        raise CodequarryError(f"workers must be a positive integer, got {workers!r}")
    if batch_rows is not None and (not isinstance(batch_rows, int) or batch_rows < 1):
        raise CodequarryError(f"--batch-rows must be a positive integer, got {batch_rows!r}")
    from codequarry.storage import is_uri, local_pairs_dir, location

    if is_uri(input) and is_uri(out) and location(input).uri == location(out).uri:
        raise CodequarryError(f"--out {out} must be a folder outside the input {input}")
    source = str(input).rstrip("/") if is_uri(input) else None
    input = local_pairs_dir(input)  # an object-store input is copied to the local cache first (and checked)
    src, dst = Path(input).resolve(), None if is_uri(out) else Path(out).resolve()
    if dst is not None and (dst == src or src in dst.parents or dst in src.parents):
        raise CodequarryError(f"--out {out} must be a folder outside the input {input} (and not contain it)")
    pairs = PairsDir(input, verify=verify)
    check_input_schema(pairs)
    the_recipe = load_recipe(dict(recipe) if isinstance(recipe, Mapping) else recipe, preset)
    rows = batch_rows or DEFAULT_BATCH_ROWS
    if engine == "ray":
        from codequarry.cleaners import ray_engine

        return ray_engine.run(pairs, out, the_recipe, workers=workers, overwrite=overwrite, batch_rows=rows,
                              source=source, timings=timings)
    from codequarry.cleaners import local_engine

    if is_uri(out):  # the local engine writes (and resumes) in a local folder, then uploads the result
        from codequarry.storage import staging_dir, upload_dir

        staged = staging_dir(out)
        manifest = local_engine.run(pairs, staged, the_recipe, workers=workers, overwrite=overwrite, batch_rows=rows,
                                    timings=timings)
        upload_dir(staged, str(out), overwrite=overwrite)
        return manifest
    return local_engine.run(pairs, out, the_recipe, workers=workers, overwrite=overwrite, batch_rows=rows,
                            timings=timings)


__all__ = ["ENGINES", "clean"]
