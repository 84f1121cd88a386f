"""CodeXGLUE AdvTest jsonl: code_tokens (train) or function_tokens (dev/test), query from docstring_tokens."""

from __future__ import annotations

import gzip
import json
import zipfile

import pytest

from codequarry.builders import advtest
from codequarry.errors import CodequarryError
from codequarry.pairs import PairsDir
from codequarry.schema import load_meta, make_id

TRAIN = {
    "repo": "soimort/you-get", "path": "src/you_get/extractors/youtube.py", "func_name": "YouTube.get_vid_from_url",
    "original_string": "def get_vid_from_url(url):\n    \"\"\"Extracts video ID from URL.\"\"\"\n    return match1(url)",
    "language": "python",
    "code": "def get_vid_from_url(url):\n    \"\"\"Extracts video ID from URL.\"\"\"\n    return match1(url)",
    "code_tokens": ["def", "get_vid_from_url", "(", "url", ")", ":", "return", "match1", "(", "url", ")"],
    "docstring": "Extracts video ID from URL.", "docstring_tokens": ["Extracts", "video", "ID", "from", "URL", "."],
    "sha": "b746ac01c9f39de94cac2d56f665285b0523b974",
    "url": "https://github.com/soimort/you-get/blob/b746ac01c9f39de94cac2d56f665285b0523b974/src/you_get/extractors/youtube.py#L135-L143",
    "partition": "train", "idx": 0,
}
TEST = {
    "nwo": "a/b", "sha": "c" * 40, "path": "x/y.py", "language": "python", "identifier": "Func",
    "parameters": "(arg_0, arg_1)", "argument_list": "", "return_statement": "return arg_0 + arg_1",
    "docstring": "Add two numbers.\n\nLonger text.", "docstring_summary": "Add two numbers.",
    "docstring_tokens": ["Add", "two", "numbers", "."],
    "function": "def Func(arg_0, arg_1):\n    \"\"\"Add two numbers.\"\"\"\n    return arg_0 + arg_1",
    "function_tokens": ["def", "Func", "(", "arg_0", ",", "arg_1", ")", ":", "return", "arg_0", "+", "arg_1"],
    "url": "https://github.com/a/b/blob/" + "c" * 40 + "/x/y.py#L1-L3", "score": 0.5, "idx": 251820,
}


def _write_jsonl(path, records, gz=False):
    data = "".join(json.dumps(r) + "\n" for r in records).encode()
    path.write_bytes(gzip.compress(data) if gz else data)


def test_train_and_test_records(tmp_path, accounted, hf_load):
    d = tmp_path / "adv"
    d.mkdir()
    _write_jsonl(d / "train.jsonl", [TRAIN])
    _write_jsonl(d / "test.jsonl.gz", [TEST], gz=True)
    _write_jsonl(d / "valid.jsonl", [{**TEST, "idx": 251821, "docstring_tokens": []}])
    m = advtest.build(tmp_path / "o", path=d)
    accounted(m)
    assert m["splits"] == {"python": {"train": 1, "valid": 1, "test": 1}}
    rows = {r["id"]: r for r in PairsDir(tmp_path / "o").read().to_pylist()}
    tr = rows[make_id("advtest", 0)]
    assert tr["query"] == "Extracts video ID from URL ." and tr["code"] == TRAIN["original_string"]
    assert tr["code_tokens"] == TRAIN["code_tokens"] and tr["repo"] == "soimort/you-get"
    assert tr["func_name"] == "YouTube.get_vid_from_url" and tr["url"] == TRAIN["url"]
    meta = load_meta(tr["meta"])
    assert meta["idx"] == 0 and "code" not in meta and meta["docstring"] == TRAIN["docstring"]
    te = rows[make_id("advtest", 251820)]
    assert te["query"] == "Add two numbers ." and te["code"] == TEST["function"]
    assert te["code_tokens"] == TEST["function_tokens"] and te["func_name"] == "Func" and te["repo"] == "a/b"
    assert load_meta(te["meta"])["parameters"] == "(arg_0, arg_1)"
    va = rows[make_id("advtest", 251821)]
    assert va["query"] == "Add two numbers."  # no tokens: the docstring summary
    assert hf_load(tmp_path / "o")["test"].num_rows == 1


def test_dataset_zip_read_in_place(tmp_path, accounted):
    z = tmp_path / "dataset.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("dataset/train.jsonl", json.dumps(TRAIN) + "\n")
        zf.writestr("dataset/test.jsonl", json.dumps(TEST) + "\n")
        zf.writestr("../test.jsonl", json.dumps(TEST) + "\n")
    m = advtest.build(tmp_path / "o", path=z)
    counts = accounted(m)
    assert counts["written"] == 2 and counts["exclusion_reasons"] == {"build/archive_path_traversal": 1}


def test_bad_records(tmp_path, accounted):
    d = tmp_path / "adv"
    d.mkdir()
    lines = [json.dumps(TRAIN), "{broken", json.dumps({**TRAIN, "idx": 1, "code_tokens": "not a list"}),
             json.dumps({k: v for k, v in TRAIN.items() if k != "idx"}), json.dumps(TRAIN),
             json.dumps({"idx": 5, "url": "u"})]
    (d / "train.jsonl").write_text("\n".join(lines) + "\n")
    m = advtest.build(tmp_path / "o", path=d)
    assert accounted(m)["exclusion_reasons"] == {"build/malformed_json": 1, "build/wrong_type": 1,
                                                 "build/missing_field": 2, "build/duplicate_id": 1}
    with pytest.raises(CodequarryError, match="cannot tell the split"):
        odd = tmp_path / "other.jsonl"
        odd.write_text(json.dumps(TRAIN) + "\n")
        advtest.build(tmp_path / "o2", path=odd)
