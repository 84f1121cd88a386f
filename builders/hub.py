"""Any Hugging Face Hub dataset (or a local dataset folder), streamed, with a column mapping.

``datasets.load_dataset(DATASET, CONFIG, split=SPLIT, revision=REVISION, streaming=True)`` is
called once per requested split (once with ``split=None`` for all splits), so nothing is
downloaded up front and memory stays bounded. Hub split names become pairs-dir split names
(``validation`` → ``valid``). Columns are mapped as in the ``files`` source (``--query-col``,
``--code-col``, ``--language``/``--language-col``, …; the rest go to ``meta``). A mapped column
that the dataset lacks stops the build with the list of its columns. When the dataset id is a
Hub id, the resolved commit sha is recorded as the source revision (when the Hub can be reached).
A local folder is untrusted: ``datasets`` follows links, so before it is handed over the folder is
walked and a link leading outside it, or a FIFO/socket/device in it, is a one-line error
(``releases.files.check_folder``, docs/security.md).

``loader=`` replaces ``datasets.load_dataset`` (same call signature), for tests and for callers
that already hold a dataset.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codequarry import options
from codequarry.builders._io import Bad
from codequarry.builders._mapping import (
    ColumnMap,
    map_record,
    mapping_options,
)
from codequarry.builders._sink import Sink
from codequarry.builders._text import csv_list, normalize_split
from codequarry.citations import bibtex
from codequarry.errors import CodequarryError, require
from codequarry.options import option
from codequarry.pairs import SourceInfo
from codequarry.releases.files import check_folder

INFO = SourceInfo(
    name="hub",
    url="https://huggingface.co/datasets",
    homepage="https://huggingface.co/docs/datasets",
    license=None,
    description="Any Hugging Face Hub dataset id (config, split, revision) or local dataset folder, with a column mapping.",
    citation=bibtex("datasets"),
)

Loader = Callable[..., Any]


def _default_loader(path: str, name: str | None = None, *, split: str | None = None, revision: str | None = None,
                    streaming: bool = True) -> Any:
    datasets = require("datasets")
    return datasets.load_dataset(path, name, split=split, revision=revision, streaming=streaming)


def open_streams(dataset: str, *, config: str | None = None, splits: Sequence[str] | None = None,
                 revision: str | None = None, loader: Loader | None = None) -> list[tuple[str, Iterable[Mapping[str, Any]]]]:
    """(hub split name, streaming dataset) for each split asked for (every split when none is named)."""
    load = loader or _default_loader
    try:
        if splits:
            return [(s, load(dataset, config, split=s, revision=revision, streaming=True)) for s in splits]
        loaded = load(dataset, config, split=None, revision=revision, streaming=True)
    except CodequarryError:
        raise
    except Exception as exc:  # the datasets library raises many types for a bad id, config, network or script
        hint = ""
        if "script" in str(exc).lower():
            hint = " (script-based datasets are not supported by current `datasets`; try --revision refs/convert/parquet)"
        raise CodequarryError(f"could not load dataset {dataset!r} (config {config!r}, revision {revision!r}): "
                              f"{type(exc).__name__}: {exc}{hint}") from exc
    if isinstance(loaded, Mapping):
        return [(name, loaded[name]) for name in loaded]
    return [("train", loaded)]


def features_of(stream: Any) -> list[str] | None:
    """Column names a streaming dataset declares, when it declares them."""
    feats = getattr(stream, "features", None)
    return list(feats) if feats else None


def iter_stream(stream: Iterable[Mapping[str, Any]], where: str) -> Iterable[tuple[int, Mapping[str, Any]]]:
    """Records of a streaming dataset; a failure mid-stream stops the build with a clear error."""
    it = iter(stream)
    i = 0
    while True:
        try:
            rec = next(it)
        except StopIteration:
            return
        except Exception as exc:
            raise CodequarryError(f"{where}: reading failed after {i} records: {type(exc).__name__}: {exc}") from exc
        yield i, rec
        i += 1


def _resolve(dataset: str, revision: str | None) -> tuple[str | None, str | None]:
    """(commit sha, license) of a Hub dataset, or (None, None) when offline or not a Hub id."""
    if Path(dataset).exists():
        return None, None
    try:
        from huggingface_hub import HfApi

        info = HfApi().dataset_info(dataset, revision=revision)
        card = getattr(info, "card_data", None) or {}
        lic = card.get("license") if hasattr(card, "get") else None
        return getattr(info, "sha", None), (lic if isinstance(lic, str) else None)
    except Exception:
        return None, None


@dataclass(frozen=True)
class Options:
    """The options of ``codequarry build hub`` (and of ``build``)."""

    dataset: str = option(positional=True, metavar="DATASET", help="Hub dataset id (org/name) or a local dataset folder")
    config: str | None = option(None, help="dataset configuration (subset) name")
    split: tuple[str, ...] | None = option(None, metavar="SPLIT", help="Hub split(s) to read (default: every split)")
    revision: str | None = option(None, help="Hub revision: branch, tag or commit sha (default: main)")
    source_name: str = option("hub", help="name written in the rows' source column and ids")
    license: str | None = option(None, help="license of the data (SPDX id) for the manifest and card (default: from "
                                            "the Hub card)")
    mapping: ColumnMap = option(ColumnMap(), help="column mapping (unmapped columns are kept in the JSON meta column)")


def build(out: str | Path, *, loader: Loader | None = None, overwrite: bool = False, created_by: str | None = None,
          **values: Any) -> dict[str, Any]:
    """Stream a Hub (or local) dataset into the pairs dir ``out`` through a column mapping (``values``: the
    ``Options``; ``mapping`` may be a dict of ``ColumnMap`` fields; ``loader``: a stand-in for
    ``datasets.load_dataset``, library only); returns the manifest."""
    opts = options.from_keywords(Options, values, "source 'hub'")
    dataset, config, revision, source_name, license = (opts.dataset, opts.config, opts.revision, opts.source_name,
                                                       opts.license)
    cmap = mapping_options(opts.mapping)
    splits = csv_list(opts.split)
    if Path(dataset).exists():  # a local folder is read by `datasets`, which follows links: refuse links out first
        check_folder(dataset, option="local dataset ")
    streams = open_streams(dataset, config=config, splits=splits, revision=revision, loader=loader)
    sha, card_license = _resolve(dataset, revision) if loader is None else (None, None)
    local = Path(dataset).exists()
    ident = Path(dataset).name if local else dataset  # ids must not depend on where a local copy sits
    source = SourceInfo(
        name=source_name, url=None if local else f"https://huggingface.co/datasets/{dataset}",
        license=license or card_license, revision=sha or revision, homepage=INFO.homepage,
        description=f"{'local dataset' if local else 'Hugging Face dataset'} {dataset}" + (f" (config {config})" if config else ""),
        citation=None,
    )
    params = options.params_of(opts, split=splits, mapping=cmap)
    with Sink(out, source=source, params=params, overwrite=overwrite, created_by=created_by) as sink:
        for hub_split, stream in streams:
            out_split = normalize_split(hub_split)
            where = f"{dataset}/{config or 'default'}/{hub_split}"
            declared = features_of(stream)
            if declared is not None:
                cmap.check(declared, where)
            for i, rec in iter_stream(stream, where):
                if declared is None and i == 0 and isinstance(rec, Mapping):
                    cmap.check(list(rec), where)
                result = map_record(rec, cmap, source=source_name, locator=f"{where}#{i}",
                                    fallback_id=(ident, config or "", hub_split, i), default_split=out_split)
                if isinstance(result, Bad):
                    sink.bad(result, split=out_split)
                else:
                    sink.add(*result)
        return sink.close()
