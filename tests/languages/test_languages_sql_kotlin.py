"""SQL (StaQC's second language) and Kotlin: parsing, tokens, extraction, obfuscation, and StaQC's SQL rows.

Before SQL was registered every StaQC SQL pair was excluded by ``parse_check`` as ``unknown_language``.
The SQL snippets below are written in the style of StackOverflow answers (StaQC's source): MySQL
backticks and GROUP_CONCAT, window functions, CTEs, DDL; the two T-SQL ones (``TOP``, ``@variables``)
are outside the grammar's dialects and must be counted as parse errors, not as an unknown language.
"""

from __future__ import annotations

import pickle

import pytest

from codequarry.cleaners.obfuscate import ObfuscationError, code_tokens, obfuscate_code
from codequarry.cleaners.registry import step_class
from codequarry.languages import (
    error_count,
    extract_file,
    get_language,
    identifiers,
    language_for_path,
    strip_comments,
    tokenize_code,
)
from codequarry.languages.functions import ExtractionRules

SQL_OK = [
    "SELECT name, COUNT(*) AS cnt\nFROM users u\nJOIN orders o ON o.user_id = u.id\n"
    "WHERE o.created_at >= '2012-01-01'\nGROUP BY name\nHAVING COUNT(*) > 1\nORDER BY cnt DESC;",
    "UPDATE t1 SET col = 'x' WHERE id IN (SELECT id FROM t2 WHERE flag = 1);",
    "INSERT INTO people (first_name, last_name) VALUES ('John', 'Smith');",
    "CREATE TABLE orders (\n  id INT PRIMARY KEY,\n  user_id INT NOT NULL,\n  total DECIMAL(10, 2) DEFAULT 0\n);",
    "select * from table1 t1 left outer join table2 t2 on t1.id = t2.id where t2.id is null",
    "-- latest row per group\nSELECT *\nFROM (\n  SELECT t.*, ROW_NUMBER() OVER (PARTITION BY grp ORDER BY ts DESC) AS rn\n"
    "  FROM events t\n) x\nWHERE rn = 1",
    "DELETE FROM logs WHERE created < NOW() - INTERVAL '30 days';",
    "SELECT DISTINCT city FROM customers WHERE country LIKE 'G%' LIMIT 10",
    "SELECT `id`, `name` FROM `users` WHERE `id` = 1",
    "SELECT GROUP_CONCAT(name SEPARATOR ', ') FROM t GROUP BY grp",
    "SELECT a.id, b.val FROM a INNER JOIN b ON a.id = b.a_id AND b.active = 1 UNION ALL SELECT id, NULL FROM c",
    "ALTER TABLE users ADD COLUMN email VARCHAR(255);",
    "SELECT COALESCE(SUM(amount), 0) FROM payments WHERE user_id = ? AND status <> 'void'",
    "WITH recent AS (SELECT * FROM posts WHERE created > CURRENT_DATE - 7)\n"
    "SELECT author, COUNT(*) FROM recent GROUP BY author",
    "SELECT CASE WHEN score >= 90 THEN 'A' WHEN score >= 80 THEN 'B' ELSE 'C' END AS grade FROM results /* grades */",
    "CREATE INDEX idx_users_email ON users (email);",
    "SELECT * FROM t WHERE d BETWEEN '2010-01-01' AND '2010-12-31'\n"
    "  AND NOT EXISTS (SELECT 1 FROM u WHERE u.t_id = t.id)",
    "DROP TABLE IF EXISTS tmp;",
]
SQL_TSQL = ["SELECT TOP 10 * FROM dbo.Orders ORDER BY OrderDate DESC",
            "DECLARE @count INT; SET @count = (SELECT COUNT(*) FROM t);"]


@pytest.mark.parametrize("code", SQL_OK)
def test_real_sql_snippets_parse(code):
    assert error_count(code, "sql") == 0, code


def test_sql_tokens_keywords_and_comments():
    code = SQL_OK[0]
    toks = tokenize_code(code, "sql")
    assert toks[:4] == ["SELECT", "name", ",", "COUNT"] and "'2012-01-01'" in toks  # a string is one token
    ids = identifiers(code, "sql")
    assert ids == ["name", "COUNT", "cnt", "users", "u", "orders", "o", "o", "user_id", "u", "id", "o", "created_at",
                   "name", "COUNT", "cnt"]
    lower = identifiers(SQL_OK[4], "sql")  # keywords in any case
    assert "select" not in lower and "join" not in lower and lower[:2] == ["table1", "t1"]
    assert "latest row" not in strip_comments(SQL_OK[5], "sql")
    assert language_for_path("q/Report.SQL") == "sql" and get_language("sql").dataset_language == "sql"


def test_sql_routines_are_the_functions():
    src = ("-- Adds two numbers.\nCREATE FUNCTION add_em(x integer, y integer) RETURNS integer AS $$\n"
           "    SELECT x + y;\n$$ LANGUAGE SQL;\n\nSELECT add_em(1, 2);\n\n"
           "/* Total spent by a user. */\nCREATE OR REPLACE FUNCTION billing.total(uid int) RETURNS numeric\n"
           "LANGUAGE plpgsql AS $$\nBEGIN\n  RETURN (SELECT SUM(amount) FROM orders WHERE user_id = uid);\nEND;\n$$;\n")
    functions = extract_file(src, "sql").functions
    assert [(f.name, f.qualified_name, f.summary) for f in functions] == [
        ("add_em", "add_em", "Adds two numbers."), ("total", "billing.total", "Total spent by a user.")]
    assert functions[0].parameters == ("x integer", "y integer") and functions[0].start_line == 2
    assert functions[1].code.startswith("CREATE OR REPLACE FUNCTION billing.total") and functions[1].code.endswith("$$")


def _py2_pickle(obj: object) -> bytes:
    """What Python 2 writes for a dict of str: protocol 2 (the restricted unpickler reads it as latin-1)."""
    return pickle.dumps(obj, protocol=2)


def test_staqc_sql_pairs_pass_parse_check(tmp_path):
    from codequarry.builders import staqc
    from codequarry.pairs import PairsDir

    snippets = SQL_OK + SQL_TSQL
    work = tmp_path / "staqc"
    work.mkdir()
    iids = [(1000 + i, 0) for i in range(len(snippets))]
    (work / "sql_multi_code_iids.txt").write_text("\n".join(repr(i) for i in iids) + "\n")
    (work / "sql_how_to_do_it_by_classifier_multiple_iid_to_code.pickle").write_bytes(
        _py2_pickle(dict(zip(iids, snippets))))
    (work / "sql_how_to_do_it_by_classifier_multiple_qid_to_title.pickle").write_bytes(
        _py2_pickle({qid: f"How do I write query {qid} in SQL?" for qid, _ in iids}))
    staqc.build(tmp_path / "pairs", path=work, languages="sql", parts=["multi"])
    table = PairsDir(tmp_path / "pairs").read()
    assert table.num_rows == len(snippets) and set(table["language"].to_pylist()) == {"sql"}
    out = step_class("parse_check").from_config({}).process(table)
    assert sorted(out.kept["code"].to_pylist()) == sorted(SQL_OK)
    assert list(out.reasons) == ["parse_error", "parse_error"]  # T-SQL, not "unknown_language"
    assert sorted(out.dropped["code"].to_pylist()) == sorted(SQL_TSQL)


def test_sql_has_no_obfuscation_rules():
    with pytest.raises(ObfuscationError) as exc:
        obfuscate_code(SQL_OK[0], "sql")
    assert exc.value.reason == "unsupported_language"


KOTLIN = '''package com.example.shapes

import kotlin.math.sqrt

/**
 * A box with a width and a height.
 */
data class Box(val width: Int, val height: Int) {
    /** Area of the box. */
    fun area(): Int = width * height

    // Diagonal length,
    // scaled.
    fun diagonal(scale: Double = 1.0): Double {
        val w = width * scale
        val h = height * scale
        return sqrt(w * w + h * h)
    }

    override fun toString(): String = "Box($width x $height)"

    companion object {
        /** A square box. */
        fun square(side: Int): Box = Box(side, side)
    }
}

/** Sum of the areas, skipping small boxes. */
fun totalArea(boxes: List<Box>, minArea: Int = 0): Int {
    var total = 0
    for ((i, box) in boxes.withIndex()) {
        val a = box.area()
        if (a > minArea) total += a
    }
    boxes.forEach { b -> println("box ${b.width} $total") }
    return total
}

fun <T> List<T>.second(): T = this[1]

interface Shape {
    /** The area. */
    fun area(): Int

    /** A description. */
    fun describe(): String {
        fun inner(x: Int) = x + 1
        return "shape " + inner(1)
    }
}
'''


def test_kotlin_functions_and_tokens():
    assert error_count(KOTLIN, "kotlin") == 0 and language_for_path("src/Box.kt") == "kotlin"
    ex = extract_file(KOTLIN, "kotlin")
    assert [(f.qualified_name, f.summary) for f in ex.functions] == [
        ("Box.area", "Area of the box."), ("Box.diagonal", "Diagonal length,\nscaled."),
        ("Box.square", "A square box."), ("totalArea", "Sum of the areas, skipping small boxes."),
        ("Shape.describe", "A description.")]
    assert {(f.qualified_name, why) for f, why in ex.rejected} == {
        ("Box.toString", "blacklisted"), ("second", "no_docstring"), ("Shape.area", "empty_body")}
    total = ex.functions[3]
    # the grammar hangs a default value beside its parameter node, so parameters are name: type
    assert total.parameters == ("boxes: List<Box>", "minArea: Int") and total.class_name is None
    assert total.code_tokens[:6] == ("fun", "totalArea", "(", "boxes", ":", "List")
    assert '"box ${b.width} $total"' in total.code_tokens  # a string template is one token
    assert "fun" not in identifiers(total.code, "kotlin") and "boxes" in identifiers(total.code, "kotlin")
    everything = extract_file(KOTLIN, "kotlin", ExtractionRules(scope="all", require_docstring=False))
    assert "Shape.describe.inner" in [f.qualified_name for f in everything.functions]


def test_kotlin_obfuscation():
    fn = KOTLIN[KOTLIN.index("fun totalArea"):KOTLIN.index("\n}\n", KOTLIN.index("fun totalArea")) + 2]
    result = obfuscate_code(fn, "kotlin")
    assert result.code == '''fun Func(arg_0: List<Box>, arg_1: Int = 0): Int {
    var arg_2 = 0
    for ((arg_3, arg_4) in arg_0.withIndex()) {
        val arg_5 = arg_4.area()
        if (arg_5 > arg_1) arg_2 += arg_5
    }
    arg_0.forEach { arg_6 -> println("box ${arg_6.width} $arg_2") }
    return arg_2
}'''
    assert list(result.mapping) == ["totalArea", "boxes", "minArea", "total", "i", "box", "a", "b"]
    assert error_count(result.code, "kotlin") == 0
    toks = code_tokens(result, "kotlin")
    assert toks[:3] == ["fun", "Func", "("] and '"box ${arg_6.width} $arg_2"' in toks
    # a method: named arguments, members, types and `it` keep their names; recursion becomes Func
    method = ('override fun render(depth: Int, out: StringBuilder): String {\n'
              '    val pad = " ".repeat(depth)\n'
              '    items.forEach { out.append(pad).append(it.name) }\n'
              '    return if (depth > 0) render(depth = depth - 1, out = out) else out.toString()\n}')
    result = obfuscate_code(method, "kotlin")
    assert result.code == ('override fun Func(arg_0: Int, arg_1: StringBuilder): String {\n'
                           '    val arg_2 = " ".repeat(arg_0)\n'
                           '    items.forEach { arg_1.append(arg_2).append(it.name) }\n'
                           '    return if (arg_0 > 0) Func(depth = arg_0 - 1, out = arg_1) else arg_1.toString()\n}')



KOTLIN_MORE = '''class Repo(private val db: Db) {
    fun find(id: Long, includeDeleted: Boolean = false): User? {
        val rows = db.query("SELECT * FROM users WHERE id = ?", id)
        return rows.firstOrNull { it.deleted == includeDeleted }?.let { row -> User(row.id, name = row.name) }
    }
    suspend fun <T : Any> retry(times: Int, block: suspend () -> T): T {
        var last: Throwable? = null
        repeat(times) { attempt ->
            try { return block() } catch (e: IOException) { last = e; delay(100L * attempt) }
        }
        throw last ?: IllegalStateException("no attempts")
    }
    fun classify(x: Any): String = when (x) {
        is Int -> if (x > 0) "positive" else "non-positive"
        is String -> "text of ${x.length}"
        else -> "other"
    }
    fun sumOf(vararg xs: Int): Int {
        var acc = 0
        for (x in xs) acc += x
        val (q, r) = acc / 2 to acc % 2
        return q + r
    }
}
'''


def test_kotlin_obfuscation_on_every_function_parses_and_is_idempotent():
    rules = ExtractionRules(scope="all", require_docstring=False, min_code_tokens=0, skip_empty=False,
                            apply_blacklist=False)
    seen = {}
    for src in (KOTLIN, KOTLIN_MORE):
        for f in extract_file(src, "kotlin", rules).functions:
            result = obfuscate_code(f.code, "kotlin")
            assert error_count(result.code, "kotlin") == 0, result.code
            assert obfuscate_code(result.code, "kotlin").code == result.code
            seen[f.qualified_name] = result
    assert len(seen) == 13
    retry = seen["Repo.retry"]
    assert list(retry.mapping) == ["retry", "times", "block", "last", "attempt", "e"]
    assert "catch (arg_4: IOException) { arg_2 = arg_4; delay(100L * arg_3) }" in retry.code
    assert 'is String -> "text of ${arg_0.length}"' in seen["Repo.classify"].code
    assert "?.let { arg_3 -> User(arg_3.id, name = arg_3.name) }" in seen["Repo.find"].code
