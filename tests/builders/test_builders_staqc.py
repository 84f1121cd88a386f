"""StaQC: Python-2 pickles through the restricted unpickler, tuple-literal iid lines, labels, parts and splits."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

from codequarry.builders import staqc
from codequarry.builders._io import Input
from codequarry.errors import CodequarryError
from codequarry.pairs import PairsDir
from codequarry.schema import load_meta, make_id

SOURCE = "annotation_tool/data/code_solution_labeled_data/source"
IIDS_LINES = [
    "(5996881, 0)",
    "(5996881, 1)",
    "(17335003, 1)",   # annotated positive
    "(1, 2, 3)",       # not a 2-tuple
    "[5996881, 2]",    # a list, not a tuple
    "(True, 0)",       # bool is not a question id
    "__import__('os')",
    "(99, 0)",         # no code for it
    "(5996881, 0)",    # repeated
    "",
]
CODE = {
    (5996881, 0): b"def clamp(n, lo, hi):\n    return max(lo, min(n, hi))",
    (5996881, 1): b"clamp(5, 1, 3)  # caf\xc3\xa9",          # py2 str holding UTF-8
    (17335003, 1): "print(u'\u2603')",                         # py2 unicode
    (17335003, 2): b"x = 1",                                   # annotated negative, not in the txt
    (17335003, 3): b"bad \xff bytes",                           # annotated, invalid UTF-8
}
TITLES = {5996881: "How to limit a number to be within a specified range? (Python)",
          17335003: "Print a snowman \u2603"}
LABELS = {(17335003, 1): 1, (17335003, 2): 0, (17335003, 3): 1, (42, 0): 1}
SINGLE_CODE = {700: b"import os\nos.listdir('.')", 701: b"pass", 702: b"orphan"}
SINGLE_TITLE = {700: "List files in a folder", 701: "Do nothing"}


@pytest.fixture
def repo(tmp_path, py2_pickle):
    """A StaQC checkout layout with Python-2 pickles (protocols 0 and 2)."""
    root = tmp_path / "StackOverflow-Question-Code-Dataset"
    src = root / SOURCE
    src.mkdir(parents=True)
    (root / "final_collection").mkdir()
    (root / "final_collection" / "python_multi_code_iids.txt").write_bytes("\r\n".join(IIDS_LINES).encode())
    (src / "python_how_to_do_it_by_classifier_multiple_iid_to_code.pickle").write_bytes(py2_pickle(CODE, 2))
    (src / "python_how_to_do_it_by_classifier_multiple_qid_to_title.pickle").write_bytes(py2_pickle(TITLES, 0))
    (src / "python_how_to_do_it_qid_by_classifier_unlabeled_single_code_answer_qid_to_code.pickle").write_bytes(
        py2_pickle(SINGLE_CODE, 2))
    (src / "python_how_to_do_it_qid_by_classifier_unlabeled_single_code_answer_qid_to_title.pickle").write_bytes(
        py2_pickle(SINGLE_TITLE, 0))
    ann = root / "annotation_tool" / "crowd_sourcing" / "python_annotator"
    ann.mkdir(parents=True)
    (ann / "all_agreed_iid_to_label.pickle").write_bytes(py2_pickle(LABELS, 0))
    for split, iids in (("train", {(17335003, 1), (42, 0)}), ("valid", {(17335003, 2)}), ("test", {(17335003, 3)})):
        d = root / "data" / "data_hnn" / "python" / split
        d.mkdir(parents=True)
        (d / "iids.pickle").write_bytes(py2_pickle(iids, 2))
    return root


def test_iid_lines(tmp_path):
    p = tmp_path / "python_multi_code_iids.txt"
    p.write_bytes("\r\n".join(IIDS_LINES).encode())
    items = list(staqc.iter_iids(Input(p.name, p)))
    good = [v for v in items if isinstance(v, tuple)]
    bad = [(b.reason, b.locator) for b in items if not isinstance(b, tuple)]
    assert [v for _, v in good] == [(5996881, 0), (5996881, 1), (17335003, 1), (99, 0), (5996881, 0)]
    assert bad == [("bad_iid", f"{p.name}:4"), ("bad_iid", f"{p.name}:5"), ("bad_iid", f"{p.name}:6"),
                   ("bad_iid", f"{p.name}:7")]


def test_full_build(tmp_path, repo, accounted, exclusions, hf_load):
    out = tmp_path / "o"
    m = staqc.build(out, path=repo, languages="python")
    counts = accounted(m)
    # multi: 10 lines → 9 non-blank: 4 bad_iid, 1 missing_code (99, 0), 1 duplicate, 3 rows
    # manual (labels not in txt): (17335003, 2) row; (17335003, 3) invalid_utf8; (42, 0) missing_code
    # single: 700, 701 rows; 702 missing_title
    assert counts["exclusion_reasons"] == {"build/bad_iid": 4, "build/missing_code": 2, "build/duplicate_id": 1,
                                           "build/invalid_utf8": 1, "build/missing_title": 1}
    assert counts["written"] == 6 and m["splits"] == {"python": {"train": 6}}
    rows = {r["id"]: r for r in PairsDir(out).read().to_pylist()}
    r = rows[make_id("staqc", "python", 5996881, 1)]
    assert r["query"] == TITLES[5996881] and r["code"] == "clamp(5, 1, 3)  # café" and r["label"] is None
    assert load_meta(r["meta"]) == {"question_id": 5996881, "snippet_index": 1, "origin": "mined"}
    assert r["url"] == "https://stackoverflow.com/questions/5996881" and r["language"] == "python"
    pos = rows[make_id("staqc", "python", 17335003, 1)]
    assert pos["label"] == 1 and pos["code"] == "print(u'\u2603')" and load_meta(pos["meta"])["origin"] == "manual"
    neg = rows[make_id("staqc", "python", 17335003, 2)]
    assert neg["label"] == 0 and load_meta(neg["meta"])["origin"] == "manual"
    single = rows[make_id("staqc", "python", 700, "single")]
    assert single["query"] == "List files in a folder" and load_meta(single["meta"])["snippet_index"] is None
    assert {e["reason"] for e in exclusions(out)} == {"bad_iid", "missing_code", "duplicate_id", "invalid_utf8",
                                                      "missing_title"}
    assert hf_load(out)["train"].num_rows == 6


def test_hnn_splits_and_parts(tmp_path, repo, accounted):
    m = staqc.build(tmp_path / "o", path=repo, languages=["python"], parts=["multi", "manual"], hnn_splits=True)
    accounted(m)
    # annotated rows take BiV-HNN's split; mined rows stay in train
    assert m["splits"] == {"python": {"train": 3, "valid": 1}}
    m = staqc.build(tmp_path / "o2", path=repo, languages=["python"], parts="manual")
    assert accounted(m)["written"] == 2  # without multi, every readable annotated pair (the positive too)


def test_missing_files_are_named_with_their_download_place(tmp_path, repo):
    (repo / SOURCE / "python_how_to_do_it_by_classifier_multiple_iid_to_code.pickle").unlink()
    with pytest.raises(CodequarryError) as err:
        staqc.build(tmp_path / "o", path=repo, languages="python")
    msg = str(err.value)
    assert "python_how_to_do_it_by_classifier_multiple_iid_to_code.pickle" in msg
    assert "github.com/LittleYUYU/StackOverflow-Question-Code-Dataset" in msg and "--skip-missing" in msg
    m = staqc.build(tmp_path / "o", path=repo, languages="python", skip_missing=True)
    assert m["skipped_parts"] == [
        {"language": "python", "part": "multi", "missing": ["python_how_to_do_it_by_classifier_multiple_iid_to_code.pickle"]},
        {"language": "python", "part": "manual", "missing": ["python_how_to_do_it_by_classifier_multiple_iid_to_code.pickle"]}]
    assert m["splits"] == {"python": {"train": 2}}  # the single-answer part only
    with pytest.raises(CodequarryError, match="nothing to build"):
        staqc.build(tmp_path / "o3", path=repo, languages="sql", skip_missing=True)


def test_a_code_pickle_that_runs_a_command_is_refused(tmp_path, repo):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    (repo / SOURCE / "python_how_to_do_it_by_classifier_multiple_iid_to_code.pickle").write_bytes(
        pickle.dumps({(5996881, 0): Evil()}, protocol=2))
    with pytest.raises(CodequarryError, match="refused to load global 'posix.system'"):
        staqc.build(tmp_path / "o", path=repo, languages="python")
    assert not marker.exists()


def test_wrong_arguments(tmp_path, repo):
    with pytest.raises(CodequarryError, match="StaQC has python, sql"):
        staqc.build(tmp_path / "o", path=repo, languages="java")
    with pytest.raises(CodequarryError, match="--parts"):
        staqc.build(tmp_path / "o", path=repo, parts="mined")
    stray = tmp_path / "notes.txt"
    stray.write_text("x")
    with pytest.raises(CodequarryError, match="not a StaQC file"):
        staqc.build(tmp_path / "o", path=[repo, stray])


def test_real_files(shared_data: Path):
    files, _ = staqc.locate([shared_data / "staqc"])
    assert {k for k in files} >= {("iids", "python"), ("iids", "sql"), ("labels", "python"), ("labels", "sql"),
                                  ("multi_title", "sql")}
    py_labels = staqc.load_dict(files[("labels", "python")], "labels")
    sql_labels = staqc.load_dict(files[("labels", "sql")], "labels")
    assert staqc.label_counts(py_labels) == {1: 2169, 0: 2715} and len(py_labels) == 4884
    assert staqc.label_counts(sql_labels) == {1: 2056, 0: 1581} and len(sql_labels) == 3637
    assert len(staqc.load_dict(files[("multi_title", "sql")], "titles")) == 39752
    for lang, n in (("python", 62252), ("sql", 43882)):
        iids = [v for v in staqc.iter_iids(files[("iids", lang)]) if isinstance(v, tuple)]
        assert len(iids) == n


def test_real_sql_with_fixture_code(tmp_path, shared_data: Path, py2_pickle, accounted):
    """Real titles, iids and labels; the code pickle (not shipped) is a py2 fixture covering a few iids."""
    work = tmp_path / "sql"
    work.mkdir()
    for name in ("sql_multi_code_iids.txt", "sql_all_agreed_iid_to_label.pickle",
                 "sql_how_to_do_it_by_classifier_multiple_qid_to_title.pickle"):
        (work / name).write_bytes((shared_data / "staqc" / name).read_bytes())  # links inside an input are refused
    labels = staqc.load_dict(Input("l", shared_data / "staqc" / "sql_all_agreed_iid_to_label.pickle"), "labels")
    iids = [v for _, v in (x for x in staqc.iter_iids(Input("i", work / "sql_multi_code_iids.txt")) if isinstance(x, tuple))]
    chosen = iids[:20] + sorted(k for k, v in labels.items() if v == 0)[:5]
    (work / "sql_how_to_do_it_by_classifier_multiple_iid_to_code.pickle").write_bytes(
        py2_pickle({iid: b"SELECT %d;" % i for i, iid in enumerate(chosen)}, 2))
    m = staqc.build(tmp_path / "o", path=work, languages="sql", parts=["multi", "manual"])
    counts = accounted(m)
    assert counts["written"] == 25
    assert counts["read"] == 43882 + 1581  # every iid line plus the 0-labelled annotations
    assert counts["exclusion_reasons"] == {"build/missing_code": counts["read"] - 25}
    t = PairsDir(tmp_path / "o").read(columns=["label", "query"]).to_pydict()
    assert t["label"].count(0) == 5 and all(q for q in t["query"])
