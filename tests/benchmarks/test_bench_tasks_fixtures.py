"""Every task family on small fixtures written in the exact source formats, and a case per protocol rule
where the rule changes the number."""

from __future__ import annotations

import csv
import gzip
import json
import math
import zipfile
from pathlib import Path

import numpy as np
import pytest

from codequarry.benchmarks.models import load_model
from codequarry.benchmarks.tasks import get_task, load_task, resolve_tasks, task_for_dir
from codequarry.errors import CodequarryError
from codequarry.pairs import PairsWriter

# A bi-encoder whose vectors are a deterministic function of the first number in a text:
# "q 17" and "def f17" share a vector, so a query finds its code unless another code carries its number.
VEC_MODEL = '''
import re
import numpy as np

class Seeded:
    similarity = "dot"
    calls = 0

    def _vec(self, text):
        m = re.search(r"(\\d+)", text)
        rng = np.random.default_rng(int(m.group(1)) if m else 10**9)
        v = rng.standard_normal(16)
        return v / np.linalg.norm(v)

    def encode_queries(self, texts, batch_size=32):
        Seeded.calls += len(texts)
        return np.stack([self._vec(t) for t in texts])

    def encode_corpus(self, texts, batch_size=32):
        Seeded.calls += len(texts)
        return np.stack([self._vec(t) for t in texts])
'''


@pytest.fixture()
def seeded(tmp_path):
    path = tmp_path / "seeded_model.py"
    path.write_text(VEC_MODEL, encoding="utf-8")
    return load_model(f"py:{path}:Seeded", cache_dir=tmp_path / "cache")


def _vec(n: int) -> np.ndarray:
    v = np.random.default_rng(n).standard_normal(16)
    return v / np.linalg.norm(v)


# ---------------------------------------------------------------------------------------------
# csn/{lang}: CodeSearchNet release records


def csn_record(i: int, lang: str = "python", *, query_seed: int | None = None, code_seed: int | None = None) -> dict:
    qs = i if query_seed is None else query_seed
    cs = i if code_seed is None else code_seed
    url = f"https://github.com/o/r/blob/{'a' * 40}/m{i}.py#L1-L3"
    code = f"def f{cs}(x):\n    return x"
    return {"repo": "o/r", "path": f"m{i}.py", "func_name": f"f{cs}", "original_string": code, "language": lang,
            "code": code, "code_tokens": ["def", f"f{cs}", "(", "x", ")", ":", "return", "x"],
            "docstring": f"Query {qs}.", "docstring_tokens": ["query", str(qs)], "sha": "a" * 40, "url": url,
            "partition": "test"}


def write_csn_release(root: Path, records: list[dict], lang: str = "python") -> Path:
    folder = root / lang / "final" / "jsonl" / "test"
    folder.mkdir(parents=True)
    with gzip.open(folder / f"{lang}_test_0.jsonl.gz", "wt", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r) + "\n")
    return root


def csn_expected(records: list[dict], order: list[int] | None = None, batch: int = 1000, keep_partial: bool = False,
                 strict_ties: bool = False) -> float:
    """Independent CSN MRR: the seed-0 order (or ``order``), full batches, query → code ranks."""
    n = len(records)
    if order is None:
        np.random.seed(0)
        order = np.arange(n)
        np.random.shuffle(order)
        order = order.tolist()
    size = min(batch, n)
    chunks = [order[i:i + size] for i in range(0, n, size)]
    means = []
    for chunk in chunks:
        if len(chunk) < size and not keep_partial:
            continue
        q = np.stack([_vec(int(records[i]["docstring_tokens"][1])) for i in chunk]).astype(np.float32)
        c = np.stack([_vec(int(records[i]["func_name"][1:])) for i in chunk]).astype(np.float32)
        s = q @ c.T
        diag = np.diag(s)[:, None]
        ranks = (s > diag).sum(1) + 1 if strict_ties else (s >= diag).sum(1)
        means.append(np.mean(1.0 / ranks))
    return float(np.mean(means))


@pytest.fixture()
def csn_records():
    recs = [csn_record(i) for i in range(2500)]
    rng = np.random.default_rng(5)
    for i in rng.choice(2500, 400, replace=False):  # hard queries: they look like another row's code
        recs[i] = csn_record(int(i), query_seed=int((i + 1) % 2500))
    for i in range(0, 2500, 97):  # duplicated code: ties with row i+1's code
        recs[i] = csn_record(i, code_seed=i + 1)
    return recs


def test_csn_task_reproduces_the_protocol_and_each_rule_matters(tmp_path, csn_records, seeded):
    root = write_csn_release(tmp_path / "csn", csn_records)
    task = get_task("csn/python")
    data = task.load(root)
    assert data.meta["batch_size"] == 1000 and data.meta["num_batches"] == 2 and data.meta["dropped_rows"] == 500
    ev = task.evaluate(data, seeded)
    expected = csn_expected(csn_records)
    assert ev.scores["mrr"] == pytest.approx(expected, abs=1e-6)
    assert ev.num_queries == 2000 and len(ev.per_query["mrr"]) == 2000
    # each protocol rule changes the number on this data
    assert csn_expected(csn_records, strict_ties=True) > expected + 1e-3          # ties count against the model
    assert abs(csn_expected(csn_records, keep_partial=True) - expected) > 1e-3     # the partial batch is dropped
    assert abs(csn_expected(csn_records, order=list(range(2500))) - expected) > 1e-3  # seed-0 shuffle composition


def test_csn_reads_the_release_zip_and_a_single_file(tmp_path, seeded):
    recs = [csn_record(i) for i in range(30)] + [csn_record(99, lang="java")]
    root = write_csn_release(tmp_path / "rel", recs)
    zpath = tmp_path / "python.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.write(root / "python/final/jsonl/test/python_test_0.jsonl.gz", "python/final/jsonl/test/python_test_0.jsonl.gz")
    from_zip = load_task("csn/python", zpath)
    from_dir = load_task("csn/python", root)
    from_file = load_task("csn/python", root / "python/final/jsonl/test/python_test_0.jsonl.gz")
    assert from_zip.meta["fingerprint"] == from_dir.meta["fingerprint"] == from_file.meta["fingerprint"]
    assert len(from_dir.queries) == 30  # the java record is not a python row
    assert from_dir.meta["batch_size"] == 30 and from_dir.meta["dropped_rows"] == 0  # n < 1000: B = n
    first = recs[0]
    assert from_dir.queries[first["url"]] == "query 0" and from_dir.corpus[first["url"]] == "def f0 ( x ) : return x"
    ev = get_task("csn/python").evaluate(from_dir, seeded)
    assert ev.scores["mrr"] == pytest.approx(1.0)


def test_csn_from_a_built_pairs_dir_equals_the_release(tmp_path):
    """`codequarry build codesearchnet` keeps the file order, so the seed-0 batches are the same."""
    pytest.importorskip("codequarry.builders.codesearchnet")
    from codequarry.cli import main

    recs = [csn_record(i) for i in range(1200)]
    for n, r in enumerate(recs):  # urls out of sorted order, so a sorted read would change the batches
        r["url"] = r["url"].replace("/m", f"/z{(n * 7919) % 1201}_")
    root = write_csn_release(tmp_path / "rel", recs)
    assert main(["build", "codesearchnet", "--path", str(root), "--out", str(tmp_path / "pd")]) == 0
    a, b = load_task("csn/python", root), load_task("csn/python", tmp_path / "pd")
    assert a.extra["order"] == b.extra["order"] and a.meta["fingerprint"] == b.meta["fingerprint"]


def test_csn_missing_data_says_where_to_get_it(tmp_path):
    with pytest.raises(CodequarryError, match="s3.amazonaws.com/code-search-net"):
        load_task("csn/go")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CodequarryError, match="go_test_"):
        load_task("csn/go", tmp_path / "empty")


# ---------------------------------------------------------------------------------------------
# csn-cleaned/{lang}: GraphCodeBERT test.jsonl + codebase.jsonl


def _write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _gcb_row(url: str, doc: str, code: str) -> dict:
    return {"url": url, "original_string": code, "code_tokens": code.split(), "docstring_tokens": doc.split(),
            "func_name": "f", "repo": "o/r"}


def test_csn_cleaned_cutoff_1000(tmp_path):
    base = tmp_path / "dataset" / "ruby"
    code = [_gcb_row(f"u{i}", "", f"def m{i} end") for i in range(1200)]
    _write_jsonl(base / "codebase.jsonl", code)
    _write_jsonl(base / "test.jsonl", [_gcb_row("u0", "find zero", "x"), _gcb_row("u1", "find one", "x")])
    task = get_task("csn-cleaned/ruby")
    data = task.load(tmp_path / "dataset")
    assert data.corpus["u5"] == "def m5 end" and data.queries["u1"] == "find one"
    # q u0: its code at rank 1001; q u1: at rank 1000
    lines = []
    for q, target, at in (("u0", "u0", 1001), ("u1", "u1", 1000)):
        others = [f"u{i}" for i in range(2, 1200)]
        ranked = others[: at - 1] + [target] + others[at - 1:]
        lines += [f"{q} Q0 {d} {r} {2000 - r} t" for r, d in enumerate(ranked, start=1)]
    run = tmp_path / "run.trec"
    run.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ev = task.evaluate(data, load_model(f"run:{run}"))
    assert ev.per_query["mrr@1000"] == {"u0": 0.0, "u1": pytest.approx(1 / 1000)}
    full = (1 / 1001 + 1 / 1000) / 2
    assert ev.scores["mrr@1000"] == pytest.approx(1 / 2000) != pytest.approx(full)  # the cutoff changes the number


def test_csn_cleaned_named_inputs_and_pairs_dir(tmp_path, seeded):
    q = _write_jsonl(tmp_path / "q.jsonl", [_gcb_row("a", "query 1", "x"), _gcb_row("b", "query 2", "x")])
    c = _write_jsonl(tmp_path / "c.jsonl", [_gcb_row("a", "", "def f1"), _gcb_row("b", "", "def f2"),
                                            _gcb_row("z", "", "def f3")])
    data = load_task("csn-cleaned/go", {"queries": q, "codebase": c})
    ev = get_task("csn-cleaned/go").evaluate(data, seeded)
    assert ev.scores["mrr@1000"] == pytest.approx(1.0) and ev.num_docs == 3
    pairs = write_pairs(tmp_path / "pd", [dict(id=f"r{i}", query=f"query {i}", code=f"def f{i}", language="go",
                                               url=f"https://x/{i}") for i in range(5)], split="test")
    data2 = load_task("csn-cleaned/go", pairs)
    assert len(data2.queries) == 5 and set(data2.corpus) == set(data2.queries)
    with pytest.raises(CodequarryError, match="codebase.jsonl"):
        load_task("csn-cleaned/go", {"queries": q})


# ---------------------------------------------------------------------------------------------
# advtest


def test_advtest_cutoff_100_and_evaluator_figure(tmp_path):
    rows = [{"url": f"u{i}", "idx": 1000 + i, "docstring_tokens": ["doc", str(i)],
             "function_tokens": ["def", "Func", "(", "arg_0", ")"], "function": "def Func(arg_0):"} for i in range(150)]
    test = _write_jsonl(tmp_path / "dataset" / "test.jsonl", rows)
    data = load_task("advtest", tmp_path / "dataset")
    assert data.queries["u3"] == "doc 3" and data.corpus["1003"] == "def Func ( arg_0 )" and data.qrels["u3"] == {"1003": 1}
    preds = []
    for i in range(150):
        others = [1000 + j for j in range(150) if j != i]
        at = 101 if i == 0 else 1  # u0's code at position 101
        preds.append({"url": f"u{i}", "answers": others[: at - 1] + [1000 + i] + others[at - 1:]})
    pfile = _write_jsonl(tmp_path / "predictions.jsonl", preds)
    ev = get_task("advtest").evaluate(data, load_model(f"run:{pfile}"))
    assert ev.per_query["mrr@100"]["u0"] == 0.0  # beyond the top 100: 0
    assert ev.scores["mrr@100"] == pytest.approx(149 / 150)
    assert ev.details["codexglue_evaluator_mrr"] == round((149 + 1 / 101) / 150, 4)  # the evaluator reads the whole list
    assert ev.scores["mrr@100"] != pytest.approx((149 + 1 / 101) / 150)
    assert test.exists()


# ---------------------------------------------------------------------------------------------
# cosqa


def test_cosqa_fixture_and_test_split_message(tmp_path, seeded):
    pool = {f"def f{i}(x):\n    return  x": i for i in range(20)}
    (tmp_path / "code_idx_map.txt").write_text(json.dumps(pool), encoding="utf-8")
    items = [{"idx": f"cosqa-train-{i}", "doc": f"python  query {i}", "code": "…", "code_tokens": "def f",
              "docstring_tokens": "q", "label": 1, "retrieval_idx": i} for i in range(0, 20, 2)]
    (tmp_path / "cosqa-retrieval-dev-500.json").write_text(json.dumps(items), encoding="utf-8")
    data = load_task("cosqa", tmp_path, split="dev")
    assert data.corpus["3"] == "def f3(x): return x"  # whitespace joined as UniXcoder's loader does
    assert data.queries["cosqa-train-4"] == "python query 4" and data.qrels["cosqa-train-4"] == {"4": 1}
    ev = get_task("cosqa").evaluate(data, seeded)
    assert ev.scores == pytest.approx({"mrr": 1.0, "recall@1": 1.0, "recall@5": 1.0, "recall@10": 1.0, "ndcg@10": 1.0})
    assert ev.details["k"] == 20  # full rank over the pool
    with pytest.raises(CodequarryError, match="CoCLR/tree/main/data/search"):
        load_task("cosqa", tmp_path)  # default split test is not in the folder
    bad = [dict(items[0], retrieval_idx=999)]
    (tmp_path / "cosqa-retrieval-dev-500.json").write_text(json.dumps(bad), encoding="utf-8")
    with pytest.raises(CodequarryError, match="retrieval_idx 999"):
        load_task("cosqa", tmp_path, split="dev")


# ---------------------------------------------------------------------------------------------
# csn-ndcg


ANNOTATIONS = [
    # Language, Query, GitHubUrl, Relevance, Notes
    ("Python", "Sort List", "https://g/a", 3, "exact\nmatch, with a comma"),
    ("Python", "Sort List", "https://g/a", 2, ""),   # mean 2.5
    ("Python", "Sort List", "https://g/b", 1, ""),
    ("Python", "sort list", "https://g/c", 0, 'said "no"'),
    ("Python", "parse json", "https://g/d", 0, ""),  # all-zero query: skipped
    ("Python", "parse json", "https://g/e", 0, ""),
    ("Java", "sort list", "https://g/j", 2, ""),
]


def write_annotations(folder: Path, rows=ANNOTATIONS, queries=("sort list", "parse json", "read file")) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "annotationStore.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["Language", "Query", "GitHubUrl", "Relevance", "Notes"])
        w.writerows(rows)
    with open(folder / "queries.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["query"])
        w.writerows([[q] for q in queries])
    return folder


def write_predictions(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["query", "language", "url", "identifier"])
        w.writerows([(q, lang, url, "f") for q, lang, url in rows])
    return path


def test_csn_ndcg_within_vs_all_and_all_zero_skip(tmp_path):
    res = write_annotations(tmp_path / "resources")
    data = load_task("csn-ndcg/python", res)
    assert data.extra["relevance"]["sort list"] == {"https://g/a": 2.5, "https://g/b": 1.0, "https://g/c": 0.0}
    assert data.extra["scored_queries"] == ["sort list"] and data.meta["skipped_all_zero"] == 1
    assert set(data.queries) == {"sort list", "parse json", "read file"}
    preds = write_predictions(tmp_path / "p.csv", [("Sort list", "Python", "https://g/x"), ("sort list", "python", "https://g/b"),
                                                    ("sort list", "python", "https://g/a"), ("parse json", "python", "https://g/d"),
                                                    ("sort list", "java", "https://g/j")])
    idcg = (2 ** 2.5 - 1) + (2 ** 1 - 1) / math.log2(3)
    within = ((2 ** 1 - 1) + (2 ** 2.5 - 1) / math.log2(3)) / idcg  # x takes no rank
    all_ = ((2 ** 1 - 1) / math.log2(3) + (2 ** 2.5 - 1) / math.log2(4)) / idcg
    ev_w = get_task("csn-ndcg/python").evaluate(data, load_model(f"run:{preds}"))
    ev_a = get_task("csn-ndcg-all/python").evaluate(load_task("csn-ndcg-all/python", res), load_model(f"run:{preds}"))
    assert ev_w.scores["ndcg"] == pytest.approx(within)
    assert ev_a.scores["ndcg"] == pytest.approx(all_)
    assert within != pytest.approx(all_)
    # the all-zero query is not averaged: counting it (as 0) would halve the score
    assert ev_w.per_query["ndcg"] == {"sort list": pytest.approx(within)}
    assert (within + 0) / 2 != pytest.approx(ev_w.scores["ndcg"])


def test_csn_ndcg_300_url_cap(tmp_path):
    res = write_annotations(tmp_path / "res")
    rows = [("sort list", "python", f"https://g/n{i}") for i in range(300)] + [("sort list", "python", "https://g/a")]
    preds = write_predictions(tmp_path / "p.csv", rows)
    task = get_task("csn-ndcg/python")
    ev = task.evaluate(load_task("csn-ndcg/python", res), load_model(f"run:{preds}"))
    assert ev.scores["ndcg"] == 0.0  # the relevant url is the 301st prediction: cut by the 300-url cap
    short = write_predictions(tmp_path / "s.csv", rows[-1:])
    assert task.evaluate(load_task("csn-ndcg/python", res), load_model(f"run:{short}")).scores["ndcg"] > 0.5


def test_csn_ndcg_searches_a_pairs_corpus(tmp_path, seeded):
    res = write_annotations(tmp_path / "res", rows=[("Python", "find 7", "https://g/7", 3, ""),
                                                     ("Python", "find 7", "https://g/8", 1, "")],
                            queries=("find 7",))
    corpus = write_pairs(tmp_path / "corpus", [dict(id=f"c{i}", code=f"def f{i}", language="python",
                                                    url=f"https://g/{i}") for i in range(20)], split="corpus")
    data = load_task("csn-ndcg/python", {"": res, "corpus": corpus})
    assert len(data.corpus) == 20
    ev = get_task("csn-ndcg/python").evaluate(data, seeded)
    # "find 7" matches code 7 exactly (rank 1); url 8 lands somewhere below
    assert ev.per_query["ndcg"]["find 7"] >= (2 ** 3 - 1) / ((2 ** 3 - 1) + 1 / math.log2(3)) - 1e-9
    with pytest.raises(CodequarryError, match="corpus"):
        get_task("csn-ndcg/python").evaluate(load_task("csn-ndcg/python", res), seeded)


# ---------------------------------------------------------------------------------------------
# webquery and cosqa-qa


def _qa_items(n: int, labelled: bool = True) -> list[dict]:
    out = []
    for i in range(n):
        match = i % 2 == 0
        item = {"idx": f"cosqa-dev-{i}", "doc": f"query {i}", "code": f"def f{i if match else i + 500}()"}
        if labelled:
            item.update(code_tokens="def f", docstring_tokens="query", label=int(match))
        out.append(item)
    return out


def test_cosqa_qa_cross_fitted_threshold(tmp_path, seeded):
    path = tmp_path / "cosqa-dev.json"
    path.write_text(json.dumps(_qa_items(40)), encoding="utf-8")
    task = get_task("cosqa-qa")
    data = task.load(tmp_path)
    ev = task.evaluate(data, seeded)
    assert ev.scores["accuracy"] == 1.0 and ev.scores["f1"] == 1.0  # matching pairs score 1.0, others lower
    assert ev.details["decision"].startswith("two-fold") and len(ev.details["thresholds"]) == 2
    fixed = load_model(f"py:{tmp_path / 'seeded_model.py'}:Seeded", {"threshold": "1.5"}, cache_dir=tmp_path / "c")
    ev2 = task.evaluate(data, fixed)
    assert ev2.scores["accuracy"] == 0.5 and ev2.scores["recall"] == 0.0  # nothing reaches 1.5


def test_webquery_with_dev_threshold_and_labels_only(tmp_path, seeded):
    test = [{"idx": f"webquery-test-{i}", "doc": f"query {i}", "code": f"def f{i if i % 3 else i + 7}()"} for i in range(1, 13)]
    (tmp_path / "test_webquery.json").write_text(json.dumps(test), encoding="utf-8")
    answers = tmp_path / "answers.txt"
    answers.write_text("".join(f"webquery-test-{i}\t{int(i % 3 != 0)}\n" for i in range(1, 13)), encoding="utf-8")
    dev = tmp_path / "cosqa-dev.json"
    dev.write_text(json.dumps(_qa_items(20)), encoding="utf-8")
    task = get_task("webquery")
    data = task.load({"": tmp_path, "answers": answers})
    ev = task.evaluate(data, seeded)
    assert ev.details["decision"] == "threshold chosen on the dev split" and ev.details["dev_pairs"] == 20
    assert ev.scores["accuracy"] == 1.0
    only = task.load({"answers": answers})
    with pytest.raises(CodequarryError, match="only a predictions file"):
        task.evaluate(only, seeded)
    with pytest.raises(CodequarryError, match="answers=FILE"):
        task.load(tmp_path)


# ---------------------------------------------------------------------------------------------
# pairs dirs, StaQC and BEIR/CoIR folders


def write_pairs(path: Path, rows: list[dict], split: str = "test", extra: dict[str, list[dict]] | None = None) -> Path:
    w = PairsWriter(path, created_by="test")
    w.write(rows, split=split)
    for s, more in (extra or {}).items():
        w.write(more, split=s)
    w.close()
    return path


def test_pairs_dir_task_own_code_duplicates_and_label0(tmp_path, seeded):
    rows = [dict(id=f"r{i}", query=f"query {i}", code=f"def f{i}", language="python") for i in range(6)]
    rows.append(dict(id="r6", query="query 2 again", code="def f2", language="python"))  # same code as r2
    rows.append(dict(id="r7", query="query 7", code="def f7", language="python", label=0))  # a negative pair
    rows.append(dict(id="r8", query="", code="def f8", language="python"))
    d = write_pairs(tmp_path / "mydata", rows, extra={"train": [dict(id="t1", query="q", code="c", language="python")]})
    task = task_for_dir(d)
    assert task.name == "pairs/mydata" and task.protocol == "pairs-retrieval" and task.languages == ("python",)
    data = load_task(d)
    assert data.meta["split"] == "test"
    assert "r7" not in data.queries and "r8" not in data.queries and len(data.queries) == 7
    assert data.qrels["r6"] == {"r2": 1} and data.qrels["r2"] == {"r2": 1}  # one doc per distinct code
    assert len(data.corpus) == 8  # f0..f5, f7, f8
    assert data.meta["rows_skipped"] == {"empty_query_or_code": 1, "label_0_query": 1}
    ev = task.evaluate(data, seeded)
    assert ev.scores["mrr"] == pytest.approx(1.0)
    assert load_task(d, split="train").meta["split"] == "train"
    with pytest.raises(CodequarryError, match="no split 'valid'"):
        load_task(d, split="valid")


def test_staqc_groups_snippets_by_question(tmp_path, seeded):
    rows = [dict(id="a", query="how to 5", code="select 5", language="sql", label=1, meta={"question_id": 11}),
            dict(id="b", query="how to 5", code="select 55", language="sql", label=None, meta={"question_id": 11}),
            dict(id="c", query="how to 5", code="drop 9", language="sql", label=0, meta={"question_id": 11}),
            dict(id="d", query="other 3", code="select 3", language="sql", label=1, meta={"question_id": 12})]
    d = write_pairs(tmp_path / "staqc", rows, split="train")
    data = load_task("staqc/sql", d)
    assert data.meta["split"] == "train"  # the only split
    assert data.qrels == {"q11": {"a": 1, "b": 1}, "q12": {"d": 1}} and "c" not in data.corpus
    ev = get_task("staqc/sql").evaluate(data, seeded)
    assert ev.per_query["mrr"]["q12"] == 1.0
    with pytest.raises(CodequarryError, match="no python config"):
        load_task("staqc/python", d)


def write_beir(path: Path) -> Path:
    (path / "qrels").mkdir(parents=True)
    near = max(range(4, 60), key=lambda n: float(_vec(1) @ _vec(n)))  # the closest other code to "query 1"
    assert float(_vec(1) @ _vec(near)) > float(_vec(1) @ _vec(3))
    corpus = [{"_id": "d1", "title": "ignored title 99", "text": "code 1"}, {"_id": "d2", "title": "", "text": f"code {near}"},
              {"_id": "d3", "title": "", "text": "code 3"}]
    _write_jsonl(path / "corpus.jsonl", corpus)
    _write_jsonl(path / "queries.jsonl", [{"_id": "d1", "text": "query 1"}, {"_id": "q3", "text": "query 3"},
                                          {"_id": "q9", "text": "not judged 9"}])
    (path / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nd1\td2\t1\nq3\td3\t2\nq3\td1\t0\n", encoding="utf-8")
    return path


def test_coir_folder_identical_ids_dropped(tmp_path, seeded):
    d = write_beir(tmp_path / "cosqa")
    task = task_for_dir(d)
    assert task.name == "coir/cosqa" and task.main_score == "ndcg@10" and task.languages == ("python",)
    data = load_task(d)
    assert set(data.queries) == {"d1", "q3"}  # restricted to the qrels
    assert data.corpus["d1"] == "code 1" and data.qrels["q3"] == {"d3": 2, "d1": 0}
    ev = task.evaluate(data, seeded)
    # query d1 ("query 1") would rank doc d1 ("code 1", same vector) first; BEIR/CoIR drop it, so d2 is first
    assert ev.per_query["ndcg@10"]["d1"] == pytest.approx(1.0)
    run = seeded.retrieve(data.queries, data.corpus, 10)
    assert next(iter(run["d1"])) == "d1"  # without the rule d1 comes first ...
    from codequarry.benchmarks.metrics import evaluate

    kept = evaluate(data.qrels, run, ["ndcg@10"], averaging="qrels-all-missing-zero")
    assert kept.per_query["ndcg@10"]["d1"] < 0.99  # ... and the number changes
    assert set(ev.scores) >= {"ndcg@1", "map@100", "recall@1000", "p@5"}


def test_family_expansion_and_unknown_names(tmp_path):
    assert [t.name for t in resolve_tasks("csn")] == [f"csn/{x}" for x in ("go", "java", "javascript", "php", "python", "ruby")]
    with pytest.raises(CodequarryError, match="Did you mean 'cosqa'"):
        resolve_tasks("cosq")
    with pytest.raises(CodequarryError, match="family of 6 tasks"):
        load_task("csn-ndcg")
    (tmp_path / "plain").mkdir()
    with pytest.raises(CodequarryError, match="neither a pairs dir"):
        resolve_tasks(tmp_path / "plain")
