"""MinHash library: signatures equal a plain-Python reference, code-aware shingles, LSH parameters, clusters."""

from __future__ import annotations

import json
import pickle
import random
import re

import numpy as np
import pytest
import xxhash

from codequarry.cleaners import minhash as mh
from codequarry.errors import CodequarryError

M64 = (1 << 64) - 1
BIGCODE = mh.MinHashConfig(shingles="bigcode")


def _fmix(h: int) -> int:
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & M64
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & M64
    return h ^ (h >> 33)


def _grams(tokens: list[str], hasher: mh.MinHasher, tag: int) -> set[int]:
    """The documented n-gram hash, one shingle at a time with Python ints."""
    cfg = hasher.config
    th = [xxhash.xxh3_64_intdigest(t.encode(), cfg.seed) for t in tokens]
    m = [int(v) for v in hasher.m]
    n = cfg.ngram
    grams = [th[i:i + n] for i in range(len(th) - n + 1)] if len(th) >= n else ([th] if th else [])
    return {_fmix((sum(mk * hk for mk, hk in zip(m, g)) + tag) & M64) >> 32 for g in grams}


def _minhash(shingles: set[int], hasher: mh.MinHasher) -> list[int]:
    if not shingles:
        return [0xFFFFFFFF] * hasher.config.num_perm
    return [min((int(a) * x + int(b)) & 0xFFFFFFFF for x in shingles) for a, b in zip(hasher.a, hasher.b)]


def reference_signature(raw: list[str], canon: list[str] | None, hasher: mh.MinHasher) -> list[list[int]]:
    """One signature per view (raw, then the tagged canonical view), one permutation at a time."""
    out = [_minhash(_grams(raw, hasher, 0), hasher)]
    if canon is not None:
        out.append(_minhash(_grams(canon, hasher, int(hasher.tag)), hasher))
    return out


TEXTS = [
    "def add(a, b):\n    return a + b\n",
    "def add(a, b):   # sum\n    return   a+b",
    "x = 1",  # fewer tokens than the n-gram size: one shingle of all tokens
    "",
    "   ",
    "naïve café = résumé(x) + 2",  # non-ASCII letters separate tokens, as in the regex on str
    "for i in range(10): total += values[i] * weights[i]",
    None,
    "(leading paren) . trailing.",
]


def test_bigcode_signature_equals_reference_implementation():
    hasher = mh.MinHasher(mh.MinHashConfig(num_perm=16, ngram=3, seed=7, shingles="bigcode"))
    sigs, counts = hasher.signatures(TEXTS)
    assert len(sigs) == 1  # one view: BigCode's raw tokens
    for i, text in enumerate(TEXTS):
        toks = re.findall(r"[A-Za-z_0-9]+", text or "")
        assert [s[i].tolist() for s in sigs] == reference_signature(toks, None, hasher), text
        assert counts[i] == len(toks)


CODE = [
    ("def f(a, b):\n    x = a.y + b  # note\n    return len(x), x\n", "python"),
    ('s = "total count"', "python"),
    ('u = "http://a.b"; // c\nv = \'//\'', "javascript"),
    ("int a/*c*/b;", "c"),
    ("if x: # y", None),
    ("x = 1\n=begin\nignored words\n=end\ny = x", "ruby"),
    ("p->q = s::t(r) . u", "cpp"),
    ("$a = $this->b; # c\n#[Attr]\n$d = 1;", "php"),
    ("fn f<'a>(x: &'a str) -> char { '/' } // c", "rust"),
    ('var s = @"C:\\"; // c', "c_sharp"),
    ("", "python"),
    ("x", "no-such-language"),
    ("def g(key, xs):\n    return key(xs[0]) + len(xs)\n", "python"),
]


def test_token_views_by_hand():
    h = mh.MinHasher()
    views = {text: h.token_views(text, lang) for text, lang in CODE}
    # names: "#", or "#d" for the same name d < 5 tokens back; keywords, called names (before "("),
    # qualified names (after . -> ::), numbers and words in strings stay; comments go
    assert views[CODE[0][0]] == (["def", "f", "a", "b", "x", "a", "y", "b", "return", "len", "x", "x"],
                                 ["def", "f", "#", "#", "#", "#3", "y", "#4", "return", "len", "#", "#1"])
    assert views[CODE[1][0]] == (["s", "total", "count"], ["#", "total", "count"])
    assert views[CODE[2][0]] == (["u", "http", "a", "b", "v"], ["#", "http", "a", "b", "#"])  # "//" in strings stays
    assert views[CODE[3][0]] == (["int", "a", "b"], ["int", "#", "#"])  # a block comment separates tokens
    assert views[CODE[4][0]] == (["if", "x", "y"], ["if", "#", "#"])  # unknown language: comments kept
    assert views[CODE[5][0]] == (["x", "1", "y", "x"], ["#", "1", "#", "#3"])  # ruby =begin … =end
    assert views[CODE[6][0]] == (["p", "q", "s", "t", "r", "u"], ["#", "q", "#", "t", "#", "#"])  # "a . b": not qualified
    assert views[CODE[7][0]] == (["a", "this", "b", "Attr", "d", "1"], ["#", "this", "b", "Attr", "#", "1"])  # php #[; capitalized kept
    assert views[CODE[8][0]][0] == ["fn", "f", "a", "x", "a", "str", "char"]  # a lifetime is not a char literal
    assert views[CODE[9][0]][0] == ["var", "s", "C"]  # C# verbatim string ends at its quote
    assert views[CODE[10][0]] == ([], [])
    # a called name that is also a plain name of the text (a parameter called as a function) is a name
    assert views[CODE[12][0]] == (["def", "g", "key", "xs", "return", "key", "xs", "0", "len", "xs"],
                                  ["def", "g", "#", "#", "return", "#3", "#3", "0", "len", "#3"])
    assert mh.MinHasher(BIGCODE).token_views(CODE[0][0], "python") == (
        ["def", "f", "a", "b", "x", "a", "y", "b", "note", "return", "len", "x", "x"], None)


@pytest.mark.parametrize("config", [mh.MinHashConfig(num_perm=16, ngram=3, seed=7),
                                    mh.MinHashConfig(num_perm=16, strip_comments=False),
                                    mh.MinHashConfig(num_perm=16, canonical_identifiers=False),
                                    mh.MinHashConfig(num_perm=16, ngram=2, lowercase=True)],
                         ids=["code", "comments-kept", "no-canonical", "lowercase"])
def test_code_signature_equals_reference_implementation(config):
    hasher = mh.MinHasher(config)
    texts = [t for t, _ in CODE] + TEXTS
    langs = [lang for _, lang in CODE] + ["python"] * len(TEXTS)
    sigs, counts = hasher.signatures(texts, langs)
    assert len(sigs) == (2 if config.canonical_identifiers else 1)
    for i, (text, lang) in enumerate(zip(texts, langs)):
        raw, canon = hasher.token_views(text, lang)
        assert (canon is None) == (not config.canonical_identifiers)
        assert [s[i].tolist() for s in sigs] == reference_signature(raw, canon, hasher), text
        assert counts[i] == len(raw)


@pytest.mark.parametrize("kind", ["bigcode", "code"])
def test_signatures_do_not_depend_on_the_batch(kind):
    hasher = mh.MinHasher(mh.MinHashConfig(num_perm=32, shingles=kind))
    texts = [t for t, _ in CODE]
    langs = [lang for _, lang in CODE]
    together, _ = hasher.band_matrix(texts, langs)
    assert together.shape == (len(texts), hasher.total_bands)
    alone = np.concatenate([hasher.band_matrix([t], [lang])[0] for t, lang in zip(texts, langs)])
    reversed_, _ = hasher.band_matrix(texts[::-1], langs[::-1])
    assert (together == alone).all() and (together == reversed_[::-1]).all()
    clone = pickle.loads(pickle.dumps(hasher))
    assert (clone.band_matrix(texts, langs)[0] == together).all()


def test_tokens_match_bigcode_split_without_empty_pieces():
    hasher = mh.MinHasher(BIGCODE)
    text = "foo_bar(x1,  y)->Baz::qux  é ü # not a comment for bigcode"
    assert hasher.tokens(text) == [t for t in re.split(r"[^A-Za-z_0-9]", text) if t]
    lower = mh.MinHasher(mh.MinHashConfig(shingles="bigcode", lowercase=True))
    assert lower.tokens("Foo BAR") == ["foo", "bar"]


# hand-written snippets in every language with comments, and comment markers inside strings
STRIP_CASES = {
    "python": 'def f(x):\n    """Doc # not a comment."""\n    s = "a # b" + \'#\'  # trailing\n    # own line\n    return s\n',
    "java": 'class A {\n  /** Doc. */\n  int f() { String s = "// no"; char c = \'/\'; // yes\n    return 1; /* b */ }\n}\n',
    "javascript": 'function f(a) {\n  // c1\n  const s = `x // y ${a}`; /* c2 */ return "/*" + s;\n}\n',
    "typescript": 'function f(a: number): string {\n  // c1\n  return "http://x" + a; /* c2 */\n}\n',
    "go": 'func f() string {\n\t// c\n\ts := `raw // x`\n\treturn s + "/* y */" /* z */\n}\n',
    "rust": 'fn f<\'a>(x: &\'a str) -> &\'a str {\n    // c\n    let s = "// no"; /* b */\n    x\n}\n',
    "c": 'int f(int a) {\n  /* c */ char *s = "// no"; // yes\n  return a;\n}\n',
    "cpp": 'int f(int a) {\n  // c\n  auto s = std::string("/* no */"); return a; /* d */\n}\n',
    "c_sharp": 'class A {\n  /// <summary>Doc</summary>\n  string F() { var s = @"C:\\dir"; return s + "//"; } // c\n}\n',
    "php": '<?php\nfunction f($a) {\n  # c1\n  // c2\n  $s = "# no // no"; /* c3 */\n  return $s;\n}\n',
    "ruby": 'def f(a)\n  # c1\n  s = "# no #{a}" # c2\n  s\nend\n',
}


@pytest.mark.parametrize("language", sorted(STRIP_CASES))
def test_fast_comment_stripper_matches_tree_sitter(language):
    from codequarry.languages import strip_comments

    code = STRIP_CASES[language]
    tokens = re.compile(r"[A-Za-z_0-9]+").findall
    fast = tokens(mh.strip_comments_fast(code, language))
    assert fast == tokens(strip_comments(code, language))
    assert fast != tokens(code)  # there was something to remove


def test_fast_comment_stripper_on_real_python(shared_data):
    from codequarry.languages import strip_comments

    rows = json.loads((shared_data / "cosqa" / "cosqa-dev.json").read_text(encoding="utf-8"))
    tokens = re.compile(r"[A-Za-z_0-9]+").findall
    codes = [r["code"] for r in rows if "#" in r["code"]][:200]
    assert len(codes) >= 20
    for code in codes:
        assert tokens(mh.strip_comments_fast(code, "python")) == tokens(strip_comments(code, "python")), code


BASE = '''def merge_intervals(intervals, tolerance=0):
    """Merge overlapping closed ranges, sorted by their lower bound."""
    if not intervals:
        return []
    ordered = sorted(intervals, key=lambda pair: pair[0])
    merged = [list(ordered[0])]
    for start, end in ordered[1:]:
        last = merged[-1]
        if start <= last[1] + tolerance:
            last[1] = max(last[1], end)
        else:
            merged.append([start, end])
    return [tuple(item) for item in merged]
'''
RENAMED = BASE.replace("ordered", "by_start")  # one local, used three times, renamed consistently
LOCALS = {"intervals": "events", "tolerance": "gap", "ordered": "queue", "pair": "ev", "merged": "groups",
          "start": "begin", "end": "finish", "last": "tail", "item": "g"}
APIS = {"sorted": "reversed", "list": "set", "max": "min", "append": "add", "tuple": "frozenset"}


def _sub(text: str, table: dict[str, str]) -> str:
    return re.sub(r"\b(" + "|".join(table) + r")\b", lambda m: table[m.group(1)], text)


def test_consistent_rename_is_a_near_duplicate_with_code_shingles():
    code, bigcode = mh.MinHasher(), mh.MinHasher(BIGCODE)
    (raw,) = bigcode.shingle_sets([BASE, RENAMED])
    views = code.shingle_sets([BASE, RENAMED], ["python", "python"])
    assert mh.jaccard(*raw) < 0.6  # 3 of 62 tokens renamed: 15 of BigCode's 58 shingles change
    assert code.token_views(BASE, "python")[1] == code.token_views(RENAMED, "python")[1]
    assert mh.jaccard(*views[1]) == 1.0  # the canonical view (its own index) is identical
    assert mh.cluster_texts([BASE, RENAMED], languages=["python"] * 2).tolist() == [0, 0]
    assert mh.cluster_texts([BASE, RENAMED], BIGCODE).tolist() == [0, 1]


def test_unrelated_same_structure_pair_stays_apart():
    code = mh.MinHasher()
    other = _sub(_sub(BASE, LOCALS), APIS)  # every name and every call/method differs, the shape is the same
    views = [code.token_views(t, "python")[1] for t in (BASE, other)]
    assert views[0] != views[1] and len(views[0]) == len(views[1])
    assert max(mh.jaccard(*v) for v in code.shingle_sets([BASE, other], ["python"] * 2)) < 0.4  # both views
    assert mh.cluster_texts([BASE, other], languages=["python"] * 2).tolist() == [0, 1]
    # renaming every local keeps the canonical view: a Type-2 clone, caught by the canonical index even
    # though its raw Jaccard is far below any threshold (the union of both views scored about 1/3 here)
    renamed = _sub(BASE, LOCALS)
    assert code.token_views(renamed, "python")[1] == views[0]
    raw, canon = code.shingle_sets([BASE, renamed], ["python"] * 2)
    assert mh.jaccard(*raw) < 0.2 and mh.jaccard(*canon) == 1.0
    assert mh.cluster_texts([BASE, renamed], languages=["python"] * 2).tolist() == [0, 0]


def test_comments_and_reformatting_are_ignored():
    base = BASE
    noisy = base.replace("    merged = [", "    # the first interval\n    merged  =  [").replace(
        "    return [", '    """not a comment: a string"""\n    return  [  # done\n       ')
    h = mh.MinHasher()
    sig, _ = h.band_matrix([base, noisy.replace('    """not a comment: a string"""\n', "")], ["python"] * 2)
    assert (sig[0] == sig[1]).all()
    kept, _ = mh.MinHasher(mh.MinHashConfig(strip_comments=False)).band_matrix([base, noisy], ["python"] * 2)
    assert not (kept[0] == kept[1]).all()
    other, _ = mh.MinHasher(mh.MinHashConfig(seed=2)).band_matrix([base], ["python"])
    assert not (other[0] == sig[0]).all()


def test_jaccard_estimates_track_true_jaccard():
    rng = random.Random(0)
    hasher = mh.MinHasher(mh.MinHashConfig(num_perm=256, ngram=1, shingles="bigcode"))
    vocab = [f"w{i}" for i in range(2000)]
    errors = []
    for target in (0.2, 0.5, 0.8):
        base = rng.sample(vocab, 300)
        keep = int(round(300 * 2 * target / (1 + target)))  # |A∩B| for |A| = |B| = 300 and J = target
        other = base[:keep] + rng.sample([v for v in vocab if v not in base], 300 - keep)
        (sig,), _ = hasher.signatures([" ".join(base), " ".join(other)])
        est = float((sig[0] == sig[1]).mean())
        true = len(set(base) & set(other)) / len(set(base) | set(other))
        errors.append(abs(est - true))
    # standard error of a 256-permutation estimate is ≤ 0.032; allow ~3 sigma
    assert max(errors) < 0.1, errors


def test_lsh_parameters_match_datasketch_and_bigcode():
    assert mh.optimal_lsh_params(0.7, 256) == (25, 10)  # BigCode's B=25, R=10
    lsh = pytest.importorskip("datasketch.lsh")
    for threshold in (0.5, 0.7, 0.85):
        for num_perm in (64, 128, 256):
            assert mh.optimal_lsh_params(threshold, num_perm) == lsh._optimal_param(threshold, num_perm, 0.5, 0.5)
    desc = mh.MinHashConfig().describe()
    assert desc["bands"] == 25 and desc["rows"] == 10
    assert (desc["shingles"], desc["strip_comments"], desc["canonical_identifiers"]) == ("code", True, True)
    assert mh.candidate_probability(0.9, 25, 10) > 0.99 > 0.05 > mh.candidate_probability(0.4, 25, 10)


def test_shingle_options_resolve_and_conflict():
    assert (BIGCODE.strip_comments, BIGCODE.canonical_identifiers) == (False, False)
    partial = mh.MinHashConfig(canonical_identifiers=False)
    assert (partial.strip_comments, partial.canonical_identifiers) == (True, False)
    with pytest.raises(CodequarryError, match="needs shingles: code"):
        mh.MinHashConfig(shingles="bigcode", strip_comments=True)


@pytest.mark.parametrize("kwargs", [{"num_perm": 1}, {"ngram": 0}, {"threshold": 1.0}, {"bands": 5},
                                    {"bands": 30, "rows": 10}, {"shingles": "words"},
                                    {"shingles": "bigcode", "canonical_identifiers": True},
                                    {"type3_threshold": 0.0}, {"type3_shared": 0},
                                    {"shingles": "bigcode", "type3_threshold": 0.5}])
def test_bad_config_is_a_clear_error(kwargs):
    with pytest.raises(CodequarryError):
        mh.MinHashConfig(**kwargs)


def test_languages_must_match_texts():
    with pytest.raises(CodequarryError, match="languages"):
        mh.MinHasher().signatures(["a", "b"], ["python"])


def test_candidate_pairs_are_star_edges_to_the_first_row():
    bands = np.array([[1, 7], [1, 8], [2, 8], [3, 9], [1, 10]], dtype=np.uint64)
    edges = mh.candidate_pairs(bands)
    assert edges.tolist() == [[0, 1], [0, 4], [1, 2]]
    active = np.array([True, False, True, True, True])
    assert mh.candidate_pairs(bands, active).tolist() == [[0, 4]]
    # chain: consecutive members too (1-4 in the bucket {0, 1, 4}), so verification compares them directly
    assert mh.candidate_pairs(bands, chain=True).tolist() == [[0, 1], [0, 4], [1, 2], [1, 4]]
    both = mh.cluster_labels(5, mh.candidate_pairs(bands, chain=True))
    assert (both == mh.cluster_labels(5, edges)).all()  # the same components


def test_union_find_labels_do_not_depend_on_edge_order():
    rng = random.Random(3)
    edges = [(rng.randrange(200), rng.randrange(200)) for _ in range(150)]
    expected = None
    for _ in range(5):
        rng.shuffle(edges)
        labels = mh.cluster_labels(200, np.array(edges, dtype=np.int64))
        if expected is None:
            expected = labels
        assert (labels == expected).all()
    # every label is the smallest member of its component
    for i, lab in enumerate(expected.tolist()):
        assert lab <= i and expected[lab] == lab


def _bfs_labels(n: int, edges: list[tuple[int, int]]) -> list[int]:
    """Reference components: breadth-first search, each row labelled with its component's smallest row."""
    adj: dict[int, list[int]] = {}
    for a, b in edges:
        adj.setdefault(a, []).append(b)
        adj.setdefault(b, []).append(a)
    labels = [-1] * n
    for start in range(n):
        if labels[start] < 0:
            labels[start], todo = start, [start]
            while todo:
                for nxt in adj.get(todo.pop(), []):
                    if labels[nxt] < 0:
                        labels[nxt] = start
                        todo.append(nxt)
    return labels


def test_connected_components_equal_a_breadth_first_search():
    rng = random.Random(5)
    for n in (1, 7, 300):
        edges = [(rng.randrange(n), rng.randrange(n)) for _ in range(n // 2 + 1)]
        assert mh.cluster_labels(n, np.array(edges, dtype=np.int64)).tolist() == _bfs_labels(n, edges)
    assert mh.cluster_labels(4, np.zeros((0, 2), np.int64)).tolist() == [0, 1, 2, 3]
    assert mh.cluster_labels(0, np.zeros((0, 2), np.int64)).tolist() == []


def test_cluster_texts_groups_near_duplicates_and_verify_prunes():
    base = "def compute_total(values, weights):\n    total = 0\n    for v, w in zip(values, weights):\n        total += v * w\n    return total\n"
    near = base.replace("return total", "return total  # done")
    other = "class Parser:\n    def parse(self, text):\n        return [tok for tok in text.split() if tok]\n"
    for config in (None, BIGCODE):
        labels = mh.cluster_texts([other, base, near, base], config, languages=["python"] * 4)
        assert labels.tolist() == [0, 1, 1, 1]
    assert mh.cluster_texts([base, near], verify=True, languages=["python"] * 2).tolist() == [0, 0]
    assert mh.cluster_texts([]).tolist() == []


def test_view_rules_and_the_canonical_bands_follow_the_type3_rule():
    cfg = mh.MinHashConfig()
    raw, canon = cfg.thresholds
    assert raw == mh.ViewRule(0.7) and canon == mh.ViewRule(0.7, mh.TYPE3_THRESHOLD, mh.TYPE3_SHARED)
    assert (mh.TYPE3_THRESHOLD, mh.TYPE3_SHARED) == (0.4, 15)
    # Jaccard 0.5 matches only with at least 15 shared shingles; 0.7 always; below 0.4 never
    assert canon.accepts(15, 30) and not canon.accepts(7, 14) and canon.accepts(7, 10)
    assert not canon.accepts(17, 45) and canon.accepts(18, 45) and not raw.accepts(15, 30) and raw.accepts(7, 10)
    # the canonical bands aim 0.1 below the rule's floor (0.4): datasketch's optimum for 0.3
    assert cfg.canonical_lsh == mh.optimal_lsh_params(0.3, 256) == (64, 4)
    assert mh.candidate_probability(0.45, 64, 4) > 0.9
    off = mh.MinHashConfig(type3_threshold=0.7)  # the rule off: the bands of a plain 0.7 threshold
    assert off.canonical_lsh == (32, 8) and off.thresholds[1].floor == 0.7
    desc = cfg.describe()
    assert (desc["type3_threshold"], desc["type3_shared"], desc["canonical_bands"]) == (0.4, 15, 64)
    assert BIGCODE.thresholds == (mh.ViewRule(0.7),)


def test_type3_rule_needs_a_long_shared_stretch():
    """A Type-3 clone (a statement inserted and one changed in a long function) matches at a canonical Jaccard
    under 0.7; two sibling accessors that differ in one attribute name (Jaccard 0.5 on a handful of shingles) do
    not."""
    base = ("def merge_ranges(ranges, gap):\n    ordered = sorted(ranges, key=lambda r: r.start)\n"
            "    merged = [ordered[0]]\n    for current in ordered[1:]:\n        last = merged[-1]\n"
            "        if current.start - last.stop <= gap:\n            merged[-1] = range(last.start, max(last.stop, "
            "current.stop))\n        else:\n            merged.append(current)\n    return merged\n")
    clone = (base.replace("ranges, gap", "spans, gap").replace("(ranges,", "(spans,")
             .replace("    merged = [ordered[0]]\n", "    if not ordered:\n        return []\n    merged = [ordered[0]]\n")
             .replace("merged.append(current)", "merged.append(range(current.start, current.stop))"))
    sib_a = "def is_left_open(self):\n    return self.bounds is not None and self.bounds.left_open\n"
    sib_b = "def is_right_open(self):\n    return self.bounds is not None and self.bounds.right_open\n"
    h = mh.MinHasher()
    (raw_a, raw_b), (can_a, can_b) = h.shingle_sets([base, clone], ["python"] * 2)
    shared = len(np.intersect1d(can_a, can_b))
    assert 0.4 <= mh.jaccard(can_a, can_b) < 0.7 and shared >= 15 and mh.jaccard(raw_a, raw_b) < 0.7
    (_, _), (sa, sb) = h.shingle_sets([sib_a, sib_b], ["python"] * 2)
    assert mh.jaccard(sa, sb) >= 0.4 and len(np.intersect1d(sa, sb)) < 15
    langs = ["python"] * 4
    assert mh.cluster_texts([base, sib_a, clone, sib_b], languages=langs).tolist() == [0, 1, 0, 3]
    # the old single 0.7 threshold missed the clone
    old = mh.MinHashConfig(type3_threshold=0.7)
    assert mh.cluster_texts([base, sib_a, clone, sib_b], old, languages=langs).tolist() == [0, 1, 2, 3]
    # verify_pairs takes the rules (and plain floats, as before)
    edges = np.array([[0, 1]])
    assert len(mh.verify_pairs(edges, [[raw_a, raw_b], [can_a, can_b]], mh.MinHashConfig().thresholds)) == 1
    assert len(mh.verify_pairs(edges, [[raw_a, raw_b], [can_a, can_b]], [0.7, 0.7])) == 0


def test_batch_view_sets_and_verification_equal_the_per_row_and_per_pair_statements():
    """view_sets (one sort per batch) equals np.unique per row, and verify_pairs (one sort per block of pairs) keeps
    exactly the pairs that ``similar`` (one pair at a time) accepts, for lists and dicts of sets."""
    texts = [(TEXTS[i % len(TEXTS)] or "") + f"\nvalue_{i % 7} = {i % 5}\n" for i in range(120)] + ["", "x", ""]
    h = mh.MinHasher()
    views, offsets, _ = h.view_shingles(texts, ["python"] * len(texts))
    sets = []
    for v in views:
        got = mh.view_sets(v, offsets)
        ref = [np.unique(v[offsets[i]:offsets[i + 1]]) for i in range(len(texts))]
        assert len(got) == len(ref) and all(np.array_equal(a, b) and a.dtype == b.dtype for a, b in zip(got, ref))
        sets.append(got)
    assert mh.view_sets(np.zeros(0, np.uint32), np.zeros(1, np.int64)) == []
    rng = np.random.default_rng(0)
    edges = np.concatenate([rng.integers(0, len(texts), (3000, 2)), [[len(texts) - 1, len(texts) - 3]]])
    for rules in (mh.MinHashConfig().thresholds, [0.7, 0.7], [0.2, 0.4]):
        expected = [k for k, (i, j) in enumerate(edges.tolist()) if mh.similar(i, j, sets, rules)]
        assert 0 < len(expected) < len(edges)
        assert np.array_equal(mh.verify_pairs(edges, sets, rules), edges[expected])
        as_dicts = [dict(enumerate(s)) for s in sets]
        assert np.array_equal(mh.verify_pairs(edges, as_dicts, rules), edges[expected])
    assert mh.verify_pairs(np.zeros((0, 2), np.int64), sets, [0.7, 0.7]).shape == (0, 2)
