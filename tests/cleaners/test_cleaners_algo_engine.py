"""The algorithmic steps inside a real clean (local engine): accounting, reasons and outputs line up."""

from __future__ import annotations

from codequarry.cleaners import clean
from codequarry.pairs import PairsDir, PairsWriter, SourceInfo

FUNC = '''def moving_average(values, window):
    """Average of each window of values."""
    out = []
    total = sum(values[:window])
    out.append(total / window)
    for i in range(window, len(values)):
        total += values[i] - values[i - window]
        out.append(total / window)
    return out
'''
OTHER = '''def parse_header(line, sep=":"):
    key, _, value = line.partition(sep)
    key = key.strip().lower()
    return key, value.strip()
'''


def _rows(prefix, items):
    return [{"id": f"{prefix}{i}", "query": q, "code": c, "language": "python", "source": "t", "repo": "o/r",
             "path": f"p{i}.py"} for i, (q, c) in enumerate(items)]


def test_clean_with_algorithmic_steps(tmp_path):
    train = _rows("tr", [
        ("Average of each window of values.", FUNC.replace("    return out", "    # done\n    return out")),
        ("Calcule la moyenne de chaque fenêtre de valeurs.", OTHER),
        ("Split a header line into key and value.", OTHER.replace('sep=":"', 'sep="="')),
    ])
    test = _rows("te", [("Average of each window of values.", FUNC)])
    with PairsWriter(tmp_path / "in", created_by="pytest", sources=[SourceInfo("t")], overwrite=True) as w:
        w.write(train, split="train")
        w.write(test, split="test")
    recipe = {"name": "algo", "steps": [
        {"step": "query_language", "params": {"backend": "langdetect"}},
        {"step": "english_only", "params": {"backend": "langdetect"}},
        {"step": "near_dedup", "params": {"annotate_only": True}},
        {"step": "leakage"},
        {"step": "obfuscate"},
    ]}
    manifest = clean(tmp_path / "in", tmp_path / "out", recipe=recipe)
    steps = {s["name"]: s for s in manifest["steps"]}
    assert steps["english_only"]["reasons"] == {"non_english": 1}
    assert steps["leakage"]["reasons"] == {"leak_test": 1}
    for s in manifest["steps"]:
        assert s["in"] == s["kept"] + s["excluded"]
    out = PairsDir(tmp_path / "out").read()
    got = {r["id"]: r for r in out.to_pylist()}
    assert sorted(got) == ["te0", "tr2"]
    assert got["te0"]["code"].startswith("def Func(arg_0, arg_1):")
    assert got["te0"]["query_lang"] == "en" and got["te0"]["dup_cluster_size"] == 2
    assert got["tr2"]["code_tokens"][:4] == ["def", "Func", "(", "arg_0"]
