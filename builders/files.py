"""Local files of query–code records — JSON Lines, JSON arrays, CSV/TSV, Parquet, Arrow — with a column mapping.

Each ``--path`` is a file or a folder (walked, sorted; hidden entries skipped), optionally
compressed (``.gz``, ``.bz2``, ``.xz``) or inside a zip/tar archive. Every record goes through
the column mapping (``--query-col``, ``--code-col``, ``--language`` or ``--language-col``,
``--id-col``, ``--label-col``, ``--split`` or ``--split-col``, ``--repo-col``, ``--path-col``,
``--url-col``, ``--func-name-col`` …); unmapped columns go to ``meta``. The split is ``--split``,
else the ``--split-col`` value, else the file name's split word (``train``, ``valid``/
``validation``/``dev``, ``test``), else ``train``. Row ids hash ``--id-col`` when given, else the
record's locator (file name and line, ``x.jsonl:12``, or row number, ``x.parquet#11``). A mapped column missing from a file stops the build with
the file's columns listed; a bad record is an exclusion with its reason.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codequarry import options
from codequarry.builders._io import RECORD_FORMATS, Bad, Input, as_paths, check_out_apart, discover
from codequarry.builders._mapping import (
    ColumnMap,
    map_record,
    mapping_options,
    split_name,
)
from codequarry.builders._readers import iter_records
from codequarry.builders._sink import Sink
from codequarry.builders._text import normalize_split
from codequarry.errors import CodequarryError
from codequarry.options import option
from codequarry.pairs import SourceInfo
from codequarry.releases.files import not_read

INFO = SourceInfo(
    name="files",
    url=None,
    homepage="https://github.com/codequarry/codequarry",
    license=None,
    description="Local JSON Lines, JSON, CSV/TSV, Parquet or Arrow files with a column mapping.",
    citation=None,
)

_SPLIT_WORD = re.compile(r"(?:^|[_\-./])(train|valid|validation|dev|test)(?=[_\-./]|$)")
_FORMATS = sorted(set(RECORD_FORMATS.values()))


def _readable(name: str) -> bool:
    return Input(name, Path(name)).format is not None


def split_from_name(name: str) -> str | None:
    """The split word in a file name (``python_test_0.jsonl`` → test), or None."""
    m = _SPLIT_WORD.search(name.lower().rsplit("/", 1)[-1])
    return normalize_split(m[1]) if m else None


@dataclass(frozen=True)
class Options:
    """The options of ``codequarry build files`` (and of ``build``)."""

    path: tuple[str, ...] = option(required=True, metavar="PATH",
                                   help="files or folders (.jsonl, .json, .csv, .tsv, .parquet, .arrow; also "
                                        ".gz/.bz2/.xz, or zip/tar)")
    fmt: str | None = option(None, flag="--format", param="format", choices=_FORMATS,
                             help="read every file as this format (default: by extension)")
    split: str | None = option(None, help="split for every row (default: --split-col, else the file name's "
                                          "train/valid/test, else train)")
    source_name: str = option("files", help="name written in the rows' source column and ids")
    license: str | None = option(None, help="license of the data (SPDX id), recorded in the manifest and card")
    mapping: ColumnMap = option(ColumnMap(), help="column mapping (unmapped columns are kept in the JSON meta column)")


def build(out: str | Path, *, overwrite: bool = False, created_by: str | None = None, **values: Any) -> dict[str, Any]:
    """Read local record files into the pairs dir ``out`` through a column mapping (``values``: the ``Options``;
    ``mapping`` may be a dict of ``ColumnMap`` fields); returns the manifest."""
    opts = options.from_keywords(Options, values, "source 'files'")
    cmap = mapping_options(opts.mapping)
    split, fmt, source_name, license = opts.split, opts.fmt, opts.source_name, opts.license
    if split is not None and cmap.split_col:
        raise CodequarryError("give --split (one split for every row) or --split-col, not both")
    if split is not None and split_name(split) is None:
        raise CodequarryError(f"--split {split!r} is not a split name: use letters, digits and underscores "
                              "(e.g. train, valid, test)")
    if fmt is not None and fmt not in _FORMATS:
        raise CodequarryError(f"--format must be one of {', '.join(_FORMATS)}")
    paths = as_paths(opts.path)
    check_out_apart(out, paths)
    inputs, problems = discover(paths, accept=None if fmt else _readable)
    if not inputs:
        raise CodequarryError(f"no readable files under {', '.join(map(str, paths))} "
                              f"(expected {', '.join(sorted(RECORD_FORMATS))}, optionally compressed){not_read(problems)}")
    source = SourceInfo(name=source_name, license=license, homepage=INFO.homepage,
                        description=f"local files: {', '.join(p.name for p in paths)}")
    params = options.params_of(opts, path=paths, mapping=cmap)
    with Sink(out, source=source, params=params, overwrite=overwrite, created_by=created_by) as sink:
        for item in problems:
            sink.bad(item)
        for inp in inputs:
            sink.note_input(inp)
            default_split = split_name(split) if split else (split_from_name(inp.stem_name) or "train")
            checked = False
            for item in iter_records(inp, fmt):
                if isinstance(item, Bad):
                    sink.bad(item, split=default_split)
                    continue
                where, rec = item
                if not checked and isinstance(rec, Mapping):
                    cmap.check(list(rec), inp.name)
                    checked = True
                result = map_record(rec, cmap, source=source_name, locator=where, fallback_id=(where,),
                                    default_split=default_split)
                if isinstance(result, Bad):
                    sink.bad(result, split=default_split)
                else:
                    sink.add(*result)
        return sink.close()
