"""Near-dedup speed and agreement: codequarry's vectorised MinHash-LSH against a datasketch pipeline.

Both pipelines use identical parameters: the same tokens (``[A-Za-z_0-9]+``), the same 5-gram
shingles, 256 permutations, threshold 0.7 with the same bands × rows (25 × 10), rows with fewer than
5 tokens left out, union-find clusters, and the same keep rule (first row of a cluster survives).
datasketch hashes each shingle string with xxh32 (``MinHash(hashfunc=xxhash.xxh32_intdigest)``)
and indexes it in ``MinHashLSH``; codequarry hashes tokens once with xxh3 and combines them
(see ``cleaners/minhash.py``). Timings are end to end from the raw code strings.

Corpus: every Python function (documented or not, at any depth) extracted with
``codequarry.languages`` from the installed standard library and site-packages, in sorted file
order, first ``--n``. Planted near-duplicates (``--planted``, default n/50): functions that are
singletons in a first run get one variant each, made with tree-sitter edits — a consistent rename
of the least-used local name, reformatting (blank line, spaces after commas), an inserted comment
line, or all three. Recall = variants clustered with their source; precision = those pairs over all rows the
planted rows were clustered with.

Usage: ``python perf/dedup.py [--n 100000] [--cache FILE] [--skip-datasketch]``
"""

from __future__ import annotations

import argparse
import pickle
import random
import re
import sys
import sysconfig
import time
from pathlib import Path

import numpy as np

TOKEN = re.compile(r"[A-Za-z_0-9]+")
COMMENTS = ["check the cached value first", "TODO handle the empty case", "see the notes above",
            "keep the original order here", "fast path for small inputs", "this mirrors the reference version"]


# --------------------------------------------------------------------------------------------
# corpus


def extract_corpus(n: int, cache: Path | None = None) -> list[str]:
    """The first n Python functions of stdlib + site-packages (sorted files), cached when asked."""
    if cache is not None and cache.exists():
        with open(cache, "rb") as fh:
            codes = pickle.load(fh)
        if len(codes) >= n:
            return codes[:n]
    from codequarry.languages import ExtractionRules, extract_functions
    from codequarry.progress import progress

    rules = ExtractionRules(scope="all", require_docstring=False, min_code_tokens=0, apply_blacklist=False,
                            skip_empty=False)
    roots = [Path(sysconfig.get_paths()["stdlib"]), Path(sysconfig.get_paths()["purelib"])]
    files = sorted(p for root in roots for p in root.rglob("*.py"))
    codes: list[str] = []
    bar = progress(total=n, desc="extract functions", unit="fn")
    for path in files:
        try:
            src = path.read_bytes()
        except OSError:
            continue
        if len(src) > 2_000_000:
            continue
        try:
            functions = extract_functions(src, "python", rules)
        except Exception:
            continue
        codes.extend(f.code for f in functions)
        bar.update(len(functions))
        if len(codes) >= n:
            break
    bar.close()
    if cache is not None:
        with open(cache, "wb") as fh:
            pickle.dump(codes, fh)
    return codes[:n]


# --------------------------------------------------------------------------------------------
# the two pipelines


def codequarry_pipeline(codes: list[str], min_tokens: int = 5) -> np.ndarray:
    """Cluster label (smallest member) per row with codequarry.cleaners.minhash."""
    from codequarry.cleaners import minhash as mh

    return mh.cluster_texts(codes, mh.MinHashConfig(num_perm=256, ngram=5, threshold=0.7), min_tokens=min_tokens)


def datasketch_pipeline(codes: list[str], min_tokens: int = 5) -> np.ndarray:
    """The same with datasketch: xxh32 shingle hashes, MinHashLSH(params=(25, 10)), union-find."""
    import xxhash
    from datasketch import MinHash, MinHashLSH

    from codequarry.cleaners.minhash import UnionFind
    from codequarry.progress import progress

    lsh = MinHashLSH(threshold=0.7, num_perm=256, params=(25, 10))
    sketches: list[MinHash | None] = []
    for i, code in enumerate(progress(codes, desc="datasketch", unit="fn")):
        toks = TOKEN.findall(code or "")
        if len(toks) < min_tokens:
            sketches.append(None)
            continue
        shingles = {" ".join(toks[k:k + 5]) for k in range(len(toks) - 4)}
        m = MinHash(num_perm=256, seed=1, hashfunc=xxhash.xxh32_intdigest)
        m.update_batch([s.encode("utf-8", "surrogatepass") for s in shingles])
        lsh.insert(i, m)
        sketches.append(m)
    uf = UnionFind(len(codes))
    for i, m in enumerate(sketches):
        if m is not None:
            for j in lsh.query(m):
                if j != i:
                    uf.union(i, j)
    return uf.labels()


# --------------------------------------------------------------------------------------------
# planted near-duplicates (tree-sitter edits)


def _rename(code: str, rng: random.Random) -> str | None:
    """Consistently rename one local name (a parameter or assigned variable) of the function."""
    from codequarry.cleaners._obfuscate_rules import PYTHON
    from codequarry.languages import parse

    src = code.encode("utf-8")
    root = parse(src, "python").root_node
    fn = next((n for n in _walk(root) if n.type == "function_definition"), None)
    if fn is None:
        return None
    bound, excluded = PYTHON.bindings(fn, src)
    names = sorted(bound - excluded - {"self", "cls"})
    if not names:
        return None
    occurrences = list(PYTHON.occurrences(fn, src))
    uses = {name: sum(1 for o in occurrences if o.text == name) for name in names}
    fewest = min(uses.values())
    old = rng.choice([name for name in names if uses[name] == fewest])  # a realistic rename: a rarely used local
    new = old + rng.choice(["_value", "_new", "2", "_tmp"])
    spans = [o.node for o in occurrences if o.text == old]
    out, pos = bytearray(), 0
    for n in spans:
        out += src[pos:n.start_byte] + new.encode()
        pos = n.end_byte
    return (bytes(out) + src[pos:]).decode("utf-8")


def _reformat(code: str, rng: random.Random) -> str:
    """Whitespace-only edits: a blank line after the signature and a space after each comma token."""
    from codequarry.languages import parse

    src = code.encode("utf-8")
    root = parse(src, "python").root_node
    commas = [n.end_byte for n in _walk(root) if n.type == "," and n.child_count == 0]
    out, pos = bytearray(), 0
    for end in commas:
        out += src[pos:end] + b" "
        pos = end
    text = (bytes(out) + src[pos:]).decode("utf-8")
    first, _, rest = text.partition("\n")
    return first + "\n\n" + rest if rest else text


def _comment(code: str, rng: random.Random) -> str:
    """Insert a comment line before a statement of the body, at its indentation."""
    from codequarry.languages import parse

    src = code.encode("utf-8")
    root = parse(src, "python").root_node
    fn = next((n for n in _walk(root) if n.type == "function_definition"), None)
    body = fn.child_by_field_name("body") if fn is not None else None
    stmts = [c for c in (body.named_children if body is not None else []) if c.start_point[0] > fn.start_point[0]]
    if not stmts:
        return code
    out = code
    for stmt in sorted(rng.sample(stmts, 1), key=lambda s: -s.start_byte):
        line_start = src.rfind(b"\n", 0, stmt.start_byte) + 1
        indent = src[line_start:stmt.start_byte].decode("utf-8")
        if indent.strip():
            continue
        b = out.encode("utf-8")
        out = (b[:line_start] + f"{indent}# {rng.choice(COMMENTS)}\n".encode() + b[line_start:]).decode("utf-8")
    return out


def _walk(node):
    cursor = node.walk()
    while True:
        yield cursor.node
        if cursor.goto_first_child():
            continue
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent():
                return


def plant(codes: list[str], labels: np.ndarray, k: int, seed: int = 0) -> list[tuple[int, str, str]]:
    """(source index, kind, variant code) for k singleton functions with ≥ 60 tokens."""
    rng = random.Random(seed)
    sizes = np.bincount(labels, minlength=len(codes))
    pool = [i for i in range(len(codes)) if sizes[labels[i]] == 1 and len(TOKEN.findall(codes[i])) >= 60]
    rng.shuffle(pool)
    kinds = ["rename", "reformat", "comment", "all"]
    out = []
    for i in pool:
        kind = kinds[len(out) % len(kinds)]
        code = codes[i]
        variant: str | None = code
        if kind in ("rename", "all"):
            variant = _rename(variant, rng)
        if variant is not None and kind in ("reformat", "all"):
            variant = _reformat(variant, rng)
        if variant is not None and kind in ("comment", "all"):
            variant = _comment(variant, rng)
        if variant is None or variant == code:
            continue
        out.append((i, kind, variant))
        if len(out) >= k:
            break
    return out


def planted_scores(labels: np.ndarray, n_base: int, planted: list[tuple[int, str, str]]) -> tuple[float, float]:
    """(recall, precision) of the planted pairs under a clustering of base + variant rows."""
    members: dict[int, list[int]] = {}
    for i, lab in enumerate(labels.tolist()):
        members.setdefault(lab, []).append(i)
    found = 0
    extra = 0
    seen_clusters = set()
    for k, (src, _, _) in enumerate(planted):
        var = n_base + k
        if labels[src] == labels[var]:
            found += 1
        for row in (src, var):
            lab = int(labels[row])
            if lab in seen_clusters:
                continue
            seen_clusters.add(lab)
            cluster = set(members[lab])
            expected = {src, var}
            extra += len(cluster - expected) if len(cluster) > 1 else 0
    recall = found / max(1, len(planted))
    precision = found / max(1, found + extra)
    return recall, precision


def true_jaccard(a: str, b: str) -> float:
    ta, tb = TOKEN.findall(a), TOKEN.findall(b)
    sa = {tuple(ta[i:i + 5]) for i in range(len(ta) - 4)}
    sb = {tuple(tb[i:i + 5]) for i in range(len(tb) - 4)}
    return len(sa & sb) / max(1, len(sa | sb))


# --------------------------------------------------------------------------------------------


def _flags(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(dropped: not the kept first row of its cluster, in_cluster: cluster size ≥ 2)."""
    n = len(labels)
    dropped = labels != np.arange(n)
    sizes = np.bincount(labels, minlength=n)
    return dropped, sizes[labels] > 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000, help="real functions in the corpus (default 100000)")
    ap.add_argument("--planted", type=int, default=None, help="planted near-duplicates (default n/50, at least 100)")
    ap.add_argument("--cache", type=Path, default=None, help="pickle file to cache the extracted functions in")
    ap.add_argument("--skip-datasketch", action="store_true", help="time only codequarry (no comparison)")
    args = ap.parse_args(argv)

    t = time.time()
    codes = extract_corpus(args.n, args.cache)
    print(f"corpus: {len(codes)} functions from stdlib + site-packages ({time.time() - t:.0f}s to extract)")
    base_labels = codequarry_pipeline(codes)
    k = args.planted if args.planted is not None else max(100, len(codes) // 50)
    planted = plant(codes, base_labels, k)
    kinds = {kind: sum(1 for _, kd, _ in planted if kd == kind) for kind in ("rename", "reformat", "comment", "all")}
    jac = np.array([true_jaccard(codes[s], v) for s, _, v in planted])
    corpus = codes + [v for _, _, v in planted]
    print(f"planted: {len(planted)} variants of singleton functions ({', '.join(f'{a} {b}' for a, b in kinds.items())}); "
          f"true 5-gram Jaccard to source: median {np.median(jac):.2f}, ≥0.7 for {np.mean(jac >= 0.7):.1%}")

    t = time.perf_counter()
    ours = codequarry_pipeline(corpus)
    t_ours = time.perf_counter() - t
    results = {"codequarry": (ours, t_ours)}
    if not args.skip_datasketch:
        t = time.perf_counter()
        ds = datasketch_pipeline(corpus)
        results["datasketch"] = (ds, time.perf_counter() - t)

    print(f"\n{'pipeline':<12} {'wall s':>8} {'in cluster':>11} {'dropped':>8} {'recall':>7} {'precision':>9}")
    for name, (labels, secs) in results.items():
        dropped, in_cluster = _flags(labels[: len(codes)])
        recall, precision = planted_scores(labels, len(codes), planted)
        print(f"{name:<12} {secs:>8.2f} {in_cluster.mean():>10.1%} {dropped.mean():>8.1%} {recall:>7.3f} {precision:>9.3f}")
    print(f"\nplanted recall by edit (codequarry{' / datasketch' if len(results) > 1 else ''}):")
    for kind in ("rename", "reformat", "comment", "all"):
        idx = [j for j, (_, kd, _) in enumerate(planted) if kd == kind]
        cells = []
        for labels, _ in results.values():
            hit = [labels[planted[j][0]] == labels[len(codes) + j] for j in idx]
            cells.append(f"{np.mean(hit):.3f}")
        print(f"  {kind:<9} n={len(idx):<5} recall {' / '.join(cells)}   true Jaccard median {np.median(jac[idx]):.2f}")
    for lo in (0.7, 0.8):
        idx = np.flatnonzero(jac >= lo)
        cells = [f"{np.mean([labels[planted[j][0]] == labels[len(codes) + j] for j in idx]):.3f}" for labels, _ in results.values()]
        print(f"  true Jaccard ≥ {lo}: n={len(idx):<5} recall {' / '.join(cells)}")
    if "datasketch" in results:
        d1, c1 = _flags(ours)
        d2, c2 = _flags(results["datasketch"][0])
        print(f"\nspeedup: {results['datasketch'][1] / t_ours:.1f}x")
        print(f"agreement on dropped rows: {np.mean(d1 == d2):.4f}   on rows in a cluster: {np.mean(c1 == c2):.4f}")
        both = d1 | d2
        print(f"dropped by both / either: {np.sum(d1 & d2)} / {np.sum(both)} "
              f"(Jaccard of the dropped sets {np.sum(d1 & d2) / max(1, np.sum(both)):.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
