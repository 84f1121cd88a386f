"""CodeXGLUE's two code-search releases (Lu et al., 2021): AdvTest (NL-code-search-Adv) and WebQueryTest.

* AdvTest: ``dataset.zip`` holding ``train.jsonl``, ``valid.jsonl``, ``test.jsonl`` (what its
  ``preprocess.py`` writes): one object per line with ``url`` (the query's id), ``idx`` (the code's
  id), ``docstring_tokens`` and ``code_tokens`` (train) or ``function_tokens`` (dev/test, names
  normalised to ``Func``/``arg_i``), plus the original CodeSearchNet fields.
* WebQueryTest: ``test_webquery.json``, a JSON list of ``{idx: "webquery-test-N", doc, code}``
  (the item shape of CoSQA, ``cosqa.check_item``), labels kept private; evaluator answer and
  prediction files are ``idx<TAB>0|1`` lines (``iter_answers``).

Read here for ``build advtest``/``build webquery`` and the ``advtest``/``webquery`` tasks.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from codequarry.builders._io import Bad, Input
from codequarry.builders._readers import iter_json, iter_lines, iter_records
from codequarry.releases.cosqa import check_item

ADVTEST_FILE = re.compile(r"^(train|valid|validation|dev|test)\.(jsonl|parquet)$")
ADVTEST_SPLITS = {"train": "train", "valid": "valid", "validation": "valid", "dev": "valid", "test": "test"}
WEBQUERY_FILE = "test_webquery.json"


def advtest_split(filename: str) -> str | None:
    """The split of an AdvTest file from its base name (``valid.jsonl.gz`` → ``valid``), or None."""
    m = ADVTEST_FILE.match(filename.lower().removesuffix(".gz"))
    return ADVTEST_SPLITS[m[1]] if m else None


def check_advtest(rec: Any, where: str) -> Bad | None:
    """Why ``rec`` is not an AdvTest line (an object with an integer or string ``idx``), or None."""
    if not isinstance(rec, dict):
        return Bad("wrong_type", where, f"expected an object, got {type(rec).__name__}", repr(rec)[:2000])
    idx = rec.get("idx", rec.get("id"))
    if idx is None:
        return Bad("missing_field", where, "no idx", repr(rec)[:2000])
    if isinstance(idx, bool) or not isinstance(idx, (int, str)):
        return Bad("wrong_type", where, f"idx must be an integer, got {idx!r:.60}")
    return None


def iter_advtest(inp: Input, fmt: str | None = None) -> Iterator[tuple[str, dict[str, Any]] | Bad]:
    """The lines of an AdvTest file (jsonl, or the Hub copy's Parquet), each checked by ``check_advtest``."""
    for item in iter_records(inp, fmt):
        if isinstance(item, Bad):
            yield item
            continue
        where, rec = item
        problem = check_advtest(rec, where)
        yield problem if problem is not None else (where, rec)


def iter_webquery(inp: Input, *, labelled: bool = False) -> Iterator[tuple[str, dict[str, Any]] | Bad]:
    """The ``{idx, doc, code}`` items of ``test_webquery.json`` (or a CoSQA file in the same shape)."""
    for item in iter_json(inp):
        if isinstance(item, Bad):
            yield item
            continue
        where, rec = item
        problem = check_item(rec, where, labelled=labelled)
        yield problem if problem is not None else (where, rec)


def iter_answers(inp: Input) -> Iterator[tuple[str, str, int] | Bad]:
    """(locator, idx, 0|1) per line of an evaluator answers/predictions file; blank lines are skipped.

    As CodeXGLUE's WebQuery ``evaluator.py`` reads them: the line stripped, split at the tab into the
    idx and a 0/1 label. Anything else is a ``bad_answer`` item.
    """
    for item in iter_lines(inp):
        if isinstance(item, Bad):
            yield item
            continue
        n, raw = item
        where = f"{inp.name}:{n}"
        try:
            line = raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            yield Bad("invalid_utf8", where, "not valid UTF-8", raw[:200].decode("utf-8", "backslashreplace"))
            continue
        if not line:
            continue
        parts = line.split("\t")
        if len(parts) != 2 or not parts[0].strip() or parts[1].strip() not in ("0", "1"):
            yield Bad("bad_answer", where, f"expected 'idx<TAB>0' or 'idx<TAB>1', got {line[:80]!r}")
            continue
        yield where, parts[0].strip(), int(parts[1])
