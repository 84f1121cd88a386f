"""CLI: ``codequarry sources`` and ``codequarry build SOURCE [options] --out DIR``.

Each source gets its own sub-parser, generated from the source module's ``Options`` declaration
(``codequarry.options``) plus the common options (``--out``, ``--overwrite``). The source module is imported only when its
sub-parser is chosen, so ``codequarry --help`` does not import every builder.
"""

from __future__ import annotations

import argparse
import importlib
import shlex
import sys
from typing import Any

from codequarry import options
from codequarry.builders.registry import SOURCES
from codequarry.errors import CodequarryError


def _load(name: str) -> tuple[Any, str | None]:
    """(module, None) for a source, or (None, why it cannot be loaded)."""
    try:
        return importlib.import_module(SOURCES.get(name)), None
    except ModuleNotFoundError as exc:
        if exc.name and SOURCES.get(name).startswith(exc.name):
            return None, f"module {SOURCES.get(name)} is not in this installation"
        return None, f"needs {exc.name}, which is not installed"
    except Exception as exc:  # a broken module must not break `codequarry sources`
        return None, f"failed to load: {type(exc).__name__}: {exc}"


# --------------------------------------------------------------------------------------------
# sources


def _one_line(text: str | None) -> str:
    return " ".join((text or "").split())


def sources_table() -> list[dict[str, str]]:
    """One entry per registered source: name, license, homepage, description (or why it is unavailable)."""
    rows = []
    for name in SOURCES:
        module, why = _load(name)
        info = getattr(module, "INFO", None) if module else None
        if info is None:
            rows.append({"name": name, "license": "-", "homepage": "-", "description": f"(not available: {why or 'no INFO'})"})
            continue
        rows.append({"name": name, "license": info.license or "-", "homepage": info.homepage or info.url or "-",
                     "description": _one_line(info.description)})
    return rows


def _sources(args: argparse.Namespace) -> int:
    rows = sources_table()
    widths = {k: max(len(k), *(len(r[k]) for r in rows)) for k in ("name", "license", "homepage")}
    head = f"{'SOURCE':<{widths['name']}}  {'LICENSE':<{widths['license']}}  {'HOMEPAGE':<{widths['homepage']}}  DESCRIPTION"
    print(head)
    for r in rows:
        print(f"{r['name']:<{widths['name']}}  {r['license']:<{widths['license']}}  {r['homepage']:<{widths['homepage']}}  "
              f"{r['description']}")
    print("\nRun `codequarry build SOURCE --help` for a source's options.")
    return 0


# --------------------------------------------------------------------------------------------
# build


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """Options every source takes."""
    g = parser.add_argument_group("output")
    g.add_argument("--out", required=True, metavar="DIR", help="pairs dir to write (must be empty or absent)")
    g.add_argument("--overwrite", action="store_true", help="replace an existing pairs dir at --out")


def populate(name: str, parser: argparse.ArgumentParser) -> None:
    """Fill a source's sub-parser from its module (once); an unavailable source gets a clear error instead."""
    if getattr(parser, "_codequarry_populated", False):
        return
    parser._codequarry_populated = True  # type: ignore[attr-defined]
    module, why = _load(name)
    if module is None:
        parser.description = f"The {name} source is not available: {why}."
        parser._codequarry_unavailable = why  # type: ignore[attr-defined]
        parser.set_defaults(func=lambda args: _unavailable(name, why))
        return
    info = module.INFO
    parser.description = _one_line(info.description) + (f"\nLicense: {info.license}." if info.license else "")
    parser.epilog = module.__doc__
    options.add_arguments(parser, module.Options)
    add_common_arguments(parser)
    parser.set_defaults(func=lambda args: _run(name, module, args))


def _unavailable(name: str, why: str | None) -> int:
    raise CodequarryError(f"source {name!r} is not available: {why}")


class _LazySourceParsers(argparse._SubParsersAction):
    """Sub-parsers filled only when their source is chosen (keeps `codequarry --help` from importing builders)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        name, rest = values[0], values[1:]
        sub = self._name_parser_map.get(name)
        if sub is not None:
            populate(name, sub)
            why = getattr(sub, "_codequarry_unavailable", None)
            if why is not None and not {"-h", "--help"} & set(rest):
                # its options are unknown: report the missing source, not an "unrecognized arguments" error
                namespace.source = name
                namespace.func = lambda args: _unavailable(name, why)
                return
        namespace.created_by = "codequarry build " + shlex.join([name, *rest])
        super().__call__(parser, namespace, values, option_string)


def build_from_args(module: Any, args: argparse.Namespace) -> dict[str, Any]:
    """Call a source's ``build`` with the options a parsed command line gives its ``Options``."""
    from codequarry.builders._io import check_out_apart
    from codequarry.storage import is_uri, staging_dir, upload_dir

    values = options.values_from_args(module.Options, args)
    check_out_apart(args.out, values)
    if is_uri(args.out):  # an object-store --out: built in a local folder, then uploaded (manifest last)
        import shutil

        staged = staging_dir(args.out, "build")
        manifest = module.build(str(staged), **values, overwrite=True, created_by=getattr(args, "created_by", None))
        upload_dir(staged, args.out, overwrite=args.overwrite)
        shutil.rmtree(staged, ignore_errors=True)
        return manifest
    return module.build(args.out, **values, overwrite=args.overwrite, created_by=getattr(args, "created_by", None))


def _run(name: str, module: Any, args: argparse.Namespace) -> int:
    manifest = build_from_args(module, args)
    print(summary(name, args.out, manifest))
    return 0


def summary(name: str, out: Any, manifest: dict[str, Any]) -> str:
    """What a build wrote: rows per config/split, exclusions by reason, skipped records, where."""
    counts = manifest.get("counts", {})
    lines = [f"codequarry build {name}: wrote {counts.get('written', 0):,} rows to {out}"]
    parts = [(c, s, n) for c, splits in sorted(manifest.get("splits", {}).items()) for s, n in splits.items()]
    if parts:
        wc = max(len("config"), *(len(c) for c, _, _ in parts))
        ws = max(len("split"), *(len(s) for _, s, _ in parts))
        lines.append(f"  {'config':<{wc}}  {'split':<{ws}}  rows")
        lines += [f"  {c:<{wc}}  {s:<{ws}}  {n:,}" for c, s, n in parts]
    excluded = counts.get("excluded", 0)
    lines.append(f"excluded {excluded:,} records" + (":" if excluded else ""))
    for reason, n in sorted(counts.get("exclusion_reasons", {}).items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"  {reason.split('/', 1)[-1]}: {n:,}")
    if excluded:
        lines.append(f"  (each excluded record, with its reason and locator: {out}/exclusions/)")
    for reason, n in sorted((manifest.get("skipped") or {}).items()):
        lines.append(f"skipped (not selected): {reason}: {n:,}")
    if "read" in counts:
        lines.append(f"read {counts['read']:,} = written {counts.get('written', 0):,} + excluded {excluded:,}")
    lines.append(f"fingerprint {manifest.get('fingerprint')}")
    return "\n".join(lines)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sources", help="list the sources that `build` can read",
                       description="List the registered sources with their license, homepage and a one-line description.")
    p.set_defaults(func=_sources)
    p = sub.add_parser(
        "build", help="read a source into a pairs dir",
        description="Read a source into a pairs dir (Parquet in the Hugging Face layout, with a manifest).\n"
                    "Run `codequarry sources` to list sources, `codequarry build SOURCE --help` for a source's options.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.register("action", "parsers", _LazySourceParsers)
    choices = p.add_subparsers(dest="source", metavar="SOURCE", title="sources")
    for name in SOURCES:
        choices.add_parser(name, help=f"build from {name} (`codequarry build {name} --help`)",
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    p.set_defaults(func=lambda args: _no_source(p))


def _no_source(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    raise CodequarryError("name a source: codequarry build SOURCE [options] --out DIR (see `codequarry sources`)")
