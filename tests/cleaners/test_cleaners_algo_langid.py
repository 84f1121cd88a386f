"""query_language and english_only: seeded determinism, script detection, thresholds, backends agree."""

from __future__ import annotations

import ast
import json

import pyarrow as pa
import pytest

from codequarry.cleaners import langid
from codequarry.cleaners.langid import EnglishOnly, QueryLanguage, judge, prose_words

EN = frozenset({"en"})

# real docstring summaries that plain langdetect labels as another language (measured)
ENGLISH_TRAPS = ["Update user configuration file.", "Get the next unique ID.", "Render log for display.",
                 "Alpha composite im2 over im1.", "Returns unique values of the series.",
                 "Validate simple type (int, str, etc.).", "Concatenates multiple tensor arrays."]
FOREIGN = ["Retourne la liste des utilisateurs actifs.", "Devuelve el número de elementos en la cola.",
           "Gibt die Anzahl der Zeilen in der Datei zurück.", "Restituisce il numero di righe del file.",
           "Retorna o valor máximo da lista.", "Geeft het aantal regels in het bestand terug.",
           "Dosyadaki satır sayısını döndürür.", "Mengembalikan jumlah baris dalam berkas."]


def table(queries: list[str | None]) -> pa.Table:
    return pa.table({"id": [f"r{i}" for i in range(len(queries))], "query": pa.array(queries, pa.string()),
                     "split": ["train"] * len(queries)})


def test_prose_words_strip_code_urls_and_fields():
    text = "Return :class:`Foo` from ``obj.attr`` via https://x.org/a_b, see getValue() and my_var.\n:param x: the value"
    assert prose_words(text) == ["Return", "from", "via", "see", "and", "the", "value"]


def test_script_detection_needs_no_langdetect(monkeypatch):
    def boom(*a, **k):
        raise AssertionError("langdetect must not run for a script decision")

    monkeypatch.setattr(langid, "detect_langs", boom)
    assert judge("返回文件中的行数。", EN) == langid.Verdict(False, None, 1.0, "script:han")
    assert judge("Возвращает количество строк в файле.", EN).why == "script:cyrillic"
    assert judge("ファイルの行数を返します。", EN).why == "script:kana"


def test_a_few_greek_letters_are_not_a_script_decision():
    v = judge("Compute the weighted sum of α and β.", EN, backend="langdetect")
    assert v.keep and not v.why.startswith("script")


def test_allowed_script_defers_to_langdetect():
    v = judge("返回文件中的行数，并检查用户是否存在。", frozenset({"en", "zh-cn"}), backend="langdetect")
    assert v.keep and v.lang == "zh-cn"


def test_english_traps_kept_and_foreign_dropped():
    for text in ENGLISH_TRAPS:
        ranked = langid.detect_langs(" ".join(prose_words(text)), "langdetect", 0)
        assert ranked[0][0] != "en", text  # the naive filter would drop these
        assert judge(text, EN, backend="langdetect").keep, text
    for text in FOREIGN:
        assert not judge(text, EN, backend="langdetect").keep, text


def test_thresholds():
    short = "Liste des fichiers"  # 16 letters
    assert judge(short, EN, backend="langdetect").keep is False
    assert judge(short, EN, backend="langdetect", min_letters=20).why == "too_short"
    # without the word evidence only langdetect's probability decides
    v = judge("Update user configuration file.", EN, backend="langdetect", use_words=False)
    assert not v.keep and v.prob >= 0.9
    assert judge("Update user configuration file.", EN, backend="langdetect", use_words=False, min_prob=1.01).keep


def test_seeded_results_are_deterministic():
    text = "Initialize from a unit dual quaternion."
    first = langid.detect_langs(text, "langdetect", 0)
    langid._factory.cache_clear()
    assert langid.detect_langs(text, "langdetect", 0) == first
    assert all(langid.detect_langs(text, "langdetect", 0) == first for _ in range(5))


def test_annotator_and_filter_steps():
    queries = ["Returns the list of active users.", "Devuelve la lista de usuarios activos.", None, "",
               "返回文件中的行数，并检查用户是否存在。"]
    out = QueryLanguage.from_config({"backend": "langdetect"}).process(table(queries))
    assert out.num_dropped == 0
    assert out.kept.column("query_lang").to_pylist() == ["en", "es", None, None, "zh-cn"]
    probs = out.kept.column("query_lang_prob").to_pylist()
    assert probs[0] > 0.9 and probs[2] is None
    res = EnglishOnly.from_config({"backend": "langdetect"}).process(table(queries))
    assert res.kept.column("id").to_pylist() == ["r0", "r2", "r3"]
    assert res.reasons == ("non_english", "non_english")
    assert json.loads(res.details[1])["by"] == "script:han"


def _stdlib_docstrings(stdlib_dir, n: int) -> list[str]:
    out: list[str] = []
    for name in ("argparse.py", "json/decoder.py", "pathlib.py", "shutil.py", "subprocess.py", "tarfile.py",
                 "typing.py", "zipfile.py", "inspect.py", "collections/__init__.py", "functools.py", "email/message.py",
                 "ftplib.py", "imaplib.py", "logging/__init__.py", "difflib.py", "calendar.py", "statistics.py"):
        path = stdlib_dir / name
        if not path.exists():
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                doc = ast.get_docstring(node)
                if doc:
                    out.append(doc.split("\n\n")[0].strip())
        if len(out) >= n:
            break
    return out[:n]


def test_rs_backend_equals_langdetect_on_real_docstrings(stdlib_dir):
    pytest.importorskip("langdetect_rs")
    docs = _stdlib_docstrings(stdlib_dir, 220)
    assert len(docs) >= 200
    for text in docs:
        assert langid.detect_langs(text, "langdetect_rs", 0) == langid.detect_langs(text, "langdetect", 0), text
    assert langid.resolve_backend("auto") == "langdetect_rs"


def test_repeated_queries_are_judged_once_with_the_same_verdict(monkeypatch):
    texts = ["Return the number of items in the cache.", "Gibt die Anzahl der Elemente im Cache zurück.",
             "Получить список пользователей.", "Get x.", None, ""]
    rows = [texts[i % len(texts)] for i in range(60)]
    langid._judge_repeated.cache_clear()
    calls = []
    real = langid.judge
    monkeypatch.setattr(langid, "judge", lambda *a, **k: (calls.append(a[0]), real(*a, **k))[1])
    step = EnglishOnly.from_config({})
    out = step.process(pa.table({"query": rows, "code": ["x"] * len(rows)}))
    assert sorted(calls, key=str) == sorted(texts, key=str)  # each distinct text once
    expected = [real(t, frozenset({"en"})).keep for t in rows]
    assert out.kept["query"].to_pylist() == [t for t, k in zip(rows, expected) if k]
    assert out.num_dropped == expected.count(False) > 0
