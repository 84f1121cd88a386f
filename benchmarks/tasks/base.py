"""What a benchmark task is: metadata (from ``tasks.yaml``) + a family module that loads data and scores a model.

A family module (``csn.py``, ``cosqa.py`` …) defines:

* ``load(task, inputs, split) -> TaskData`` reads the task's data from the user's ``--data`` inputs;
* ``evaluate(task, data, model) -> Evaluation`` runs the protocol and returns the scores with per-query values,
  only when the protocol is not the standard evaluator a ``tasks.yaml`` ``eval`` block declares.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codequarry.errors import CodequarryError
from codequarry.releases.files import check_folder

if TYPE_CHECKING:
    from codequarry.benchmarks.tasks.spec import TaskSpec

_NAME_RE = re.compile(r"^[a-z][a-z0-9_-]*$")


class MissingTaskData(CodequarryError):
    """The task's data is not where ``--data`` points (a family run skips such languages and says so)."""


@dataclass(frozen=True)
class TaskData:
    """A loaded task: ``queries {qid: text}``, ``corpus {docid: text}``, graded ``qrels {qid: {docid: int}}``.

    ``meta`` carries the protocol id, languages, split, revision, data fingerprint and sizes; ``extra``
    carries what a protocol needs beyond qrels (batch order, mean relevances, calibration pairs …).
    """

    queries: dict[str, str]
    corpus: dict[str, str]
    qrels: dict[str, dict[str, int]]
    meta: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class Evaluation:
    """A protocol's output: mean scores, per-query values (for CIs and significance) and run details."""

    scores: dict[str, float]
    per_query: dict[str, dict[str, float]]
    num_queries: int
    num_docs: int
    details: dict[str, Any] = field(default_factory=dict)
    run: dict[str, dict[str, float]] | None = field(default=None, repr=False)  # the ranked lists, when there are some


def _from_spec(name: str) -> Any:
    """A read-only attribute of ``Task`` that is its spec's field of that name (written once, in tasks.yaml)."""
    return property(lambda self: getattr(self.spec, name), doc=f"``spec.{name}``: the task's tasks.yaml entry")


@dataclass(frozen=True)
class Task:
    """A registered benchmark task: its ``tasks.yaml`` entry plus what this instance fixes.

    ``spec`` (a validated ``TaskSpec``) is the one home of the task's facts, read through the attributes
    below; the instance adds its ``name``, its ``languages`` (one per task of a per-language family, the
    data's for a folder) and its ``options`` (the entry's, plus per-task ones such as ``language`` or
    ``path``). ``citation`` (the BibTeX text), ``module`` (the family module's import path) and
    ``data_source`` (with ``{language}`` filled in) are derived from the spec.
    """

    name: str
    spec: TaskSpec
    languages: tuple[str, ...]
    options: Mapping[str, Any] = field(default_factory=dict)

    # the spec's fields, read through (not dataclass fields: no annotation)
    family = _from_spec("family")
    title = _from_spec("title")
    protocol = _from_spec("protocol")
    protocol_description = _from_spec("protocol_description")
    type = _from_spec("type")
    main_score = _from_spec("main_score")
    measures = _from_spec("measures")
    splits = _from_spec("splits")
    default_split = _from_spec("default_split")
    source = _from_spec("source")
    homepage = _from_spec("homepage")
    revision = _from_spec("revision")
    license = _from_spec("license")
    query_averaging = _from_spec("query_averaging")
    description = _from_spec("description")
    eval = _from_spec("eval")
    data = _from_spec("data")
    hub_dataset = _from_spec("hub_dataset")
    hub_revision = _from_spec("hub_revision")

    @property
    def citation(self) -> str:
        """The BibTeX entry the spec's citation key names (``codequarry/citations.yaml``)."""
        from codequarry.citations import bibtex

        return bibtex(self.spec.citation)

    @property
    def module(self) -> str:
        """The import path of the family module that loads (and, without an ``eval`` block, scores) the task."""
        return f"codequarry.benchmarks.tasks.{self.spec.module}"

    @property
    def data_source(self) -> str:
        """Where the data comes from, ``{language}`` filled in for a one-language task."""
        text = self.spec.data_source
        return text.replace("{language}", self.languages[0]) if len(self.languages) == 1 else text

    @property
    def language(self) -> str:
        """The task's language column (``multi`` when it spans several)."""
        return self.languages[0] if len(self.languages) == 1 else "multi"

    @property
    def slug(self) -> str:
        """File-name form of the name (``csn/python`` → ``csn_python``)."""
        return self.name.replace("/", "_")

    def _impl(self):
        return importlib.import_module(self.module)

    def check_split(self, split: str | None) -> str:
        """The split to load: the given one (checked against ``splits``) or the default ("" = the data decides)."""
        split = split or self.default_split
        if self.splits and split not in self.splits:
            raise CodequarryError(f"task {self.name!r} has no split {split!r}; choose one of: {', '.join(self.splits)}")
        return split

    def load(self, data: Any = None, split: str | None = None) -> TaskData:
        """Read this task's data (``data``: a path or named paths, see ``Inputs``)."""
        split = self.check_split(split)
        return self._impl().load(self, Inputs.of(data), split)

    @property
    def ranks_a_corpus(self) -> bool:
        """Whether the protocol ranks a corpus per query (so ``--save-run`` and ``--measures`` apply).

        Not so for pair classification, nor for a family module that sets ``RANKED_LIST = False``
        (CodeSearchNet's batch protocol scores a 1000 × 1000 block per batch).
        """
        return self.type == "retrieval" and bool(getattr(self._impl(), "RANKED_LIST", True))

    def evaluate(self, data: TaskData, model: Any, measures: Iterable[str] = ()) -> Evaluation:
        """Run the task's protocol for ``model`` on loaded ``data`` (a predictions file is validated first).

        ``measures`` adds trec_eval-style measures beyond the protocol's (``mrr@10``, ``recall@20``,
        ``hit_rate@10`` …), computed on the same ranked lists with the protocol's query averaging.
        """
        extra = list(dict.fromkeys(measures))
        if extra and not self.ranks_a_corpus:
            raise CodequarryError(f"task {self.name!r}: --measures needs ranked lists, and its protocol "
                                  f"{self.protocol!r} does not rank a corpus per query")
        prepare = getattr(model, "prepare", None)
        if callable(prepare):
            prepare(self, data)
        if self.eval is not None:
            from codequarry.benchmarks.tasks.retrieval import evaluate_retrieval

            k = self.eval.k if self.eval.k is not None else max(1, len(data.corpus))
            ev = evaluate_retrieval(self, data, model, k=k, averaging=self.eval.averaging,
                                    exclude_identical=self.eval.exclude_identical)
        else:
            ev = self._impl().evaluate(self, data, model)
        if extra:
            from codequarry.benchmarks.tasks.retrieval import add_measures

            ev = add_measures(self, ev, data, extra)
        return ev

    def metadata(self) -> dict[str, Any]:
        """Everything a results file or the ``tasks`` table says about this task."""
        return {"name": self.name, "family": self.family, "title": self.title, "protocol": self.protocol,
                "protocol_description": self.protocol_description, "type": self.type,
                "hub_dataset": self.hub_dataset, "hub_revision": self.hub_revision,
                "main_score": self.main_score, "measures": list(self.measures), "languages": list(self.languages),
                "splits": list(self.splits), "default_split": self.default_split, "source": self.source,
                "homepage": self.homepage, "revision": self.revision, "license": self.license,
                "citation": self.citation, "data_source": self.data_source,
                "query_averaging": self.query_averaging, "description": self.description}


# ---------------------------------------------------------------------------------------------
# --data inputs


@dataclass(frozen=True)
class Inputs:
    """The user's ``--data``: an unnamed primary path and/or named paths (``answers=FILE``)."""

    paths: Mapping[str, Path]

    @classmethod
    def of(cls, data: Any) -> Inputs:
        if data is None:
            return cls({})
        if isinstance(data, Inputs):
            return data
        if isinstance(data, (str, os.PathLike)):
            items: Iterable[tuple[str, Any]] = [("", data)]
        elif isinstance(data, Mapping):
            items = data.items()
        elif isinstance(data, (list, tuple)):
            items = [parse_data_arg(str(d)) for d in data]
        else:
            raise CodequarryError(f"data must be a path or a mapping of names to paths, got {type(data).__name__}")
        out: dict[str, Path] = {}
        for name, path in items:
            name = str(name or "")
            if name in out:
                raise CodequarryError(f"--data {name or '(unnamed)'} given twice")
            p = Path(os.path.expanduser(str(path)))
            if not p.exists():
                label = f"{name}=" if name else ""
                raise CodequarryError(f"--data {label}{path}: no such file or folder")
            check_folder(p, option=f"--data {name}=" if name else "--data ")  # links out, FIFOs: before any read
            out[name] = p
        return cls(out)

    @property
    def primary(self) -> Path | None:
        return self.paths.get("")

    def named(self, name: str) -> Path | None:
        return self.paths.get(name)

    def check_names(self, task: Task, allowed: Iterable[str]) -> None:
        allowed = set(allowed)
        unknown = [n for n in self.paths if n and n not in allowed]
        if unknown:
            raise CodequarryError(f"task {task.name!r} takes no --data {unknown[0]}=…; named inputs: "
                                  f"{', '.join(sorted(allowed)) or 'none'}")

    def find(self, name: str, *filenames: str, required: bool = False, task: Task | None = None) -> Path | None:
        """The input ``name``: given as ``name=PATH``, or one of ``filenames`` inside the primary folder/its parents' listing."""
        given = self.named(name)
        if given is not None:
            return given
        primary = self.primary
        if primary is not None:
            if primary.is_file() and primary.name in filenames:
                return primary
            if primary.is_dir():
                for fn in filenames:
                    if (primary / fn).exists():
                        return primary / fn
        if required:
            where = task.data_source if task else ""
            raise MissingTaskData(f"{task.name if task else 'task'}: need {name} ({' or '.join(filenames)}); "
                                  f"pass --data DIR holding it or --data {name}=PATH. {where}".strip())
        return None


def parse_data_arg(text: str) -> tuple[str, str]:
    """``NAME=PATH`` → (NAME, PATH); a plain path (or one that exists as written) → ("", PATH)."""
    if "=" in text and not Path(text).exists():
        name, _, path = text.partition("=")
        if _NAME_RE.match(name):
            return name, path
    return "", text


# ---------------------------------------------------------------------------------------------
# helpers shared by families


def fingerprint(queries: Mapping[str, str], corpus: Mapping[str, str], qrels: Mapping[str, Mapping[str, Any]],
                extra: Any = None) -> str:
    """``sha256:`` over the canonical (sorted) queries, corpus, qrels and protocol extras."""
    h = hashlib.sha256()
    for label, mapping in (("queries", queries), ("corpus", corpus)):
        h.update(label.encode())
        for key in sorted(mapping):
            h.update(b"\x1e" + str(key).encode("utf-8", "surrogatepass") + b"\x1f"
                     + str(mapping[key]).encode("utf-8", "surrogatepass"))
    h.update(b"qrels")
    for q in sorted(qrels):
        h.update(json.dumps([q, sorted((str(d), r) for d, r in qrels[q].items())], ensure_ascii=False).encode())
    if extra is not None:
        h.update(b"extra" + json.dumps(extra, sort_keys=True, ensure_ascii=False, default=str).encode())
    return "sha256:" + h.hexdigest()


def make_task_data(task: Task, split: str, queries: dict[str, str], corpus: dict[str, str],
                   qrels: dict[str, dict[str, int]], *, files: Iterable[Path | str] = (),
                   extra: dict[str, Any] | None = None, fingerprint_extra: Any = None,
                   **meta: Any) -> TaskData:
    """Assemble a TaskData with the standard meta (protocol, languages, split, revision, fingerprint, sizes)."""
    base = {"task": task.name, "family": task.family, "protocol": task.protocol, "main_score": task.main_score,
            "languages": list(task.languages), "split": split, "revision": task.revision,
            "fingerprint": fingerprint(queries, corpus, qrels, fingerprint_extra),
            "num_queries": len(queries), "num_docs": len(corpus),
            "files": [str(f) for f in files]}
    base.update(meta)
    return TaskData(queries=queries, corpus=corpus, qrels=qrels, meta=base, extra=dict(extra or {}))


def iter_jsonl(path: Path) -> Iterable[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line of a .jsonl or .jsonl.gz file (the shared reader, strict)."""
    from codequarry.releases.files import jsonl_objects

    yield from jsonl_objects(path)


def joined_tokens(value: Any) -> str:
    """CodeBERT/UniXcoder's input text: a token list joined by spaces, a string re-split on whitespace."""
    if value is None:
        return ""
    if isinstance(value, str):
        return " ".join(value.split())
    return " ".join(str(t) for t in value)
