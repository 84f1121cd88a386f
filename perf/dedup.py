"""Near-dedup recall per clone kind, precision and speed: codequarry's MinHash-LSH against datasketch.

Corpus: every Python function (documented or not, at any depth) extracted with
``codequarry.languages`` from the installed standard library and site-packages, in sorted file order,
first ``--n``. Planted clones (``perf/clones.py``, tree-sitter edits of real functions that are
singletons under every measured configuration and have at least ``--min-tokens-planted`` tokens):
``--per-kind`` sources per edit kind (``clones.KINDS``: k of n locals renamed for k = 1, 25%, 50%, 75%,
100% of n; reformatting; comments; literals; operand swaps; reordering; one statement inserted, deleted
or modified; three statement edits; the issue-13 Type-2 mix; Type-3 mixes), plus as many negatives
that share a shape (tiny accessors with their own names, same-class sibling accessors, and real
functions with every name and value replaced). Recall per kind = variants clustered with their
source; grouped as Type-2 (``clones.TYPE2_UP_TO_HALF``) and close Type-3 (``clones.CLOSE_TYPE3``);
precision = true (source, variant) pairs over every flagged pair that involves a planted or negative
row (a natural row joining their cluster counts against it too); negatives in a cluster per kind.

Pipelines, identical parameters (5-gram shingles, 256 permutations, rows with fewer than 5 tokens left
out, the same keep rule):

* ``bigcode``: BigCode's raw tokens, one index at threshold 0.7 (25 × 10 bands), no verification;
* ``code`` (codequarry's default): comments removed, raw view (0.7, 25 × 10) OR canonical
  rename-invariant view (0.7, or the Type-3 rule: 0.4 with ≥ 15 shared shingles; its bands 64 × 4 aim at
  0.3 because its candidates are verified), one LSH index each, candidates (star and chain edges of
  each bucket) verified exactly per view (``signatures.ViewRule``).

datasketch gets the identical shingle strings per view from ``MinHasher.token_views`` (plain Python),
hashes them with xxh32 (``MinHash(hashfunc=xxhash.xxh32_intdigest)``), one ``MinHashLSH`` per view with
the same bands × rows, and verifies each candidate pair by the same rule on the string sets per view;
codequarry tokenizes the batch vectorised and hashes tokens once with xxh3. Timings are end to end
from the raw code strings.

Usage: ``python perf/dedup.py [--n 100000] [--cache FILE] [--skip-datasketch] [--shingles code bigcode]
[--min-tokens-planted 40] [--set FIELD=VALUE]``
"""

from __future__ import annotations

import argparse
import pickle
import re
import sys
import sysconfig
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import clones  # noqa: E402  (perf/clones.py, next to this script)

TOKEN = re.compile(r"[A-Za-z_0-9]+")


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
CODE_SETTINGS: dict[str, float] = {}  # --canonical-threshold and --set, when given


def config(kind: str):
    """The measured configuration: 256 permutations, 5-grams, threshold 0.7 (25 × 10 bands), ``kind`` shingles
    (code: the canonical view at its default threshold unless --canonical-threshold says otherwise)."""
    from codequarry.cleaners import minhash as mh

    extra = dict(CODE_SETTINGS) if kind == "code" else {}
    return mh.MinHashConfig(num_perm=256, ngram=5, threshold=0.7, shingles=kind, **extra)


def codequarry_pipeline(codes: list[str], kind: str = "code", min_tokens: int = 5) -> np.ndarray:
    """Cluster label (smallest member) per row with codequarry.cleaners.minhash."""
    from codequarry.cleaners import minhash as mh

    return mh.cluster_texts(codes, config(kind), min_tokens=min_tokens, languages=["python"] * len(codes))


def shingle_strings(hasher, code: str, n: int = 5) -> tuple[list[set[str]], int]:
    """A row's shingles as strings, one set per view (raw n-grams; canonical ones), and its token count."""
    raw, canon = hasher.token_views(code, "python")
    out = []
    for toks in [raw] + ([canon] if canon is not None else []):
        if len(toks) >= n:
            out.append({" ".join(toks[k:k + n]) for k in range(len(toks) - n + 1)})
        else:
            out.append({" ".join(toks)} if toks else set())
    return out, len(raw)


def _match(a: set[str], b: set[str], rule) -> bool:
    """The view's rule (``signatures.ViewRule``) on two string shingle sets."""
    return rule.accepts(len(a & b), len(a | b))


def datasketch_pipeline(codes: list[str], kind: str = "code", min_tokens: int = 5) -> np.ndarray:
    """The same with datasketch: per view the identical shingles hashed with xxh32 into a MinHashLSH with the
    same bands × rows, candidates of any view verified by exact per-view Jaccard (when codequarry verifies)."""
    import xxhash
    from datasketch import MinHash, MinHashLSH

    from codequarry.cleaners.minhash import MinHasher, cluster_labels, default_verify
    from codequarry.progress import progress

    cfg = config(kind)
    hasher = MinHasher(cfg)
    verify = default_verify(cfg)
    lshs = [MinHashLSH(threshold=t.threshold, num_perm=256, params=lsh) for t, lsh in zip(cfg.thresholds, cfg.view_lsh)]
    sketches: list[list[MinHash] | None] = []
    sets: list[list[set[str]]] = []
    for i, code in enumerate(progress(codes, desc=f"datasketch {kind}", unit="fn")):
        views, ntok = shingle_strings(hasher, code)
        sets.append(views if verify else [])
        if ntok < min_tokens:
            sketches.append(None)
            continue
        row = []
        for lsh, shingles in zip(lshs, views):
            m = MinHash(num_perm=256, seed=1, hashfunc=xxhash.xxh32_intdigest)
            m.update_batch([s.encode("utf-8", "surrogatepass") for s in shingles])
            lsh.insert(i, m)
            row.append(m)
        sketches.append(row)
    edges = set()
    for i, row in enumerate(sketches):
        for k, m in enumerate(row or []):
            for j in lshs[k].query(m):
                if j == i or (min(i, j), max(i, j)) in edges:
                    continue
                if not verify or any(_match(sets[i][v], sets[j][v], rule) for v, rule in enumerate(cfg.thresholds)):
                    edges.add((min(i, j), max(i, j)))
    return cluster_labels(len(codes), np.array(sorted(edges), dtype=np.int64).reshape(-1, 2))


# --------------------------------------------------------------------------------------------
# scores


def scores(labels: np.ndarray, n_base: int, planted: list[tuple[int, str, str]], n_neg: int
           ) -> tuple[dict[str, float], float, int, int]:
    """(recall per edit kind, precision, flagged pairs, false pairs) of a clustering of corpus + variants + negatives.

    Rows: the n_base natural functions, then one variant per planted entry, then the negatives.
    """
    n = len(labels)
    hit = np.array([labels[src] == labels[n_base + k] for k, (src, _, _) in enumerate(planted)], dtype=bool)
    recall = {kind: float(hit[[k for k, p in enumerate(planted) if p[1] == kind]].mean()) for kind in clones.KINDS}
    evaluated = np.zeros(n, dtype=bool)
    evaluated[[s for s, _, _ in planted]] = True
    evaluated[n_base:] = True
    size = np.bincount(labels, minlength=n)
    ev = np.bincount(labels[evaluated], minlength=n)
    touched = np.flatnonzero((size > 1) & (ev > 0))
    s, e = size[touched].astype(np.int64), ev[touched].astype(np.int64)
    flagged = int(np.sum(s * (s - 1) // 2 - (s - e) * (s - e - 1) // 2))
    true = int(hit.sum())
    return recall, true / max(1, flagged), flagged, flagged - true


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
    ap.add_argument("--per-kind", type=int, default=None, help="planted clones per edit kind (default n/500, ≥ 40)")
    ap.add_argument("--min-tokens-planted", type=int, default=40, help="tokens a planted source has at least")
    ap.add_argument("--cache", type=Path, default=None, help="pickle file to cache the extracted functions in")
    ap.add_argument("--skip-datasketch", action="store_true", help="time only codequarry (no comparison)")
    ap.add_argument("--shingles", nargs="+", choices=KINDS, default=list(KINDS),
                    help="shingle kinds to measure (default: bigcode and code)")
    ap.add_argument("--canonical-threshold", type=float, default=None,
                    help="the canonical view's threshold for code shingles (default: the library's)")
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                    help="another MinHashConfig field for code shingles (repeatable), e.g. canonical_bands=40")
    args = ap.parse_args(argv)
    if args.canonical_threshold is not None:
        CODE_SETTINGS["canonical_threshold"] = args.canonical_threshold
    for item in args.set:
        field, _, value = item.partition("=")
        CODE_SETTINGS[field] = float(value) if "." in value else int(value)

    t = time.time()
    codes = extract_corpus(args.n, args.cache)
    n = len(codes)
    print(f"corpus: {n} functions from stdlib + site-packages ({time.time() - t:.0f}s to extract)")
    base = {kind: codequarry_pipeline(codes, kind) for kind in args.shingles}
    singleton = np.ones(n, dtype=bool)
    for labels in base.values():
        singleton &= np.bincount(labels, minlength=n)[labels] == 1
    pool = [i for i in np.flatnonzero(singleton).tolist() if len(TOKEN.findall(codes[i])) >= args.min_tokens_planted]
    per_kind = args.per_kind if args.per_kind is not None else max(40, n // 500)
    planted, negatives = clones.plant(codes, pool, per_kind)
    corpus = codes + [v for _, _, v in planted] + [c for _, c in negatives]
    print(f"planted: {len(planted)} clones of singleton functions with ≥ {args.min_tokens_planted} tokens "
          f"({per_kind} per edit kind), {len(negatives)} negatives that share a shape "
          f"({', '.join(f'{sum(1 for k, _ in negatives if k == kind)} {kind}' for kind in clones.NEGATIVE_KINDS)})")

    results: dict[tuple[str, str], tuple[np.ndarray, float, float]] = {}
    for kind in args.shingles:
        pipelines = [("codequarry", codequarry_pipeline)] + ([] if args.skip_datasketch else
                                                              [("datasketch", datasketch_pipeline)])
        for name, pipeline in pipelines:
            t, c = time.perf_counter(), time.process_time()
            labels = pipeline(corpus, kind)
            results[(kind, name)] = (labels, time.perf_counter() - t, time.process_time() - c)

    cols = list(results)
    print(f"\n{'shingles':<9} {'pipeline':<11} {'wall s':>8} {'cpu s':>8} {'in cluster':>11} {'dropped':>8} "
          f"{'precision':>9} {'false pairs':>11} {'speedup':>8} {'(cpu)':>6} {'agreement':>10}")
    for (kind, name), (labels, secs, cpu) in results.items():
        dropped, in_cluster = _flags(labels[:n])
        _, precision, _, false = scores(labels, n, planted, len(negatives))
        extra = ""
        if name == "codequarry" and (kind, "datasketch") in results:
            ds_labels, ds_secs, ds_cpu = results[(kind, "datasketch")]
            extra = (f"{ds_secs / secs:>7.1f}x {ds_cpu / cpu:>5.1f}x "
                     f"{np.mean(_flags(labels)[0] == _flags(ds_labels)[0]):>10.4f}")
        print(f"{kind:<9} {name:<11} {secs:>8.2f} {cpu:>8.2f} {in_cluster.mean():>10.1%} "
              f"{dropped.mean():>8.1%} {precision:>9.3f} {false:>11} {extra}")
    print("(in cluster / dropped: natural rows only; precision: true clone pairs over flagged pairs involving a "
          "planted or negative row; speedup: datasketch's time over codequarry's, wall and CPU, both "
          "single-threaded; agreement: share of all rows that both pipelines flag alike as dropped)")

    print(f"\nrecall by edit kind ({' | '.join(f'{k} {p}' for k, p in cols)}):")
    recalls = {key: scores(labels, n, planted, len(negatives))[0] for key, (labels, _, _) in results.items()}
    for kind in clones.KINDS:
        cells = " | ".join(f"{recalls[key][kind]:.3f}" for key in cols)
        print(f"  {kind:<12} n={sum(1 for p in planted if p[1] == kind):<5} {cells}")
    for group, kinds in (("Type-2 with up to half the locals renamed", clones.TYPE2_UP_TO_HALF),
                         ("close Type-3: half the locals renamed, 1-2 statements edited", clones.CLOSE_TYPE3)):
        for key in cols:
            idx = [k for k, p in enumerate(planted) if p[1] in kinds]
            labels = results[key][0]
            rec = np.mean([labels[planted[k][0]] == labels[n + k] for k in idx])
            print(f"  {group} ({', '.join(kinds)}), {key[0]} {key[1]}: recall {rec:.3f} (n={len(idx)})")
    print("\nnegatives in a cluster (false positives), by negative kind:")
    first_neg = n + len(planted)
    for key in cols:
        labels = results[key][0]
        sizes = np.bincount(labels, minlength=len(labels))
        cells = []
        for kind in clones.NEGATIVE_KINDS:
            rows = [first_neg + k for k, (nk, _) in enumerate(negatives) if nk == kind]
            cells.append(f"{kind} {int(np.sum(sizes[labels[rows]] > 1))}/{len(rows)}")
        print(f"  {key[0]} {key[1]}: {', '.join(cells)}")
    if {"bigcode", "code"} <= set(args.shingles):
        old = _flags(results[("bigcode", "codequarry")][0][:n])[1]
        new = _flags(results[("code", "codequarry")][0][:n])[1]
        print(f"\nnatural rows in a near-duplicate cluster: bigcode {old.mean():.2%} → code {new.mean():.2%} "
              f"({np.sum(new & ~old)} rows newly in a cluster, {np.sum(old & ~new)} no longer)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
