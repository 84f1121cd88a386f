"""``run:FILE``: predictions computed elsewhere, validated against the task before scoring.

Formats (detected from the content; ``--model-arg format=…`` forces one):

* ``trec`` — TREC run lines ``qid Q0 docid rank score tag`` (the rank column is ignored, as trec_eval does);
* ``codexglue`` — CodeXGLUE predictions jsonl, ``{"url": …, "answers": [idx, …]}`` in ranked order;
* ``csn-csv`` — CodeSearchNet ``model_predictions.csv`` with columns ``query, language, url[, identifier]``;
  row order is the rank within each (language, query), query ids are the lower-cased query text;
* ``labels`` — pair-classification predictions ``idx<TAB>0|1`` (CodeXGLUE's evaluator format).

Validation, each a ``CodequarryError`` naming the first offenders (file line numbers where known):
a query id or doc id the task does not have; a task query without predictions (allowed only where the
protocol scores it 0: ``csn-ndcg``); the same doc twice for one query; a non-finite score.

``official=true`` (``bench --official``) scores a ``model_predictions.csv`` as CodeSearchNet's
``relevanceeval.py`` does instead of refusing it: a url repeated in one query's list counts at each of its
ranks, and a query that is not among the task's queries is ignored (and counted in the result's details).
A CSV may start with a UTF-8 byte order mark (pandas, which the script reads it with, skips one).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from codequarry.benchmarks.models import Model, Run, parse_options, topk_from_scores
from codequarry.benchmarks.tasks.base import MissingTaskData
from codequarry.builders._readers import iter_jsonl
from codequarry.errors import CodequarryError
from codequarry.options import option
from codequarry.releases.files import CsvRows, input_of, line_of, strict

FORMATS = ("trec", "codexglue", "csn-csv", "labels")
@dataclass(frozen=True)
class RunOptions:
    """The ``--model-arg`` options of ``run:FILE``."""

    format: str | None = option(None, choices=FORMATS, help="force the file format (default: detected)")
    name: str | None = option(None, help="display name in results (default: the file name)")
    threshold: float | None = option(None, help="unused for prediction files (decisions are given)")
    official: bool = option(False, help="score a model_predictions.csv as relevanceeval.py: repeated urls count, "
                                        "unknown queries are ignored (bench --official)")


OPTIONS: dict[str, type] = {"run": RunOptions}
OFFICIAL_HINT = ("CodeSearchNet's relevanceeval.py counts a repeated url at each rank and ignores queries it has no "
                 "annotations for; pass --official (--model-arg official=true) to score the file as it does")
_SHOW = 5


def _offenders(items: Sequence[Any]) -> str:
    shown = ", ".join(str(i) for i in items[:_SHOW])
    more = f" and {len(items) - _SHOW} more" if len(items) > _SHOW else ""
    return shown + more


def detect_format(path: Path) -> str:
    with open(path, encoding="utf-8-sig") as fh:
        for line in fh:
            if line.strip():
                first = line.strip()
                break
        else:
            raise CodequarryError(f"{path}: the predictions file is empty")
    if first.startswith("{"):
        return "codexglue"
    if path.suffix.lower() == ".csv" or {"query", "language", "url"} <= {c.strip().lower() for c in first.split(",")}:
        return "csn-csv"
    if len(first.split()) == 6:
        return "trec"
    parts = first.split("\t")
    if len(parts) == 2 and parts[1].strip() in ("0", "1"):
        return "labels"
    raise CodequarryError(f"{path}: unrecognised predictions format (first line {first[:80]!r}); expected a TREC run "
                          "(qid Q0 docid rank score tag), CodeXGLUE jsonl ({url, answers}), CodeSearchNet "
                          "model_predictions.csv (query,language,url) or idx<TAB>0|1 lines; or pass --model-arg format=…")


class _Entries:
    """Parsed predictions: per query, (docid, score, line) in file order."""

    def __init__(self) -> None:
        self.by_query: dict[str, list[tuple[str, float, int]]] = {}
        self.bad_scores: list[str] = []

    def add(self, qid: str, docid: str, score: float, line: int) -> None:
        if not math.isfinite(score):
            where = f"line {line} " if line else ""
            self.bad_scores.append(f"{where}(query {qid!r} doc {docid!r}: {score})")
        self.by_query.setdefault(qid, []).append((docid, score, line))


def parse_trec(path: Path) -> _Entries:
    out = _Entries()
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            parts = line.split()
            if len(parts) != 6:
                raise CodequarryError(f"{path}:{n}: a TREC run line has 6 fields (qid Q0 docid rank score tag), got {len(parts)}")
            try:
                score = float(parts[4])
            except ValueError:
                raise CodequarryError(f"{path}:{n}: score {parts[4]!r} is not a number") from None
            out.add(parts[0], parts[2], score, n)
    return out


def parse_codexglue(path: Path) -> _Entries:
    out = _Entries()
    for where, obj in strict(iter_jsonl(input_of(path))):
        n = line_of(where)
        if not isinstance(obj, dict) or "url" not in obj or not isinstance(obj.get("answers"), list):
            raise CodequarryError(f"{path}:{n}: expected {{\"url\": …, \"answers\": [idx, …]}}")
        url = str(obj["url"])
        if url in out.by_query:
            raise CodequarryError(f"{path}:{n}: url {url!r} has a second line of predictions")
        answers = obj["answers"]
        out.by_query[url] = [(str(a), float(len(answers) - i), n) for i, a in enumerate(answers)]
    return out


def parse_csn_csv(path: Path, language: str | None, cap: int | None) -> _Entries:
    out = _Entries()
    with CsvRows(path) as reader:  # UTF-8 (a leading BOM skipped); read errors are one-line errors
        cols = {c.strip().lower(): c for c in reader.fieldnames}
        missing = [c for c in ("query", "language", "url") if c not in cols]
        if missing:
            raise CodequarryError(f"{path}: missing column(s) {', '.join(missing)} (need query, language, url)")
        groups: dict[str, list[tuple[str, int]]] = {}
        for line_num, row in reader:
            lang = (row[cols["language"]] or "").lower()
            if language is not None and lang != language:
                continue
            groups.setdefault((row[cols["query"]] or "").lower(), []).append((row[cols["url"]], line_num))
    for q, urls in groups.items():
        urls = urls[:cap] if cap else urls  # relevanceeval keeps the first 300 per (language, query)
        out.by_query[q] = [(u, float(len(urls) - i), ln) for i, (u, ln) in enumerate(urls)]
    return out


class RunModel(Model):
    kind = "predictions"
    is_prediction_file = True
    pair_score_kind = "label"

    def __init__(self, spec: str, path: Path, settings: dict[str, Any]) -> None:
        if path.is_dir():
            raise CodequarryError(f"{spec}: {path} is a folder; give the predictions file itself")
        if not path.is_file():
            raise CodequarryError(f"{spec}: no such file {path}" if not path.exists() else
                                  f"{spec}: {path} is not a regular file")
        content = path.read_bytes()
        try:
            content.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = content.count(b"\n", 0, exc.start) + 1
            raise CodequarryError(f"{spec}: {path} is not UTF-8 text (invalid byte at line {line}); predictions "
                                  "files must be UTF-8") from None
        self.path = path
        self.format = settings.get("format") or detect_format(path)
        if self.format not in FORMATS:
            raise CodequarryError(f"{spec}: format must be one of {', '.join(FORMATS)}, got {self.format!r}")
        digest = hashlib.sha256(content).hexdigest()[:16]
        super().__init__(spec, settings.get("name") or path.name, f"sha256:{digest}", dict(settings, format=self.format))
        self.official = bool(settings.get("official"))
        if self.official and self.format != "csn-csv":
            raise CodequarryError(f"{spec}: --official applies to CodeSearchNet model_predictions.csv files (csn-ndcg), "
                                  f"not to a {self.format} file")
        self._run: Run | None = None
        self._lists: dict[str, list[str]] | None = None
        self.ignored_queries: list[str] = []

    # -- task binding ----------------------------------------------------------------------------
    def prepare(self, task: Any, data: Any) -> None:
        """Parse the file for this task (CSV rows of the task's language) and validate it against the task data."""
        if self.format == "labels":
            self._labels = _read_labels(self.path)
            ids = list(data.qrels)
            unknown = [i for i in self._labels if i not in data.qrels]
            if unknown:
                raise CodequarryError(f"{self.path}: idx not in task {task.name!r}: {_offenders(unknown)}")
            missing = [i for i in ids if i not in self._labels]
            if missing:
                raise CodequarryError(f"{self.path}: missing prediction for idx {_offenders(missing)} (every labelled pair "
                                      "needs one; CodeXGLUE's evaluator aborts too)")
            return
        if task.family in ("webquery", "cosqa-qa"):
            raise CodequarryError(f"{self.path}: task {task.name!r} scores 0/1 decisions; give an idx<TAB>0|1 file")
        language = task.options.get("language")
        if self.format == "trec":
            entries = parse_trec(self.path)
        elif self.format == "codexglue":
            entries = parse_codexglue(self.path)
        else:
            from codequarry.benchmarks.protocols import CSN_MAX_URLS

            entries = parse_csn_csv(self.path, language, CSN_MAX_URLS)
            if not entries.by_query:  # a family run skips this language and scores the others, as relevanceeval.py
                raise MissingTaskData(f"{self.path}: no rows for language {language!r} (the CodeSearchNet evaluator "
                                      "scores only the languages present)")
        if self.official and task.family != "csn-ndcg":
            raise CodequarryError(f"{self.path}: --official is the csn-ndcg evaluator's behaviour; task {task.name!r} "
                                  "has no such mode")
        allow_missing = task.family == "csn-ndcg"
        hint = OFFICIAL_HINT if self.format == "csn-csv" and task.family == "csn-ndcg" else ""
        if self.official:
            self.ignored_queries = sorted(q for q in entries.by_query if q not in data.queries)
            for q in self.ignored_queries:
                del entries.by_query[q]
        self._run, self._lists = build_run(entries, data.queries, data.corpus, source=str(self.path),
                                           allow_missing=allow_missing, allow_repeats=self.official, hint=hint)

    def _require(self) -> Run:
        if self._run is None:
            raise CodequarryError(f"{self.spec}: predictions are read for a task (call prepare(task, data) first)")
        return self._run

    # -- Model interface ---------------------------------------------------------------------------
    def retrieve(self, queries: Mapping[str, str], corpus: Mapping[str, str], k: int, *,
                 exclude_identical: bool = False, language: str | None = None, allow_missing: bool = False,
                 max_per_query: int | None = None, desc: str = "") -> Run:
        from codequarry.benchmarks.search import tie_keys

        run = self._require()
        out: Run = {}
        for q, docs in run.items():
            if exclude_identical:
                docs = {d: s for d, s in docs.items() if d != q}
            if len(docs) > k:
                ids = list(docs)
                scores = np.array([docs[d] for d in ids], dtype=np.float64)
                docs = {ids[i]: s for i, s in topk_from_scores(scores, k, tie_keys(ids, len(ids)))}
            out[q] = dict(docs)
        return out

    def ranked_lists(self) -> dict[str, list[str]]:
        """Each query's doc ids in the file's own order (CodeXGLUE's evaluator reads the list as submitted)."""
        self._require()
        return dict(self._lists or {})

    def score_matrix(self, query_ids: Sequence[str], query_texts: Sequence[str], doc_ids: Sequence[str],
                     doc_texts: Sequence[str]) -> np.ndarray:
        run = self._require()
        out = np.full((len(query_ids), len(doc_ids)), -np.inf, dtype=np.float64)
        col = {d: j for j, d in enumerate(doc_ids)}
        for i, q in enumerate(query_ids):
            for d, s in run.get(q, {}).items():
                j = col.get(d)
                if j is not None:
                    out[i, j] = s
        return out

    def score_pairs(self, query_texts: Sequence[str], doc_texts: Sequence[str]) -> np.ndarray:
        raise CodequarryError(f"{self.spec}: a predictions file has no pair scores; use an idx<TAB>0|1 file for "
                              "classification tasks")

    def pair_labels(self, ids: Sequence[str]) -> dict[str, int]:
        labels = getattr(self, "_labels", None)
        if labels is None:
            raise CodequarryError(f"{self.spec}: not an idx<TAB>0|1 predictions file")
        return {i: labels[i] for i in ids}


def _read_labels(path: Path) -> dict[str, int]:
    from codequarry.benchmarks.tasks.pair_classification import read_labels

    return read_labels(path)


def _line(n: int) -> str:
    return f" (line {n})" if n else ""


def build_run(entries: _Entries, queries: Mapping[str, str], corpus: Mapping[str, str], *, source: str,
              allow_missing: bool, allow_repeats: bool = False, hint: str = "") -> tuple[Run, dict[str, list[str]]]:
    """Validate parsed predictions against the task; return the run and each query's list in file order.

    ``allow_repeats`` keeps a repeated doc in the file-order list (the run keeps its first score); ``hint``
    ends the errors a lenient mode would not raise (repeats, unknown queries).
    """
    tail = f"; {hint}" if hint else ""
    if entries.bad_scores:
        raise CodequarryError(f"{source}: non-finite score(s) at {_offenders(entries.bad_scores)}")
    unknown_q = [f"{q!r}{_line(docs[0][2] if docs else 0)}" for q, docs in entries.by_query.items() if q not in queries]
    if unknown_q:
        raise CodequarryError(f"{source}: query id(s) not in the task: {_offenders(unknown_q)}{tail}")
    run: Run = {}
    lists: dict[str, list[str]] = {}
    dupes: list[str] = []
    unknown_d: list[str] = []
    for q, docs in entries.by_query.items():
        seen: dict[str, float] = {}
        for d, s, line in docs:
            if d in seen:
                if not allow_repeats:
                    dupes.append(f"{q!r} doc {d!r}{_line(line)}")
                continue
            if corpus and d not in corpus:
                unknown_d.append(f"{d!r} (query {q!r}){_line(line)}")
            seen[d] = s
        run[q] = seen
        lists[q] = [d for d, _, _ in docs]
    if dupes:
        raise CodequarryError(f"{source}: the same doc twice for one query: {_offenders(dupes)}{tail}")
    if unknown_d:
        raise CodequarryError(f"{source}: doc id(s) not in the task's corpus: {_offenders(unknown_d)}")
    missing = [q for q in queries if q not in run]
    if missing and not allow_missing:
        raise CodequarryError(f"{source}: no predictions for {len(missing)} task quer{'y' if len(missing) == 1 else 'ies'}: "
                              f"{_offenders([repr(m) for m in missing])} (every query needs a ranked list)")
    return run, lists


def validate_run(run: Mapping[str, Mapping[str, float]], queries: Mapping[str, str], corpus: Mapping[str, str], *,
                 source: str, allow_missing: bool = False, k: int | None = None) -> Run:
    """Check a run a Python model returned: known ids, every query present, finite scores; cut to ``k``."""
    entries = _Entries()
    for q, docs in run.items():
        for d, s in docs.items():
            entries.add(str(q), str(d), float(s), 0)
        entries.by_query.setdefault(str(q), [])
    out, _ = build_run(entries, queries, corpus, source=source, allow_missing=allow_missing)
    if k is not None:
        from codequarry.benchmarks.search import tie_keys

        for q, docs in out.items():
            if len(docs) > k:
                ids = list(docs)
                scores = np.array([docs[d] for d in ids], dtype=np.float64)
                out[q] = {ids[i]: s for i, s in topk_from_scores(scores, k, tie_keys(ids, len(ids)))}
    return out


def load_run(spec: str, target: str, args: dict[str, Any], *, cache_dir: Any = None, batch_size: Any = None) -> RunModel:
    return RunModel(spec, Path(target).expanduser(), parse_options(spec, OPTIONS["run"], args))
