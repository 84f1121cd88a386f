"""StaQC (Yao et al., WWW 2018): Stack Overflow question titles paired with answer code, Python and SQL.

Files (found by name anywhere under ``--path``: the repository checkout, or a flat folder):

* ``{lang}_multi_code_iids.txt`` (``final_collection/``): one tuple literal ``(question_id,
  snippet_index)`` per line, CRLF endings; the multi-code pairs, mined by BiV-HNN plus the
  manually annotated positives. Parsed with ``ast.literal_eval``; anything but a 2-tuple of ints
  is excluded (``bad_iid``).
* ``{lang}_how_to_do_it_by_classifier_multiple_iid_to_code.pickle`` ((qid, idx) → code) and
  ``…_multiple_qid_to_title.pickle`` (qid → title): the texts of multi-code pairs.
* ``{lang}_how_to_do_it_qid_by_classifier_unlabeled_single_code_answer_qid_to_{code,title}.pickle``:
  single-code answers, paired with their question title.
* ``all_agreed_iid_to_label.pickle`` in ``{lang}_annotator/`` (or flat as
  ``{lang}_all_agreed_iid_to_label.pickle``): (qid, idx) → 0/1, the all-annotators-agreed labels.
* optionally ``data_hnn/{lang}/{train,valid,test}/iids.pickle`` (sets of (qid, idx)): BiV-HNN's split
  of the annotated pairs, used with ``--hnn-splits``.

Every pickle is Python 2 and goes through the restricted unpickler; py2 byte strings are decoded
as UTF-8 (``invalid_utf8`` exclusion otherwise).

Parts (``--parts``): ``multi`` = every iid of the txt file, ``label`` set where annotated (1);
``manual`` = annotated iids not already in ``multi`` (the 0-labelled snippets; all annotated
pairs when ``multi`` is not built); ``single`` = single-code answers. ``meta.origin`` says
``mined``, ``manual`` or ``single_answer``; ``meta`` also has ``question_id`` and
``snippet_index``; ``url`` is the question's Stack Overflow page. StaQC has no official split
of its mined pairs: every row goes to ``--split`` (default ``train``), except that with
``--hnn-splits`` annotated pairs take BiV-HNN's train/valid/test split. A part whose files are
missing is an error naming the file and where to get it, unless ``--skip-missing`` builds only
the parts that are complete (the skipped ones are listed in the manifest). Row ids are
``make_id("staqc", lang, qid, idx)`` (``"single"`` for idx of single answers).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codequarry import options
from codequarry.builders._io import Bad, Input, as_paths
from codequarry.builders._sink import Sink, base_row
from codequarry.builders._text import csv_list
from codequarry.citations import bibtex
from codequarry.errors import CodequarryError
from codequarry.options import option
from codequarry.pairs import SourceInfo
from codequarry.releases.files import not_read
from codequarry.releases.pickles import as_text
from codequarry.releases.staqc import (
    HNN_SPLITS,
    LANGUAGES,
    REPO,
    WHERE,
    expected_name,
    is_iid,
    iter_iids,
    load_dict,
    load_iid_set,
    locate,
)
from codequarry.schema import make_id

INFO = SourceInfo(
    name="staqc",
    url=REPO,
    homepage=REPO,
    license="CC-BY-4.0",
    revision="81b74af",
    description="StaQC: Stack Overflow question titles paired with Python/SQL answer code (snippets are CC BY-SA SO content).",
    citation=bibtex("staqc"),
)

PARTS = ("multi", "manual", "single")
_NEEDS = {"multi": ("iids", "multi_code", "multi_title"), "manual": ("labels", "multi_code", "multi_title"),
          "single": ("single_code", "single_title")}


@dataclass(frozen=True)
class Options:
    """The options of ``codequarry build staqc`` (and of ``build``)."""

    path: tuple[str, ...] = option(required=True, metavar="PATH",
                                   help="StaQC repository checkout or folders holding its pickles and "
                                        "*_multi_code_iids.txt")
    languages: tuple[str, ...] | None = option(None, metavar="LANG", help="python and/or sql (default: both)")
    parts: tuple[str, ...] | None = option(None, metavar="PART",
                                           help="multi (mined + annotated multi-code pairs), manual (annotated pairs "
                                                "not in multi: the 0-labelled ones), single (single-code answers); "
                                                "default: all three")
    split: str = option("train", help="split for every row (StaQC has no official split; default: train)")
    hnn_splits: bool = option(False, help="put annotated pairs in BiV-HNN's train/valid/test split "
                                          "(data/data_hnn/{lang}/{split}/iids.pickle)")
    skip_missing: bool = option(False, help="build only the parts whose files are present (default: a missing file "
                                            "is an error)")


def build(out: str | Path, *, overwrite: bool = False, created_by: str | None = None, **values: Any) -> dict[str, Any]:
    """Build StaQC pairs into ``out`` (``values``: the ``Options``); returns the manifest."""
    opts = options.from_keywords(Options, values, "source 'staqc'")
    split, hnn_splits, skip_missing = opts.split, opts.hnn_splits, opts.skip_missing
    langs = [x.lower() for x in csv_list(opts.languages) or []] or list(LANGUAGES)
    chosen = [x.lower() for x in csv_list(opts.parts) or []] or list(PARTS)
    for x in langs:
        if x not in LANGUAGES:
            raise CodequarryError(f"--languages: StaQC has {', '.join(LANGUAGES)}, not {x!r}")
    for x in chosen:
        if x not in PARTS:
            raise CodequarryError(f"--parts: choose from {', '.join(PARTS)}, not {x!r}")
    paths = as_paths(opts.path)
    files, problems = locate(paths)
    plan: list[tuple[str, str]] = []
    skipped: list[dict[str, Any]] = []
    for lang in langs:
        for part in chosen:
            missing = [k for k in _NEEDS[part] if (k, lang) not in files]
            if not missing:
                plan.append((lang, part))
                continue
            lines = "; ".join(f"{expected_name(k, lang)} (from {WHERE[k]})" for k in missing)
            if not skip_missing:
                raise CodequarryError(
                    f"StaQC {lang} part '{part}' needs files not found under {', '.join(map(str, paths))}: {lines}"
                    f"{not_read(problems)}. "
                    "Download them, or leave the part out (--parts / --languages), or pass --skip-missing to build "
                    "only the parts whose files are present.")
            skipped.append({"language": lang, "part": part, "missing": [expected_name(k, lang) for k in missing]})
    if not plan:
        raise CodequarryError(f"nothing to build: every requested StaQC part lacks files ({skipped}){not_read(problems)}")
    if hnn_splits:
        for lang in {lang for lang, _ in plan}:
            absent = [s for s in HNN_SPLITS if (f"hnn_{s}", lang) not in files]
            if absent:
                raise CodequarryError(f"--hnn-splits: no data_hnn/{lang}/{{{','.join(absent)}}}/iids.pickle under "
                                      f"{', '.join(map(str, paths))} (from {REPO}/tree/master/data/data_hnn)")
    params = options.params_of(opts, path=paths, languages=langs, parts=chosen)
    with Sink(out, source=INFO, params=params, overwrite=overwrite, created_by=created_by) as sink:
        for item in problems:  # links, special files, unsafe archive members with StaQC names: counted, not read
            sink.bad(item, split=split)
        if skipped:
            sink.note("skipped_parts", skipped)
        for lang in langs:
            lang_parts = [p for lg, p in plan if lg == lang]
            if lang_parts:
                _build_language(sink, files, lang, lang_parts, split=split, hnn=hnn_splits)
        return sink.close()


class _Texts:
    """Lazily loaded dicts of one language (each pickle read once)."""

    def __init__(self, files: dict[tuple[str, str], Input], lang: str, sink: Sink) -> None:
        self.files, self.lang, self.sink = files, lang, sink
        self._cache: dict[str, dict[Any, Any]] = {}

    def get(self, kind: str) -> dict[Any, Any]:
        if kind not in self._cache:
            inp = self.files[(kind, self.lang)]
            self.sink.note_input(inp, kind=f"{self.lang}/{kind}")
            self._cache[kind] = load_dict(inp, kind)
        return self._cache[kind]


def _build_language(sink: Sink, files: dict[tuple[str, str], Input], lang: str, parts: list[str], *, split: str,
                    hnn: bool) -> None:
    texts = _Texts(files, lang, sink)
    labels = texts.get("labels") if ("labels", lang) in files and ("multi" in parts or "manual" in parts) else {}
    hnn_split: dict[tuple[int, int], str] = {}
    conflicts = 0
    if hnn:
        for s in HNN_SPLITS:
            inp = files[(f"hnn_{s}", lang)]
            sink.note_input(inp, kind=f"{lang}/hnn_{s}")
            for iid in sorted(load_iid_set(inp)):
                if hnn_split.setdefault(iid, s) != s:
                    conflicts += 1
        sink.note(f"hnn_splits_{lang}", {"pairs": len(hnn_split), "in_two_splits": conflicts})
    emitted: set[tuple[int, int]] = set()
    if "multi" in parts:
        inp = files[("iids", lang)]
        sink.note_input(inp, kind=f"{lang}/iids")
        for item in iter_iids(inp):
            if isinstance(item, Bad):
                sink.bad(item, split=split)
                continue
            where, iid = item
            emitted.add(iid)
            _emit_multi(sink, texts, labels, lang, iid, where, split=hnn_split.get(iid, split) if iid in labels else split,
                        manual=False)
    if "manual" in parts:
        for key in sorted(labels, key=repr):
            where = f"{files[('labels', lang)].name}[{key!r:.40}]"
            if not is_iid(key):
                sink.exclude("bad_iid", locator=where, detail=f"label key {key!r:.60} is not (question_id, snippet_index)",
                             split=split)
                continue
            if key in emitted:
                continue
            _emit_multi(sink, texts, labels, lang, key, where, split=hnn_split.get(key, split), manual=True)
    if "single" in parts:
        codes, titles = texts.get("single_code"), texts.get("single_title")
        name = files[("single_code", lang)].name
        for qid in sorted(codes, key=repr):
            where = f"{name}[{qid!r:.40}]"
            if isinstance(qid, bool) or not isinstance(qid, int):
                sink.exclude("bad_iid", locator=where, detail=f"question id {qid!r:.60} is not an integer", split=split)
                continue
            row = _row(lang, qid, None, codes[qid], titles.get(qid), where, origin="single_answer", label=None)
            _put(sink, row, split)


def _emit_multi(sink: Sink, texts: _Texts, labels: dict[Any, Any], lang: str, iid: tuple[int, int], where: str, *,
                split: str, manual: bool) -> None:
    qid, idx = iid
    label = labels.get(iid)
    if label is not None and (isinstance(label, bool) or label not in (0, 1)):
        sink.exclude("bad_label", locator=where, detail=f"label {label!r:.60} for {iid} is not 0 or 1", split=split)
        return
    codes, titles = texts.get("multi_code"), texts.get("multi_title")
    if iid not in codes:
        sink.exclude("missing_code", locator=where, split=split,
                     detail=f"no code for {iid} in {expected_name('multi_code', lang)}")
        return
    origin = "manual" if label is not None else "mined"
    _put(sink, _row(lang, qid, idx, codes[iid], titles.get(qid), where, origin=origin, label=label), split)


def _row(lang: str, qid: int, idx: int | None, code: Any, title: Any, where: str, *, origin: str,
         label: int | None) -> dict[str, Any] | Bad:
    if title is None:
        return Bad("missing_title", where, f"no title for question {qid}")
    try:
        code_text, title_text = as_text(code), as_text(title)
    except UnicodeDecodeError as exc:
        return Bad("invalid_utf8", where, f"byte {exc.start}: {exc.reason}")
    except TypeError as exc:
        return Bad("wrong_type", where, str(exc))
    row = base_row(INFO.name)
    row.update(id=make_id(INFO.name, lang, qid, "single" if idx is None else idx), query=title_text, code=code_text,
               language=lang, url=f"https://stackoverflow.com/questions/{qid}", label=label,
               meta={"question_id": qid, "snippet_index": idx, "origin": origin})
    return row


def _put(sink: Sink, row: dict[str, Any] | Bad, split: str) -> None:
    if isinstance(row, Bad):
        sink.bad(row, split=split)
    else:
        sink.add(row, split)


def label_counts(labels: dict[Any, Any]) -> Counter[Any]:
    """How many annotated snippets carry each label (4,884 Python: 2,169 ones; 3,637 SQL: 2,056 ones)."""
    return Counter(labels.values())
