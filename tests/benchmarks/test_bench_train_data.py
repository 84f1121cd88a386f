"""codequarry train, the parts without a model: examples, hard negatives, overlap refusal, batches, CLI, card."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from codequarry.benchmarks import train_cli
from codequarry.benchmarks.train import train
from codequarry.benchmarks.train_data import check_overlap, epoch_batches, read_examples
from codequarry.benchmarks.train_negatives import code_key, mine_hard_negatives, query_key
from codequarry.errors import CodequarryError
from codequarry.languages import extract_functions
from codequarry.pairs import PairsWriter, SourceInfo
from codequarry.schema import make_id

FILES = {"train": ["json/decoder.py", "textwrap.py", "fnmatch.py", "glob.py"], "test": ["bisect.py", "ntpath.py"]}


def stdlib_rows(stdlib_dir: Path, names: list[str]) -> list[dict]:
    rows = []
    for name in names:
        for f in extract_functions((stdlib_dir / name).read_text(encoding="utf-8"), "python"):
            rows.append({"id": make_id("stdlib", name, f.qualified_name, f.start_line), "query": f.summary,
                         "code": f.code, "language": "python", "source": "stdlib", "repo": name.split("/")[0],
                         "path": name, "func_name": f.qualified_name, "license": "PSF-2.0"})
    return rows


def write_pairs(out: Path, splits: dict[str, list[dict]]) -> Path:
    with PairsWriter(out, created_by="test", sources=[SourceInfo(name="stdlib", license="PSF-2.0")]) as w:
        for split, rows in splits.items():
            w.write(rows, split=split)
    return out


@pytest.fixture(scope="module")
def rows(stdlib_dir: Path) -> dict[str, list[dict]]:
    return {s: stdlib_rows(stdlib_dir, names) for s, names in FILES.items()}


# ---------------------------------------------------------------------------------------------
# hard negatives


def test_mining_excludes_the_positive_its_duplicates_and_same_query_codes() -> None:
    queries = ["parse a json document", "parse a json document", "read a config file", "sum two numbers",
               "Parse a JSON   document"]
    codes = [
        "def parse_json(text):\n    return json.loads(text)\n",
        "def parse_json2(text):\n    # the same query documents another function\n    return json.loads(text, strict=False)\n",
        "def read_config(path):\n    return json.loads(open(path).read())\n",
        "def add(x, y):\n    return x + y\n",
        "def parse_json(text):  # an exact copy of the first code, reformatted\n    return json.loads( text )\n",
    ]
    neg = mine_hard_negatives(queries, codes, ["python"] * 5, num_negatives=2, seed=0)
    # the reformatted copy is the same distinct code as the first one
    assert neg.doc_of_example[4] == neg.doc_of_example[0]
    assert len(neg.docs) == 4
    same_query_docs = {neg.doc_of_example[i] for i in (0, 1, 4)}
    for i in (0, 1, 4):
        assert len(neg.negatives[i]) == 2
        assert not same_query_docs & set(neg.negatives[i]), "a code documented with the same query is no negative"
    # the json-reading code is the top BM25 hit for the json queries that may use it
    assert neg.negatives[0][0] == neg.doc_of_example[2]
    assert neg.doc_of_example[2] not in neg.negatives[2]
    assert neg.stats["skipped_duplicate_of_positive"] > 0 and neg.stats["skipped_same_query"] > 0
    assert code_key(codes[0], "python") == code_key(codes[4], "python")
    assert query_key(queries[0]) == query_key(queries[4])


def test_mining_puts_judged_label0_codes_first_and_fills_at_random_when_bm25_runs_dry() -> None:
    queries = ["zzz qqq", "alpha beta"]
    codes = ["def f():\n    return 1\n", "def alpha_beta():\n    return 2\n"]
    judged = [("ZZZ qqq", "def wrong_answer():\n    return 3\n", "python")]
    neg = mine_hard_negatives(queries, codes, ["python", "python"], num_negatives=2, seed=1, judged=judged)
    assert neg.docs[neg.negatives[0][0]].startswith("def wrong_answer")
    assert neg.stats["judged"] == 1
    assert neg.stats["random_fill"] >= 1  # "zzz qqq" matches no code token
    assert all(len(n) == 2 for n in neg.negatives)


def test_mining_over_real_functions_never_returns_the_positive(rows: dict[str, list[dict]]) -> None:
    train_rows = rows["train"]
    qs, cs = [r["query"] for r in train_rows], [r["code"] for r in train_rows]
    neg = mine_hard_negatives(qs, cs, ["python"] * len(qs), num_negatives=3)
    for i, negs in enumerate(neg.negatives):
        assert neg.doc_of_example[i] not in negs
        assert len(set(negs)) == 3
    assert neg.stats["bm25"] > 0.9 * 3 * len(qs)


# ---------------------------------------------------------------------------------------------
# data, overlap, batches


def test_examples_skip_label0_and_empty_rows_with_counts(tmp_path: Path, rows: dict[str, list[dict]]) -> None:
    extra = [dict(rows["train"][0], id="x1", label=0), dict(rows["train"][1], id="x2", query="  "),
             dict(rows["train"][2], id="x3", code=None)]
    d = write_pairs(tmp_path / "pd", {"train": rows["train"] + extra})
    ex = read_examples(d, "train")
    assert len(ex.ids) == len(rows["train"])
    assert ex.skipped == {"empty_code": 1, "empty_query": 1, "label_0": 1}
    assert ex.judged_negatives[0][0] == rows["train"][0]["query"]
    assert ex.rows == len(rows["train"]) + 3


def test_overlap_refusal_counts_rows_and_says_how_to_fix(tmp_path: Path, rows: dict[str, list[dict]]) -> None:
    leaked = dict(rows["train"][3], id="copy-1", code="# a comment makes no difference\n" + rows["train"][3]["code"])
    same_id = dict(rows["test"][0], id=rows["train"][5]["id"])
    d = write_pairs(tmp_path / "leaky", {"train": rows["train"], "test": rows["test"][1:] + [leaked, same_id]})
    ov = check_overlap(d)
    assert ov["by_split"]["test"] == {"rows": 2, "same_id": 1, "exact_code": 1, "near_duplicate_code": 0}
    with pytest.raises(CodequarryError) as err:
        train(d, "unused-model", tmp_path / "out", max_steps=1)
    msg = str(err.value)
    assert "2 of" in msg and "overlap the test split" in msg and "1 with the same id" in msg
    assert "codequarry clean" in msg and "leakage" in msg and "--force" in msg
    assert not (tmp_path / "out").exists()  # refused before touching the output or loading a model

    clean = write_pairs(tmp_path / "clean", {"train": rows["train"], "test": rows["test"]})
    assert check_overlap(clean)["by_split"]["test"]["rows"] == 0


def test_overlap_finds_near_duplicates(tmp_path: Path, rows: dict[str, list[dict]]) -> None:
    base = max(rows["train"], key=lambda r: len(r["code"]))
    lines = base["code"].splitlines()
    edited = "\n".join(lines[:-1] + [lines[-1] + "  # changed", "    return None"])  # a small edit, not identical
    d = write_pairs(tmp_path / "near", {"train": rows["train"], "test": rows["test"] + [dict(base, id="near-1", code=edited)]})
    info = check_overlap(d)["by_split"]["test"]
    assert info["near_duplicate_code"] == 1 and info["exact_code"] == 0
    assert check_overlap(d, near=False)["by_split"]["test"]["rows"] == 0


def test_batches_are_seeded_complete_and_duplicate_free() -> None:
    keys = [(("q", i % 7), ("d", i % 11)) for i in range(60)]
    b1 = epoch_batches(60, 8, 0, 0, keys)
    assert b1 == epoch_batches(60, 8, 0, 0, keys)
    assert b1 != epoch_batches(60, 8, 0, 1, keys)
    assert sorted(i for b in b1 for i in b) == list(range(60))
    for b in b1:
        assert len(b) <= 8
        seen = [k for i in b for k in keys[i]]
        assert len(seen) == len(set(seen))


# ---------------------------------------------------------------------------------------------
# CLI


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="codequarry")
    train_cli.register(parser.add_subparsers(dest="command"))
    return parser


def test_cli_maps_flags_to_options_and_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    parser = _parser()
    args = parser.parse_args(["train", "DIR", "--base", "B", "--out", "O", "--max-steps", "5", "--hard-negatives", "2",
                              "--query-prompt", "query: ", "--no-valid", "--threads", "1", "--bench-split", "test"])
    opts = train_cli.options_from_args(args)
    assert opts["max_steps"] == 5 and opts["hard_negatives"] == 2 and opts["query_prompt"] == "query: "
    assert opts["valid_split"] is None and opts["num_threads"] == 1 and opts["batch_size"] == 32
    ce = train_cli.options_from_args(parser.parse_args(["train", "D", "--base", "B", "--out", "O", "--kind",
                                                        "cross-encoder"]))
    assert ce["num_negatives"] == 3 and ce["batch_size"] == 16 and ce["valid_max_queries"] == 200
    with pytest.raises(CodequarryError, match="bi-encoders only"):
        train_cli.options_from_args(parser.parse_args(["train", "D", "--base", "B", "--out", "O", "--kind",
                                                       "cross-encoder", "--query-prompt", "q"]))
    with pytest.raises(SystemExit):
        parser.parse_args(["train", "--help"])
    text = capsys.readouterr().out
    for flag in ("--hard-negatives", "--resume-from", "--bench-split", "--force", "--valid-max-queries", "--kind"):
        assert flag in text


def test_cli_refusal_is_a_clean_error(tmp_path: Path, rows: dict[str, list[dict]]) -> None:
    d = write_pairs(tmp_path / "leaky", {"train": rows["train"], "test": rows["train"][:3]})
    args = _parser().parse_args(["train", str(d), "--base", "B", "--out", str(tmp_path / "o"), "--max-steps", "1"])
    with pytest.raises(CodequarryError, match="3 of .* overlap the test split"):
        args.func(args)


def test_train_rejects_bad_options(tmp_path: Path, rows: dict[str, list[dict]]) -> None:
    d = write_pairs(tmp_path / "pd", {"train": rows["train"]})
    with pytest.raises(CodequarryError, match="batch_size must be at least 2"):
        train(d, "B", tmp_path / "o", batch_size=1)
    with pytest.raises(CodequarryError, match="unknown option"):
        train(d, "B", tmp_path / "o", batchsize=4)
    with pytest.raises(CodequarryError, match="no 'valid' split"):
        train(d, "B", tmp_path / "o", max_steps=1)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(CodequarryError, match="not empty and was not written by"):
        train(d, "B", tmp_path / "busy", valid_split=None, overwrite=True)
    assert (tmp_path / "busy" / "notes.txt").read_text(encoding="utf-8") == "mine"


# ---------------------------------------------------------------------------------------------
# card


def test_add_results_to_card_writes_model_index_and_table(tmp_path: Path) -> None:
    from codequarry.benchmarks.results import make_result, save_result
    from codequarry.benchmarks.train_card import add_results_to_card, split_front_matter

    model_dir = tmp_path / "my-model"
    model_dir.mkdir()
    (model_dir / "README.md").write_text("---\nlibrary_name: sentence-transformers\n---\n\n# my-model\n", encoding="utf-8")
    (model_dir / "training_log.json").write_text(json.dumps({"results": []}), encoding="utf-8")
    task = {"name": "pairs/clean", "family": "pairs", "language": "python", "split": "test",
            "protocol": "pairs-retrieval", "main_score": "mrr", "revision": "sha256:abc", "num_queries": 2, "num_docs": 2}

    def result(spec: str, name: str, mrr: float) -> Path:
        r = make_result(task=task, model={"spec": spec, "name": name}, scores={"mrr": mrr, "recall@1": mrr / 2},
                        per_query={"mrr": {"a": mrr, "b": mrr}}, resamples=50)
        return save_result(r, tmp_path / "results")

    own = result(f"st:{model_dir}", "my-model", 0.8)
    other = result("st:sentence-transformers/all-MiniLM-L6-v2", "all-MiniLM-L6-v2", 0.6)
    add_results_to_card(model_dir, [own, other])
    front, body = split_front_matter((model_dir / "README.md").read_text(encoding="utf-8"))
    entries = front["model-index"][0]["results"]
    assert len(entries) == 1 and entries[0]["dataset"]["split"] == "test"
    assert {m["type"]: m["value"] for m in entries[0]["metrics"]}["mrr"] == 0.8
    assert "**my-model** (this model)" in body and "all-MiniLM-L6-v2" in body and "0.6" in body
    # again with a new score for the same task: replaced, not duplicated; earlier comparison rows stay
    own2 = result(f"st:{model_dir}", "my-model", 0.9)
    add_results_to_card(model_dir, [own2])
    front, body = split_front_matter((model_dir / "README.md").read_text(encoding="utf-8"))
    entries = front["model-index"][0]["results"]
    assert len(entries) == 1 and {m["type"]: m["value"] for m in entries[0]["metrics"]}["mrr"] == 0.9
    assert body.count("<!-- codequarry:results:start -->") == 1 and "all-MiniLM-L6-v2" in body


def test_card_front_matter_goes_through_huggingface_hub(tmp_path: Path) -> None:
    """A base model card whose front matter ends the file (no newline after ``---``) is still read, and the
    model-index written back parses as huggingface_hub EvalResults."""
    from huggingface_hub import ModelCard

    from codequarry.benchmarks.train_card import _base_card, join_front_matter, split_front_matter

    base = tmp_path / "base"
    base.mkdir()
    (base / "README.md").write_text("---\nlicense: apache-2.0\nlanguage: en\n---", encoding="utf-8")
    assert _base_card(str(base)) == {"license": "apache-2.0", "language": "en"}
    front = {"library_name": "sentence-transformers", "model-index": [{"name": "m", "results": [
        {"task": {"type": "text-retrieval"}, "dataset": {"name": "d", "type": "d", "split": "test"},
         "metrics": [{"type": "mrr", "value": 0.5}]}]}]}
    text = join_front_matter(front, "# m\n")
    card = ModelCard(text)
    assert card.data.eval_results[0].metric_value == 0.5 and card.data.model_name == "m"
    assert split_front_matter(text)[0]["model-index"][0]["results"][0]["dataset"]["split"] == "test"
    assert split_front_matter("# no front matter\n") == ({}, "# no front matter\n")
    with pytest.raises(CodequarryError, match="README.md"):
        split_front_matter("---\n- a list\n---\nbody\n")
