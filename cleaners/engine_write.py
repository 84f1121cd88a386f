"""The final write of a clean, the same for both engines: chunk statistics, the shard plan, the shards, then the
manifest, card and report.

``write_output`` runs the sequence; the engine only says where jobs run (``run_jobs(kind, calls)``:
inline, a process pool, Ray tasks). Jobs (``output_shards.run_job``) read the work dir and write
the output; the driver holds only statistics (a few numbers per chunk and stream) and shard
accounts, never rows, and writes the small files last, the manifest after everything else. Every
job leaves a marker in the work dir, so a rerun after a kill redoes only what is missing and writes
the same bytes (see ``output_plan`` for why the layout depends on the rows only).
"""

from __future__ import annotations

import re
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from codequarry.cleaners.base import Step
from codequarry.cleaners.output_plan import Layout, OutputPlan, plan_output, schema_from_text
from codequarry.errors import CodequarryError
from codequarry.storage import Location

_SHA256 = re.compile(r"[0-9a-f]{64}")


def step_counts(steps: list[Step], input_rows: int, excluded: dict[int, Counter[str]],
                measured: dict[int, dict[str, int]] | None = None,
                summaries: dict[int, Any] | None = None) -> list[dict[str, Any]]:
    """Per step: in, kept, excluded, reasons; checks in = kept + excluded and, if given, the measured counts."""
    out = []
    n = input_rows
    for i, step in enumerate(steps):
        reasons = excluded.get(i, Counter())
        ex = sum(reasons.values())
        kept = n - ex
        if kept < 0:
            raise RuntimeError(f"step {step.name!r}: {ex} rows excluded out of {n}")
        if measured is not None:
            m = measured.get(i, {"in": 0, "kept": 0, "excluded": 0})
            if (m["in"], m["kept"], m["excluded"]) != (n, kept, ex):
                raise RuntimeError(f"step {step.name!r}: counted in={m['in']} kept={m['kept']} excluded={m['excluded']} "
                                   f"but the exclusions say in={n} kept={kept} excluded={ex}")
        entry = {"name": step.name, "kind": step.kind, "params": step.param_dict(), "in": n, "kept": kept,
                 "excluded": ex, "reasons": dict(sorted(reasons.items()))}
        if summaries and summaries.get(i) is not None:
            entry["summary"] = summaries[i]
        out.append(entry)
        n = kept
    return out


def write_output(work: Any, target: Location, run_jobs: Callable[[str, list[tuple[Any, ...]]], None], *,
                 pairs: Any, recipe: Any, batch_rows: int, layout: Layout | None = None) -> dict[str, Any]:
    """Write the cleaned pairs dir of ``work`` (a ``local_engine._Work`` whose passes are done) into ``target``;
    return the manifest. ``run_jobs(kind, calls)`` runs ``output_shards.run_job(work, kind, args)`` for every
    ``args`` in ``calls`` and returns when all are done."""
    from codequarry.cleaners.local_engine import _read_json
    from codequarry.cleaners.output_shards import shard_marker, stats_marker

    (work.work / "write").mkdir(exist_ok=True)
    run_jobs("stats", [(c.index,) for c in work.chunks if not stats_marker(work, c.index).exists()])
    stats = [_read_json(stats_marker(work, c.index)) for c in work.chunks]
    try:
        plan = plan_output(stats, layout or Layout(), steps=len(work.steps))
    except (KeyError, TypeError, ValueError, CodequarryError) as exc:
        raise CodequarryError(f"{work.work / 'write'}: not the chunk statistics of this clean ({type(exc).__name__}: "
                              f"{exc}); pass --overwrite to start over") from None
    run_jobs("shard", [(s, plan.schema, target.uri) for s in plan.shards if not shard_marker(work, s.index).exists()])
    manifest, schema = _manifest(work, plan, pairs=pairs, recipe=recipe, batch_rows=batch_rows)
    write_small_files(target, manifest, schema)
    (work.work / "final.done").write_text("", encoding="utf-8")
    return manifest


def _manifest(work: Any, plan: OutputPlan, *, pairs: Any, recipe: Any, batch_rows: int) -> tuple[dict[str, Any], Any]:
    """The manifest (the shards' accounts merged: files, fingerprint; the plan's counts; the recipe's steps) and
    the output's schema."""
    import pyarrow as pa

    from codequarry import __version__
    from codequarry.cleaners.local_engine import _read_json, marker_counts
    from codequarry.cleaners.output_shards import shard_marker
    from codequarry.pairs_fingerprint import Fingerprinter, type_name
    from codequarry.pairs_layout import FORMAT_VERSION
    from codequarry.schema import CORE_FIELDS

    fp = Fingerprinter()
    files: list[dict[str, Any]] = []
    exclusion_files: list[dict[str, Any]] = []
    for shard in plan.shards:
        path = shard_marker(work, shard.index)
        acc = _read_json(path)
        try:
            if (acc["path"], acc["rows"], acc.get("config"), acc.get("split")) != (shard.path, shard.rows,
                                                                                 shard.config, shard.split):
                raise ValueError(f"it is {acc['path']} of {acc['rows']} rows, the plan says {shard.path} of "
                                 f"{shard.rows}")
            if type(acc["bytes"]) is not int or not _SHA256.fullmatch(str(acc["sha256"])):
                raise ValueError("its size or sha256 is not one")
            if shard.config is None:
                exclusion_files.append({"path": acc["path"], "rows": acc["rows"]})
                continue
            fp.merge(acc["fingerprint"])
            files.append({k: acc[k] for k in ("path", "config", "split", "rows", "bytes", "sha256")})
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise CodequarryError(f"{path}: not a shard account of this clean ({type(exc).__name__}: {exc}); "
                                  "pass --overwrite to start over") from None
    reasons: Counter[str] = Counter()
    for i, rs in sorted(plan.excluded.items()):
        for r, n in rs.items():
            reasons[f"{work.steps[i].name}/{r}"] += n
    input_rows = sum(c.length for c in work.chunks)
    written = sum(n for parts in plan.splits.values() for n in parts.values())
    excluded = sum(reasons.values())
    if input_rows != written + excluded:
        raise RuntimeError(f"accounting mismatch: read {input_rows} rows but wrote {written} and excluded {excluded}")
    counts = step_counts(work.steps, input_rows, plan.excluded, marker_counts(work)[0], work.summaries())
    if counts[-1]["kept"] != written:
        raise RuntimeError(f"the last step kept {counts[-1]['kept']} rows but {written} were written")
    schema = schema_from_text(plan.schema) if plan.schema is not None else pa.schema(list(CORE_FIELDS))
    manifest = {
        "format_version": FORMAT_VERSION,
        "codequarry_version": __version__,
        "created_by": "codequarry clean",
        "sources": pairs.manifest.get("sources", []),
        "params": {"recipe": recipe.name, "recipe_origin": recipe.origin, "batch_rows": batch_rows},
        "counts": {"written": written, "excluded": excluded, "exclusion_reasons": dict(sorted(reasons.items())),
                   "read": input_rows},
        "splits": plan.splits,
        "split_bytes": plan.split_bytes,
        "schema": [{"name": f.name, "type": type_name(f.type)} for f in schema],
        "files": files,
        "exclusion_files": exclusion_files,
        "fingerprint": fp.hexdigest(),
        "recipe": recipe.resolved(),
        "steps": counts,
        "input": {"path": str(Path(pairs.path).resolve()), "fingerprint": pairs.fingerprint, "rows": input_rows},
        "report": {"markdown": "report.md", "plot": ["report.png", "report.svg"]},
    }
    return manifest, schema


def write_small_files(target: Location, manifest: dict[str, Any], schema: Any) -> None:
    """Card stub, report and manifest, made in a local folder and copied to ``target``, the manifest last."""
    from codequarry.cleaners.engine_output import REPORT_FILES
    from codequarry.cleaners.report import write_report
    from codequarry.pairs_hub import write_readme_stub
    from codequarry.pairs_layout import MANIFEST_NAME
    from codequarry.pairs_writer import write_manifest

    with tempfile.TemporaryDirectory(prefix="codequarry-clean-") as tmp:
        folder = Path(tmp)
        write_manifest(folder, manifest)
        write_readme_stub(folder, manifest, schema)
        write_report(folder, manifest)
        for name in ("README.md", *REPORT_FILES, MANIFEST_NAME):
            if (folder / name).exists():
                target.write_bytes(name, (folder / name).read_bytes())
