"""Near-dedup speed and agreement: codequarry's vectorised MinHash-LSH against a datasketch pipeline.

Both shingle kinds are measured, each against datasketch fed the identical shingles: ``bigcode``
(BigCode's raw ``[A-Za-z_0-9]+`` tokens) and ``code`` (the default: comments removed, raw tokens ∪ a
rename-invariant canonical view; see ``cleaners/minhash.py``). Identical parameters otherwise: 5-gram
shingles, 256 permutations, threshold 0.7 with the same bands × rows (25 × 10), rows with fewer than
5 tokens left out, union-find clusters, and the same keep rule (first row of a cluster survives).
datasketch gets each row's shingle strings from ``MinHasher.token_views`` (plain Python: the raw
view's n-grams plus the tagged canonical ones), hashes them with xxh32
(``MinHash(hashfunc=xxhash.xxh32_intdigest)``) and indexes them in ``MinHashLSH``; codequarry
tokenizes the batch vectorised and hashes tokens once with xxh3 (see ``cleaners/minhash.py``).
Timings are end to end from the raw code strings.

Corpus: every Python function (documented or not, at any depth) extracted with
``codequarry.languages`` from the installed standard library and site-packages, in sorted file
order, first ``--n``. Planted near-duplicates (``--planted``, default n/50): functions that are
singletons under every shingle kind get one variant each, made with tree-sitter edits — a
consistent rename of the least-used local name, reformatting (blank line, spaces after commas), an
inserted comment line, or all three. Recall = variants clustered with their source; precision =
those pairs over all rows the planted rows were clustered with. The natural share of rows in a
near-duplicate cluster (planted rows excluded) shows what the shingles change on real code.

Usage: ``python perf/dedup.py [--n 100000] [--cache FILE] [--skip-datasketch] [--shingles code bigcode]``
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

from codequarry.languages.tokens import walk

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

KINDS = ("bigcode", "code")


def config(kind: str):
    """The measured configuration: 256 permutations, 5-grams, threshold 0.7 (25 × 10 bands), ``kind`` shingles."""
    from codequarry.cleaners import minhash as mh

    return mh.MinHashConfig(num_perm=256, ngram=5, threshold=0.7, shingles=kind)


def codequarry_pipeline(codes: list[str], kind: str = "code", min_tokens: int = 5) -> np.ndarray:
    """Cluster label (smallest member) per row with codequarry.cleaners.minhash."""
    from codequarry.cleaners import minhash as mh

    return mh.cluster_texts(codes, config(kind), min_tokens=min_tokens, languages=["python"] * len(codes))


def shingle_strings(hasher, code: str, n: int = 5) -> tuple[set[str], int]:
    """A row's shingles as strings (raw n-grams, canonical n-grams tagged with a leading NUL) and its token count."""
    raw, canon = hasher.token_views(code, "python")
    views = [(raw, "")] + ([(canon, "\x00")] if canon is not None else [])
    out: set[str] = set()
    for toks, tag in views:
        if len(toks) >= n:
            out.update(tag + " ".join(toks[k:k + n]) for k in range(len(toks) - n + 1))
        elif toks:
            out.add(tag + " ".join(toks))
    return out, len(raw)


def datasketch_pipeline(codes: list[str], kind: str = "code", min_tokens: int = 5) -> np.ndarray:
    """The same with datasketch: the identical shingles hashed with xxh32, MinHashLSH(params=(25, 10)), union-find."""
    import xxhash
    from datasketch import MinHash, MinHashLSH

    from codequarry.cleaners.minhash import MinHasher, UnionFind
    from codequarry.progress import progress

    hasher = MinHasher(config(kind))
    lsh = MinHashLSH(threshold=0.7, num_perm=256, params=(25, 10))
    sketches: list[MinHash | None] = []
    for i, code in enumerate(progress(codes, desc=f"datasketch {kind}", unit="fn")):
        shingles, ntok = shingle_strings(hasher, code)
        if ntok < min_tokens:
            sketches.append(None)
            continue
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
    fn = next((n for n in walk(root) if n.type == "function_definition"), None)
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
    commas = [n.end_byte for n in walk(root) if n.type == "," and n.child_count == 0]
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
    fn = next((n for n in walk(root) if n.type == "function_definition"), None)
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


def _share(labels: np.ndarray, n: int) -> np.ndarray:
    """Rows among the first n in a cluster of two or more rows among the first n."""
    return _flags(labels[:n])[1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000, help="real functions in the corpus (default 100000)")
    ap.add_argument("--planted", type=int, default=None, help="planted near-duplicates (default n/50, at least 100)")
    ap.add_argument("--cache", type=Path, default=None, help="pickle file to cache the extracted functions in")
    ap.add_argument("--skip-datasketch", action="store_true", help="time only codequarry (no comparison)")
    ap.add_argument("--shingles", nargs="+", choices=KINDS, default=list(KINDS),
                    help="shingle kinds to measure (default: bigcode and code)")
    args = ap.parse_args(argv)

    t = time.time()
    codes = extract_corpus(args.n, args.cache)
    n = len(codes)
    print(f"corpus: {n} functions from stdlib + site-packages ({time.time() - t:.0f}s to extract)")
    base = {kind: codequarry_pipeline(codes, kind) for kind in args.shingles}
    singleton = np.ones(n, dtype=bool)
    for labels in base.values():
        singleton &= np.bincount(labels, minlength=n)[labels] == 1
    pool_labels = np.where(singleton, np.arange(n), n)  # every non-singleton in one shared (discarded) cluster
    k = args.planted if args.planted is not None else max(100, n // 50)
    planted = plant(codes, pool_labels, k)
    kinds = {kind: sum(1 for _, kd, _ in planted if kd == kind) for kind in ("rename", "reformat", "comment", "all")}
    jac = np.array([true_jaccard(codes[s], v) for s, _, v in planted])
    corpus = codes + [v for _, _, v in planted]
    print(f"planted: {len(planted)} variants of functions that are singletons under {' and '.join(args.shingles)} "
          f"shingles ({', '.join(f'{a} {b}' for a, b in kinds.items())}); BigCode 5-gram Jaccard to source: "
          f"median {np.median(jac):.2f}, ≥0.7 for {np.mean(jac >= 0.7):.1%}")

    results: dict[tuple[str, str], tuple[np.ndarray, float]] = {}
    cpu: dict[tuple[str, str], float] = {}
    for kind in args.shingles:
        pipelines = [("codequarry", codequarry_pipeline)] + ([] if args.skip_datasketch else
                                                              [("datasketch", datasketch_pipeline)])
        for name, pipeline in pipelines:
            t, c = time.perf_counter(), time.process_time()
            labels = pipeline(corpus, kind)
            results[(kind, name)] = (labels, time.perf_counter() - t)
            cpu[(kind, name)] = time.process_time() - c

    print(f"\n{'shingles':<9} {'pipeline':<11} {'wall s':>8} {'cpu s':>8} {'in cluster':>11} {'dropped':>8} "
          f"{'recall':>7} {'precision':>9} {'speedup':>8} {'(cpu)':>6} {'agreement':>10}")
    for (kind, name), (labels, secs) in results.items():
        dropped, in_cluster = _flags(labels[:n])
        recall, precision = planted_scores(labels, n, planted)
        extra = ""
        if name == "codequarry" and (kind, "datasketch") in results:
            ds_labels, ds_secs = results[(kind, "datasketch")]
            extra = (f"{ds_secs / secs:>7.1f}x {cpu[(kind, 'datasketch')] / cpu[(kind, name)]:>5.1f}x "
                     f"{np.mean(_flags(labels)[0] == _flags(ds_labels)[0]):>10.4f}")
        print(f"{kind:<9} {name:<11} {secs:>8.2f} {cpu[(kind, name)]:>8.2f} {in_cluster.mean():>10.1%} "
              f"{dropped.mean():>8.1%} {recall:>7.3f} {precision:>9.3f} {extra}")
    print("(in cluster / dropped: natural rows only; speedup: datasketch's time over codequarry's, wall and CPU "
          "(both single-threaded; CPU time is what a shared machine's load disturbs least); agreement: share of "
          "all rows, planted included, that both pipelines flag alike as dropped)")

    print(f"\nplanted recall by edit ({' | '.join(f'{k} {p}' for k, p in results)}):")
    for kind in ("rename", "reformat", "comment", "all"):
        idx = [j for j, (_, kd, _) in enumerate(planted) if kd == kind]
        cells = [f"{np.mean([labels[planted[j][0]] == labels[n + j] for j in idx]):.3f}" for labels, _ in results.values()]
        print(f"  {kind:<9} n={len(idx):<5} recall {' | '.join(cells)}   BigCode Jaccard median {np.median(jac[idx]):.2f}")
    for lo in (0.7, 0.8):
        idx = np.flatnonzero(jac >= lo)
        cells = [f"{np.mean([labels[planted[j][0]] == labels[n + j] for j in idx]):.3f}" for labels, _ in results.values()]
        print(f"  BigCode Jaccard ≥ {lo}: n={len(idx):<5} recall {' | '.join(cells)}")

    for kind in args.shingles:
        if (kind, "datasketch") in results:
            d1, c1 = _flags(results[(kind, "codequarry")][0])
            d2, c2 = _flags(results[(kind, "datasketch")][0])
            both = d1 | d2
            print(f"\n{kind}: agreement on dropped rows {np.mean(d1 == d2):.4f}, on rows in a cluster "
                  f"{np.mean(c1 == c2):.4f}; dropped by both / either {np.sum(d1 & d2)} / {np.sum(both)} "
                  f"(Jaccard of the dropped sets {np.sum(d1 & d2) / max(1, np.sum(both)):.3f})")
    if {"bigcode", "code"} <= set(args.shingles):
        old = _share(results[("bigcode", "codequarry")][0], n)
        new = _share(results[("code", "codequarry")][0], n)
        print(f"\nnatural rows in a near-duplicate cluster: bigcode {old.mean():.2%} → code {new.mean():.2%} "
              f"({np.sum(new & ~old)} rows newly in a cluster, {np.sum(old & ~new)} no longer)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
