"""Forged resume state: what an unfinished clean keeps in its work dir is data, so editing it can never
run code (issue 14 item 2). A pickle with a ``__reduce__`` payload is never loaded, a forged decision
file is a clear one-line error, and an honest interrupted clean still resumes to the identical output."""

from __future__ import annotations

import json
import math
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from codequarry.cleaners import clean, local_engine
from codequarry.errors import CodequarryError
from codequarry.pairs import PairsDir, PairsWriter, SourceInfo

RECIPE = {"name": "forged-state", "steps": [{"step": "not_null"}, {"step": "exact_dedup"}]}
CODE = "def f{i}(a):\n    '''Return a plus {i}.'''\n    return a + {i}\n"


class _Payload:
    """Unpickling this creates the marker file: proof that the pickle ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):  # noqa: ANN204 - pickle protocol
        return (open, (self.marker, "w"))


def _pairs(path: Path) -> PairsDir:
    rows = [{"id": f"r{i}", "query": f"return a plus {i % 7}", "code": CODE.format(i=i % 7), "language": "python",
             "source": "t"} for i in range(30)]
    with PairsWriter(path, created_by="pytest", sources=[SourceInfo("t", license="MIT")]) as w:
        w.write(rows[:20], split="train")
        w.write(rows[20:], split="test")
    return PairsDir(path)


class _Stop(Exception):
    pass


def _interrupted(pairs: PairsDir, out: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An unfinished clean: stopped as its last pass began, so that pass needs the saved decision on resume."""
    real = local_engine._Work.run_chunk

    def run_chunk(self, k, c):  # noqa: ANN001, ANN202
        if k == len(self.passes) - 1:
            raise _Stop
        return real(self, k, c)

    with monkeypatch.context() as m:
        m.setattr(local_engine._Work, "run_chunk", run_chunk)
        with pytest.raises(_Stop):
            clean(pairs.path, out, recipe=RECIPE, batch_rows=8)
    return out / ".codequarry-work"


def test_forged_pickle_decision_is_never_loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pairs = _pairs(tmp_path / "in")
    reference = clean(pairs.path, tmp_path / "ref", recipe=RECIPE, batch_rows=8)
    out = tmp_path / "out"
    work = _interrupted(pairs, out, monkeypatch)
    ran = tmp_path / "payload-ran"
    for step in range(4):  # where the old engine kept decisions: decision-SSS.pkl
        (work / f"decision-{step:03d}.pkl").write_bytes(pickle.dumps(_Payload(ran)))
    manifest = clean(pairs.path, out, recipe=RECIPE, batch_rows=8)
    assert not ran.exists(), "a pickle from the work dir was loaded and ran"
    assert manifest["fingerprint"] == reference["fingerprint"]
    assert manifest["steps"] == reference["steps"]


def test_state_files_are_json_and_arrow_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = _interrupted(_pairs(tmp_path / "in"), tmp_path / "out", monkeypatch)
    suffixes = {p.suffix for p in work.rglob("*") if p.is_file() and p.name != "lock"}
    assert suffixes <= {".json", ".arrow", ".done"}, suffixes
    for p in work.glob("decision-[0-9][0-9][0-9].json"):
        json.loads(p.read_text(encoding="utf-8"))
    for p in work.rglob("*.done"):
        json.loads(p.read_text(encoding="utf-8"))


@pytest.mark.parametrize("forged", [
    b"\x80\x04not json",
    json.dumps({"format": "codequarry-decision/1", "step": "exact_dedup",
                "decision": {"$dc": "Popen", "f": {"args": ["touch", "x"]}}}).encode(),
    json.dumps({"format": "codequarry-decision/1", "step": "exact_dedup", "decision": {"$evil": 1}}).encode(),
    json.dumps([1, 2]).encode(),
])
def test_forged_json_decision_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forged: bytes) -> None:
    pairs = _pairs(tmp_path / "in")
    out = tmp_path / "out"
    work = _interrupted(pairs, out, monkeypatch)
    decisions = sorted(work.glob("decision-[0-9][0-9][0-9].json"))
    assert decisions
    decisions[-1].write_bytes(forged)
    with pytest.raises(CodequarryError, match="--overwrite"):
        clean(pairs.path, out, recipe=RECIPE, batch_rows=8)
    recipe = tmp_path / "recipe.json"
    recipe.write_text(json.dumps(RECIPE))
    proc = subprocess.run([sys.executable, "-m", "codequarry.cli", "clean", str(pairs.path), "--out", str(out),
                           "--recipe", str(recipe), "--batch-rows", "8"], capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_forged_marker_and_missing_rows_are_clear_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pairs = _pairs(tmp_path / "in")
    out = tmp_path / "out"
    work = _interrupted(pairs, out, monkeypatch)
    marker = next(work.glob("pass-00/*.done"))
    marker.write_text(json.dumps({"counts": {"0": {"in": "x"}}}))
    with pytest.raises(CodequarryError, match="not a chunk marker"):
        clean(pairs.path, out, recipe=RECIPE, batch_rows=8)
    marker.write_text("[]")
    with pytest.raises(CodequarryError, match="--overwrite"):
        clean(pairs.path, out, recipe=RECIPE, batch_rows=8)
    manifest = clean(pairs.path, out, recipe=RECIPE, batch_rows=8, overwrite=True)
    assert manifest["counts"]["written"] > 0


def test_decision_codec_round_trips_every_engine_decision(tmp_path: Path) -> None:
    from codequarry.cleaners import decision_store
    from codequarry.cleaners.decontaminate import Decision as Contamination
    from codequarry.cleaners.leakage import Decision as Leaks
    from codequarry.cleaners.near_dedup import Decision as Clusters
    from codequarry.cleaners.registry import step_class

    def bare(name: str) -> object:  # a step instance without parameters: the codec needs only its class
        cls = step_class(name)
        return cls.__new__(cls)

    cases = {
        "near_dedup": Clusters(members={"a": ("b", 2), "b": ("b", 2)}, short=frozenset({"c", "d"}),
                               stats={"clusters": 1, "ratio": float("inf"), "top": [(1, 2)]}),
        "leakage": Leaks(leaks={"x": ("y", "test", "near")}, stats={"by": {"test": 1}, "j": 0.5}),
        "decontaminate": Contamination(matches={"x": {"benchmark": "b", "score": 1.0}}, summary={"$odd": {1: "k"}}),
        "exact_dedup": {"a": "b", "$x": "y"},
        "split": None,
    }
    for name, decision in cases.items():
        holder = bare(name)
        path = tmp_path / f"{name}.json"
        decision_store.save(path, holder, decision)
        back = decision_store.load(path, holder)
        assert back == decision, name  # sets compare as sets (their repr order depends on hashing)
        assert type(back) is type(decision)
    decision_store.save(tmp_path / "nan.json", bare("split"), {"ratio": float("nan"), "t": (1, (2, "x"))})
    back = decision_store.load(tmp_path / "nan.json", bare("split"))
    assert math.isnan(back["ratio"]) and back["t"] == (1, (2, "x"))
    with pytest.raises(CodequarryError, match="damaged"):  # a class from another module is refused
        decision_store.load(tmp_path / "leakage.json", bare("near_dedup"))


def test_links_in_the_work_dir_are_refused_and_never_followed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pairs = _pairs(tmp_path / "in")
    reference = clean(pairs.path, tmp_path / "ref", recipe=RECIPE, batch_rows=8)
    out = tmp_path / "out"
    work = _interrupted(pairs, out, monkeypatch)
    secret = tmp_path / "victim"
    secret.mkdir()
    (secret / "keep.txt").write_text("precious")
    kept = next(work.glob("pass-01/*.kept.arrow"))
    kept.unlink()
    kept.symlink_to(secret / "keep.txt")  # a resume would read a file outside --out
    (work / "pass-01" / "planted").symlink_to(secret, target_is_directory=True)
    with pytest.raises(CodequarryError, match="link or special file"):
        clean(pairs.path, out, recipe=RECIPE, batch_rows=8)
    manifest = clean(pairs.path, out, recipe=RECIPE, batch_rows=8, overwrite=True)
    assert manifest["fingerprint"] == reference["fingerprint"]
    assert (secret / "keep.txt").read_text() == "precious"  # --overwrite removed the links, not their targets


def test_a_work_dir_that_is_a_link_is_never_emptied(tmp_path: Path) -> None:
    pairs = _pairs(tmp_path / "in")
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("precious")
    out = tmp_path / "out"
    out.mkdir()
    (out / ".codequarry-work").symlink_to(victim, target_is_directory=True)
    with pytest.raises(CodequarryError, match="symbolic link"):
        clean(pairs.path, out, recipe=RECIPE, batch_rows=8)
    assert clean(pairs.path, out, recipe=RECIPE, batch_rows=8, overwrite=True)["counts"]["written"] > 0
    assert (victim / "keep.txt").read_text() == "precious" and victim.is_dir()


def test_deeply_nested_state_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pairs = _pairs(tmp_path / "in")
    out = tmp_path / "out"
    work = _interrupted(pairs, out, monkeypatch)
    decision = sorted(work.glob("decision-[0-9][0-9][0-9].json"))[-1]
    decision.write_text('{"format": "codequarry-decision/1", "step": "exact_dedup", "decision": '
                        + "[" * 200_000 + "]" * 200_000 + "}")
    with pytest.raises(CodequarryError, match="damaged"):
        clean(pairs.path, out, recipe=RECIPE, batch_rows=8)


@pytest.mark.parametrize("forged", ["[1, 2]", "{not json", '{"input": [1]}'])
def test_a_forged_finished_manifest_in_out_is_a_clear_error(tmp_path: Path, forged: str) -> None:
    pairs = _pairs(tmp_path / "in")
    out = tmp_path / "out"
    clean(pairs.path, out, recipe=RECIPE, batch_rows=8)
    (out / "codequarry.json").write_text(forged)
    with pytest.raises(CodequarryError, match="not the manifest of a finished clean"):
        clean(pairs.path, out, recipe=RECIPE, batch_rows=8)
    assert clean(pairs.path, out, recipe=RECIPE, batch_rows=8, overwrite=True)["counts"]["written"] > 0
