"""A pairs dir whose code still holds the query (the docstring) gets a warning when benchmarked."""

from __future__ import annotations

from codequarry.benchmarks import load_task
from codequarry.pairs import PairsWriter


def _dir(tmp_path, keep_docstring: bool):
    rows = []
    for i, word in enumerate(["parse", "render", "merge", "split"]):
        query = f"{word} the given records quickly"
        body = f'    """{query}"""\n' if keep_docstring else ""
        rows.append({"id": f"r{i}", "query": query, "language": "python",
                     "code": f"def {word}_records(rs):\n{body}    return [r for r in rs if r]\n"})
    out = tmp_path / ("kept" if keep_docstring else "stripped")
    with PairsWriter(out, created_by="pytest") as w:
        w.write(rows, split="test")
    return out


def test_warns_when_queries_sit_verbatim_in_code(tmp_path, capsys):
    data = load_task(str(_dir(tmp_path, keep_docstring=True)))
    assert len(data.queries) == 4
    assert "appear verbatim in their own code" in capsys.readouterr().err


def test_no_warning_when_docstrings_were_stripped(tmp_path, capsys):
    load_task(str(_dir(tmp_path, keep_docstring=False)))
    assert "verbatim" not in capsys.readouterr().err
