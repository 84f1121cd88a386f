"""StaQC (Yao et al., WWW 2018) as released: which file is which, and its pickles and iid lists read safely.

Files (found by name anywhere under the given paths: the repository checkout, or a flat folder):
``{lang}_multi_code_iids.txt`` (one ``(question_id, snippet_index)`` tuple literal per line, parsed
with ``ast.literal_eval``), the ``{lang}_how_to_do_it_*`` pickles (dicts of code and titles),
``all_agreed_iid_to_label.pickle`` (annotated 0/1 labels) and BiV-HNN's
``data_hnn/{lang}/{split}/iids.pickle`` sets. Every pickle is Python 2 and goes through the
restricted, budgeted unpickler (``pickles``).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from codequarry.builders._io import Bad, Input, discover
from codequarry.builders._readers import iter_lines
from codequarry.errors import CodequarryError
from codequarry.releases.pickles import safe_load

REPO = "https://github.com/LittleYUYU/StackOverflow-Question-Code-Dataset"
LANGUAGES = ("python", "sql")
HNN_SPLITS = ("train", "valid", "test")
SOURCE_DIR = f"{REPO}/tree/master/annotation_tool/data/code_solution_labeled_data/source"
WHERE = {
    "iids": f"{REPO}/tree/master/final_collection",
    "multi_code": SOURCE_DIR,
    "multi_title": SOURCE_DIR,
    "single_code": SOURCE_DIR,
    "single_title": SOURCE_DIR,
    "labels": f"{REPO}/tree/master/annotation_tool/crowd_sourcing",
}
MAX_IID_LINE = 200


def file_kind(rel: str) -> tuple[str, str] | None:
    """(kind, language) of a StaQC file from its path, or None."""
    parts = rel.replace("\\", "/").split("/")
    base = parts[-1].lower()
    m = re.match(r"^(python|sql)_(.+)$", base)
    if m:
        lang, rest = m[1], m[2]
        if rest == "multi_code_iids.txt":
            return "iids", lang
        if rest == "how_to_do_it_by_classifier_multiple_iid_to_code.pickle":
            return "multi_code", lang
        if rest == "how_to_do_it_by_classifier_multiple_qid_to_title.pickle":
            return "multi_title", lang
        s = re.match(r"^how_to_do_it_(?:qid_)?by_classifier_unlabeled_single_code_answer_qid_to_(code|title)\.pickle$", rest)
        if s:
            return f"single_{s[1]}", lang
        if rest == "all_agreed_iid_to_label.pickle":
            return "labels", lang
    if base == "all_agreed_iid_to_label.pickle" and len(parts) >= 2:
        a = re.match(r"^(python|sql)_annotator$", parts[-2].lower())
        if a:
            return "labels", a[1]
    if base == "iids.pickle" and len(parts) >= 3 and parts[-2] in HNN_SPLITS and parts[-3] in LANGUAGES:
        return f"hnn_{parts[-2]}", parts[-3]
    return None


def locate(paths: Sequence[Path]) -> tuple[dict[tuple[str, str], Input], list[Bad]]:
    """Every StaQC file under ``paths`` by (kind, language), and what was not read: StaQC-named links,
    special files and unsafe archive members (``Bad`` items, for a builder to count and to name when a
    part's file is missing). A file found twice is an error."""
    inputs, problems = discover(paths, accept=lambda rel: file_kind(rel) is not None)
    found: dict[tuple[str, str], Input] = {}
    for inp in inputs:
        key = file_kind(inp.member or inp.path.as_posix())
        if key is None:
            raise CodequarryError(f"{inp.path}: not a StaQC file (expected names such as python_multi_code_iids.txt, "
                                  "sql_how_to_do_it_by_classifier_multiple_iid_to_code.pickle, "
                                  "python_annotator/all_agreed_iid_to_label.pickle)")
        if key in found:
            raise CodequarryError(f"two StaQC {key[0]} files for {key[1]}: {found[key].name} and {inp.name}; "
                                  "point --path at one copy")
        found[key] = inp
    return found, problems


def expected_name(kind: str, lang: str) -> str:
    return {
        "iids": f"{lang}_multi_code_iids.txt",
        "multi_code": f"{lang}_how_to_do_it_by_classifier_multiple_iid_to_code.pickle",
        "multi_title": f"{lang}_how_to_do_it_by_classifier_multiple_qid_to_title.pickle",
        "single_code": f"{lang}_how_to_do_it_qid_by_classifier_unlabeled_single_code_answer_qid_to_code.pickle",
        "single_title": f"{lang}_how_to_do_it_qid_by_classifier_unlabeled_single_code_answer_qid_to_title.pickle",
        "labels": f"{lang}_annotator/all_agreed_iid_to_label.pickle (or {lang}_all_agreed_iid_to_label.pickle)",
    }[kind]


# --------------------------------------------------------------------------------------------
# loaders (each file type once, so tests can check the real files)


def load_dict(inp: Input, what: str) -> dict[Any, Any]:
    """A pickled dict, through the restricted unpickler."""
    with inp.open() as fh:
        data = safe_load(fh, where=inp.name)
    if not isinstance(data, dict):
        raise CodequarryError(f"{inp.name}: expected a pickled dict of {what}, got {type(data).__name__}")
    return data


def load_iid_set(inp: Input) -> set[tuple[int, int]]:
    """A pickled set (or list) of (qid, idx) pairs (BiV-HNN's ``iids.pickle``)."""
    with inp.open() as fh:
        data = safe_load(fh, where=inp.name)
    if not isinstance(data, (set, frozenset, list, tuple)):
        raise CodequarryError(f"{inp.name}: expected a pickled set of (question_id, snippet_index), got {type(data).__name__}")
    return {x for x in data if is_iid(x)}


def is_iid(x: Any) -> bool:
    return (isinstance(x, tuple) and len(x) == 2 and all(isinstance(v, int) and not isinstance(v, bool) for v in x))


def iter_iids(inp: Input) -> Iterator[tuple[str, tuple[int, int]] | Bad]:
    """(locator, (qid, idx)) per line of a ``*_multi_code_iids.txt`` file; bad lines are ``Bad``."""
    seen = False
    for item in iter_lines(inp):
        if isinstance(item, Bad):
            yield item
            continue
        n, raw = item
        line = raw.strip()
        if not line:
            continue
        seen = True
        where = f"{inp.name}:{n}"
        text = raw.decode("utf-8", "backslashreplace").strip()
        if len(line) > MAX_IID_LINE:
            yield Bad("bad_iid", where, f"line of {len(line)} bytes is not a (question_id, snippet_index) tuple", text[:200])
            continue
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
            yield Bad("bad_iid", where, f"not a Python literal: {type(exc).__name__}", text)
            continue
        if not is_iid(value):
            yield Bad("bad_iid", where, f"expected a 2-tuple of ints, got {value!r:.60}", text)
            continue
        yield where, value
    if not seen:
        yield Bad("empty_file", inp.name, "no iids in the file")
