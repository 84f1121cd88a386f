"""BEIR folders (Thakur et al., 2021), the layout CoIR and MTEB also read: written and read here only.

A folder holds ``corpus.jsonl`` (``{"_id", "title", "text"}`` per line), ``queries.jsonl``
(``{"_id", "text"}``) and ``qrels/{split}.tsv`` (a header row ``query-id<TAB>corpus-id<TAB>score``,
then one judgement per row). As BEIR's ``GenericDataLoader``: the qrels header is skipped, ids are
strings, scores integers, and later rows for the same (query, doc) replace earlier ones.

The ``coir/...`` benchmark task reads folders with ``iter_corpus``/``iter_queries``/``read_qrels``;
``write_folder`` is the one writer of the format (exports, tests).
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from codequarry.builders._io import Bad, Input
from codequarry.builders._readers import iter_jsonl
from codequarry.errors import CodequarryError

CORPUS = "corpus.jsonl"
QUERIES = "queries.jsonl"
QRELS_DIR = "qrels"
QRELS_HEADER = ("query-id", "corpus-id", "score")


def is_beir_dir(path: Path | None) -> bool:
    return (path is not None and path.is_dir() and (path / CORPUS).is_file()
            and (path / QUERIES).is_file() and (path / QRELS_DIR).is_dir())


def splits(path: Path) -> list[str]:
    """The splits with a qrels file, sorted."""
    return sorted(p.stem for p in (path / QRELS_DIR).glob("*.tsv"))


def _iter_objects(path: Path, fields: tuple[str, ...]) -> Iterator[tuple[str, dict[str, Any]] | Bad]:
    for item in iter_jsonl(Input(str(path), path)):
        if isinstance(item, Bad):
            yield item
            continue
        where, obj = item
        if not isinstance(obj, dict):
            yield Bad("wrong_type", where, f"expected an object, got {type(obj).__name__}")
        elif "_id" not in obj:
            yield Bad("missing_field", where, "missing '_id'")
        else:
            yield where, {"_id": str(obj["_id"]), **{f: str(obj.get(f) or "") for f in fields}}


def iter_corpus(folder: Path) -> Iterator[tuple[str, dict[str, Any]] | Bad]:
    """(locator, {"_id", "title", "text"}) per document of ``corpus.jsonl`` (missing title/text read as "")."""
    return _iter_objects(folder / CORPUS, ("title", "text"))


def iter_queries(folder: Path) -> Iterator[tuple[str, dict[str, Any]] | Bad]:
    """(locator, {"_id", "text"}) per query of ``queries.jsonl``."""
    return _iter_objects(folder / QUERIES, ("text",))


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    """``{query-id: {corpus-id: score}}`` of one qrels TSV; a malformed row is an error naming the line."""
    qrels: dict[str, dict[str, int]] = {}
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_MINIMAL)
            next(reader, None)  # header (query-id, corpus-id, score), skipped as BEIR does
            for n, row in enumerate(reader, start=2):
                if not row:
                    continue
                if len(row) < 3:
                    raise CodequarryError(f"{path}:{n}: expected query-id, corpus-id and score separated by tabs")
                try:
                    score = int(row[2])
                except ValueError:
                    raise CodequarryError(f"{path}:{n}: score {row[2]!r} is not an integer") from None
                qrels.setdefault(row[0], {})[row[1]] = score
    except UnicodeDecodeError as exc:
        raise CodequarryError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except csv.Error as exc:
        raise CodequarryError(f"{path}: malformed TSV ({exc})") from None
    return qrels


def write_folder(out: str | os.PathLike[str], *, corpus: Iterable[Mapping[str, Any]], queries: Iterable[Mapping[str, Any]],
                 qrels: Mapping[str, Iterable[tuple[str, str, int]]]) -> Path:
    """Write a BEIR folder: ``corpus`` rows ``{"_id", "text"[, "title"]}``, ``queries`` rows ``{"_id", "text"}``,
    ``qrels`` ``{split: [(query-id, corpus-id, score), ...]}``. Each file is written whole, then renamed."""
    out = Path(out)
    (out / QRELS_DIR).mkdir(parents=True, exist_ok=True)
    _write(out / CORPUS, (json.dumps({"_id": str(r["_id"]), "title": str(r.get("title") or ""), "text": str(r["text"])},
                                     ensure_ascii=False) + "\n" for r in corpus))
    _write(out / QUERIES, (json.dumps({"_id": str(r["_id"]), "text": str(r["text"])}, ensure_ascii=False) + "\n"
                           for r in queries))
    for split, rows in qrels.items():
        if not split or "/" in split or "\\" in split or split.startswith("."):
            raise CodequarryError(f"qrels split name {split!r} is not a plain file name")
        _write(out / QRELS_DIR / f"{split}.tsv", _tsv_lines(rows))
    return out


def _tsv_lines(rows: Iterable[tuple[str, str, int]]) -> Iterator[str]:
    """The qrels rows as BEIR's ``csv.reader(delimiter="\\t", quoting=QUOTE_MINIMAL)`` reads them back."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter="\t", quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    writer.writerow(QRELS_HEADER)
    for qid, did, score in rows:
        if any(c in str(x) for x in (qid, did) for c in "\t\n\r"):
            raise CodequarryError(f"id {qid!r} or {did!r} holds a tab or line break; a BEIR qrels row cannot")
        writer.writerow((str(qid), str(did), int(score)))
        yield buf.getvalue()
        buf.seek(0)
        buf.truncate()
    yield buf.getvalue()


def _write(path: Path, lines: Iterator[str]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            fh.writelines(lines)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)
