"""Training data: a split's (query → code) examples, the train/test overlap check, batches, the valid task.

Batches never hold the same query text or the same (normalized) code twice, which would be a false
negative (the rule of sentence-transformers' ``NoDuplicatesBatchSampler``); they are a pure function of
(seed, epoch), so a resumed run sees the same data order.
"""

from __future__ import annotations

import dataclasses
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from codequarry.benchmarks.train_config import TrainConfig
from codequarry.errors import CodequarryError

# ---------------------------------------------------------------------------------------------
# data


@dataclass(frozen=True)
class Examples:
    """The training examples of a split (parallel lists) and an account of the rows that are not examples."""

    ids: list[str]
    queries: list[str]
    codes: list[str]
    languages: list[str | None]
    judged_negatives: list[tuple[str, str, str | None]]
    skipped: dict[str, int]
    licenses: dict[str, int]
    repos: int
    rows: int


def read_examples(pairs_dir: str | os.PathLike[str], split: str, *, max_examples: int | None = None,
                  seed: int = 0) -> Examples:
    """(query → code) examples of ``split``: rows with non-blank query and code and a label other than 0."""
    from codequarry.pairs import PairsDir

    d = PairsDir(pairs_dir)
    if split not in d.splits():
        raise CodequarryError(f"{pairs_dir}: no {split!r} split to train on; it has: {', '.join(d.splits()) or 'none'}. "
                              "Split it with `codequarry clean DIR --out CLEAN --preset default` (split by repository).")
    names = set(d.schema.names)
    cols = [c for c in ("id", "query", "code", "language", "label", "license", "repo") if c in names]
    ids: list[str] = []
    queries: list[str] = []
    codes: list[str] = []
    langs: list[str | None] = []
    judged: list[tuple[str, str, str | None]] = []
    skipped: Counter[str] = Counter()
    licenses: Counter[str] = Counter()
    repos: set[str] = set()
    rows = 0
    for table in d.iter_batches(split=split, columns=cols):
        for r in table.to_pylist():
            rows += 1
            q, c = r.get("query"), r.get("code")
            if q is None or not str(q).strip():
                skipped["empty_query"] += 1
                continue
            if c is None or not str(c).strip():
                skipped["empty_code"] += 1
                continue
            if r.get("label") == 0:
                skipped["label_0"] += 1
                judged.append((q, c, r.get("language")))
                continue
            ids.append(r["id"])
            queries.append(q)
            codes.append(c)
            langs.append(r.get("language"))
            licenses[r.get("license") or "unknown"] += 1
            if r.get("repo"):
                repos.add(r["repo"])
    if max_examples is not None and len(ids) > max_examples:
        keep = np.sort(np.random.default_rng(seed).permutation(len(ids))[:max_examples])
        skipped["over_max_train_examples"] += len(ids) - max_examples
        ids, queries, codes, langs = ([xs[i] for i in keep] for xs in (ids, queries, codes, langs))
    if len(ids) < 2:
        raise CodequarryError(f"{pairs_dir}: split {split!r} has {len(ids)} usable (query, code) rows; training "
                              "needs at least 2 (rows need a non-empty query and code, label not 0)")
    return Examples(ids=ids, queries=queries, codes=codes, languages=langs, judged_negatives=judged,
                    skipped=dict(sorted(skipped.items())), licenses=dict(licenses.most_common()), repos=len(repos),
                    rows=rows)


def data_provenance(pairs_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """Path, fingerprint, recipe, sources (with licenses) and split sizes of a pairs dir, for the card."""
    from codequarry.pairs import PairsDir

    d = PairsDir(pairs_dir)
    m = d.manifest
    return {"path": str(Path(pairs_dir).resolve()), "fingerprint": d.fingerprint, "created_by": m.get("created_by"),
            "codequarry_version": m.get("codequarry_version"), "sources": m.get("sources", []),
            "recipe": m.get("recipe"), "input": m.get("input"),
            "splits": {s: d.num_rows(split=s) for s in d.splits()}, "configs": d.configs}


# ---------------------------------------------------------------------------------------------
# train/test overlap


def check_overlap(pairs_dir: str | os.PathLike[str], *, train_split: str = "train",
                  held_out: Sequence[str] = ("valid", "test"), near: bool = True) -> dict[str, Any]:
    """Train rows that overlap a held-out split: same id, identical normalized code, or near-duplicate code.

    Code matching is the cleaners' ``leakage`` step itself (exact normalized code, and with ``near``
    MinHash-LSH at Jaccard 0.7 over 5-gram shingles, its defaults), so a dir cleaned with that step passes.
    Returns counts per held-out split (a row is counted once, under the first of id > exact > near) and
    up to five examples.
    """
    import tempfile

    import pyarrow as pa

    from codequarry.cleaners.leakage import Leakage, Params
    from codequarry.pairs import PairsDir

    d = PairsDir(pairs_dir)
    have = d.splits()
    held = [s for s in held_out if s in have and s != train_split]
    out: dict[str, Any] = {"train_split": train_split, "held_out": held, "method": "id + exact normalized code"
                           + (" + MinHash-LSH near-duplicate code (Jaccard 0.7)" if near else ""),
                           "by_split": {}, "examples": []}
    if not held or train_split not in have:
        return out
    names = set(d.schema.names)
    cols = [c for c in ("id", "code", "language") if c in names]
    ids_by_split: dict[str, set[str]] = {}
    tables = []
    for s in (train_split, *held):
        for t in d.iter_batches(split=s, columns=cols):
            ids_by_split.setdefault(s, set()).update(t.column("id").to_pylist())
            n = t.num_rows
            tables.append(pa.table({"id": pa.array([f"{s}\x1f{i}" for i in t.column("id").to_pylist()], pa.string()),
                                    "code": t.column("code"), "language": t.column("language"),
                                    "split": pa.array([s] * n, pa.string())}))
    train_ids = ids_by_split.get(train_split, set())
    step = Leakage(Params(method="both" if near else "exact", train_splits=(train_split,), held_out_splits=tuple(held)))
    with tempfile.TemporaryDirectory(prefix="codequarry-overlap-") as work:
        decision = step.resolve([step.map(t) for t in tables], Path(work))
    leaks = {k.split("\x1f", 1)[1]: v for k, v in decision.leaks.items()}
    for s in held:
        same_id = train_ids & ids_by_split.get(s, set())
        exact = {i for i, (_, hs, kind) in leaks.items() if hs == s and kind == "exact"} - same_id
        near_rows = {i for i, (_, hs, kind) in leaks.items() if hs == s and kind == "near"} - same_id - exact
        out["by_split"][s] = {"rows": len(same_id | exact | near_rows), "same_id": len(same_id), "exact_code": len(exact),
                              "near_duplicate_code": len(near_rows)}
        for i in sorted(same_id)[:2]:
            out["examples"].append({"train": i, "held_out": i, "split": s, "match": "same id"})
        for i in sorted(exact | near_rows)[:3]:
            hid, _, kind = leaks[i]
            out["examples"].append({"train": i, "held_out": hid.split("\x1f", 1)[1], "split": s,
                                    "match": "identical normalized code" if kind == "exact" else "near-duplicate code"})
    out["train_rows"] = len(train_ids)
    return out


def refuse_overlap(pairs_dir: str | os.PathLike[str], overlap: dict[str, Any], split: str = "test") -> None:
    """Raise a CodequarryError when train rows overlap ``split``, saying how many, how, and how to fix it."""
    info = overlap.get("by_split", {}).get(split)
    if not info or not info["rows"]:
        return
    ex = next((e for e in overlap["examples"] if e["split"] == split), None)
    example = f" For example train row {ex['train']} and {split} row {ex['held_out']} ({ex['match']})." if ex else ""
    raise CodequarryError(
        f"{pairs_dir}: {info['rows']} of {overlap.get('train_rows', '?')} {overlap['train_split']} rows overlap the "
        f"{split} split ({info['same_id']} with the same id, {info['exact_code']} with identical normalized code, "
        f"{info['near_duplicate_code']} near-duplicates by MinHash); training on them would inflate the {split} "
        f"scores.{example} Fix: `codequarry clean {pairs_dir} --out CLEAN_DIR --preset default` (its split by "
        "repository and `leakage` step remove such rows; or add `- step: leakage` after `split` in your recipe) "
        "and train on CLEAN_DIR, or pass --force to train anyway (the model card records the overlap).")


# ---------------------------------------------------------------------------------------------
# batches


def epoch_batches(n: int, batch_size: int, seed: int, epoch: int, keys: Sequence[Sequence[Any]]) -> list[list[int]]:
    """One epoch's batches: a seeded permutation packed so that no batch holds two examples sharing a key.

    ``keys[i]`` are example i's texts (query form, positive and negative code ids); an example that would
    repeat one waits for a later batch (kept in order), so every example is used once per epoch.
    """
    order = np.random.default_rng([seed, epoch]).permutation(n).tolist()
    batches: list[list[int]] = []
    pending = order
    while pending:
        batch: list[int] = []
        used: set[Any] = set()
        waiting: list[int] = []
        for i in pending:
            ks = keys[i]
            if any(k in used for k in ks):
                waiting.append(i)
                continue
            batch.append(i)
            used.update(ks)
            if len(batch) == batch_size:
                batches.append(batch)
                batch, used = [], set()
                # examples that waited go first into the next batch, in their order
                retry, waiting = waiting, []
                for j in retry:
                    kj = keys[j]
                    if any(k in used for k in kj) or len(batch) == batch_size:
                        waiting.append(j)
                        continue
                    batch.append(j)
                    used.update(kj)
                if len(batch) == batch_size:
                    batches.append(batch)
                    batch, used = [], set()
        if batch:
            batches.append(batch)
        if len(waiting) == len(pending):  # cannot happen: a fresh batch always takes its first example
            raise RuntimeError("batch packing made no progress")
        pending = waiting
    return batches


# ---------------------------------------------------------------------------------------------
# validation


def valid_task(pairs_dir: str | os.PathLike[str], split: str, max_queries: int | None, max_docs: int | None,
               seed: int) -> tuple[Any, Any]:
    """The valid split as a ``pairs-retrieval`` task, with a seeded sample of at most ``max_queries`` queries.

    With ``max_docs`` the corpus is cut to the chosen queries' own codes plus a seeded sample of the
    others (a smaller, easier pool: say so when reporting); by default it is the split's whole code pool.
    """
    from codequarry.benchmarks.tasks import task_for_dir

    task = task_for_dir(pairs_dir)
    data = task.load(None, split)
    qids = sorted(data.queries)
    rng = np.random.default_rng(seed)
    if max_queries is not None and len(qids) > max_queries:
        qids = sorted(rng.permutation(qids)[:max_queries].tolist())
    queries = {q: data.queries[q] for q in qids}
    qrels = {q: data.qrels[q] for q in qids if q in data.qrels}
    corpus = data.corpus
    if max_docs is not None and len(corpus) > max_docs:
        need = sorted({d for rel in qrels.values() for d in rel})
        others = sorted(set(corpus) - set(need))
        room = max(0, max_docs - len(need))
        picked = sorted(rng.permutation(others)[:room].tolist()) if room and others else []
        corpus = {d: data.corpus[d] for d in sorted(set(need) | set(picked))}
    meta = dict(data.meta, num_queries=len(queries), num_docs=len(corpus), sampled_queries=max_queries,
                sampled_docs=max_docs)
    return task, dataclasses.replace(data, queries=queries, qrels=qrels, corpus=corpus, meta=meta)


def live_encoder(model: Any, cfg: TrainConfig) -> Any:
    """The model being trained as a benchmark ``EncoderModel``; it bypasses the embedding cache (its weights change)."""
    from codequarry.benchmarks.models import EncoderModel

    class _Live(EncoderModel):
        kind = "sentence-transformers (training)"

        def encode_texts(self, texts: list[str], side: str) -> np.ndarray:
            prompt = cfg.query_prompt if side == "query" else cfg.document_prompt
            limit = cfg.max_query_length if side == "query" else cfg.max_seq_length
            old = model.max_seq_length
            if limit:
                model.max_seq_length = min(limit, old) if side == "query" else limit
            try:
                return model.encode(texts, batch_size=cfg.encode_batch_size, prompt=prompt or None,
                                    convert_to_numpy=True, show_progress_bar=False).astype(np.float32)
            finally:
                model.max_seq_length = old

        def embed(self, texts: Sequence[str], *, side: str, desc: str = "") -> np.ndarray:
            texts = [t if isinstance(t, str) else str(t) for t in texts]
            uniq = sorted(set(texts), key=lambda t: (-len(t), t))  # length-sorted batches pad little
            if not uniq:
                return np.zeros((0, 0), dtype=np.float32)
            vecs = np.concatenate([self.encode_texts(uniq[i:i + self.batch_size], side)
                                   for i in range(0, len(uniq), self.batch_size)])
            pos = {t: i for i, t in enumerate(uniq)}
            return vecs[[pos[t] for t in texts]]

    sim = {"cosine": "cos", "dot": "dot"}.get(str(model.similarity_fn_name or "cosine"), "cos")
    return _Live("st:<training>", "training", None, {}, similarity=sim, cache_dir=None, batch_size=cfg.encode_batch_size)
