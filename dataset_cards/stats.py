"""Statistics for the dataset card, computed in one streaming pass over a pairs dir.

Per (config, split): row count, query length in whitespace tokens, code length in lines and in
CodeSearchNet tokens (``code_tokens``), label counts, query languages (``query_lang``), licenses.
Over the whole dir: rows per repository and license, and near-duplicate clusters (``dup_cluster``).
Lengths are kept as exact histograms (one counter per distinct length), so quantiles are exact
(nearest-rank) and memory does not grow with the number of rows.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from codequarry.pairs import PairsDir
from codequarry.progress import progress

QUANTILES: tuple[float, ...] = (0.05, 0.25, 0.5, 0.75, 0.95)
NO_LICENSE = "(none recorded)"
NO_QUERY_LANG = "(none)"


@dataclass
class Distribution:
    """An exact histogram of non-negative integer lengths."""

    counts: Counter[int] = field(default_factory=Counter)

    def add(self, lengths: pa.Array | pa.ChunkedArray) -> None:
        arr = lengths.drop_null()
        if len(arr) == 0:
            return
        vc = pc.value_counts(arr)
        for value, count in zip(vc.field("values").to_pylist(), vc.field("counts").to_pylist()):
            self.counts[int(value)] += int(count)

    def merge(self, other: Distribution) -> None:
        self.counts.update(other.counts)

    @property
    def n(self) -> int:
        return sum(self.counts.values())

    @property
    def mean(self) -> float:
        n = self.n
        return sum(v * c for v, c in self.counts.items()) / n if n else math.nan

    @property
    def max(self) -> int | None:
        return max(self.counts) if self.counts else None

    def quantile(self, q: float) -> int | None:
        """Nearest-rank quantile: the smallest length with at least ``q`` of the rows at or below it."""
        n = self.n
        if not n:
            return None
        rank = max(1, math.ceil(q * n))
        seen = 0
        for value in sorted(self.counts):
            seen += self.counts[value]
            if seen >= rank:
                return value
        return max(self.counts)


@dataclass
class PartStats:
    """Statistics of one (config, split)."""

    config: str
    split: str
    rows: int = 0
    query_words: Distribution = field(default_factory=Distribution)
    code_lines: Distribution = field(default_factory=Distribution)
    code_tokens: Distribution = field(default_factory=Distribution)
    labels: Counter[int] = field(default_factory=Counter)
    query_langs: Counter[str] = field(default_factory=Counter)
    licenses: Counter[str] = field(default_factory=Counter)
    dup_rows: int = 0  # rows that share their dup_cluster with another published row


@dataclass
class DupStats:
    """Near-duplicate clusters among the published rows (from the ``dup_cluster`` column)."""

    annotated_rows: int  # rows with a non-null dup_cluster
    clusters: int  # distinct clusters among them
    multi_clusters: int  # clusters with two or more published rows
    rows_in_multi: int  # rows in those clusters
    cross_split_clusters: int  # clusters whose rows sit in more than one split
    cross_split_rows: int


@dataclass
class DatasetStats:
    """Everything the card reports about the rows."""

    parts: list[PartStats]
    columns: list[str]
    repo_rows: Counter[tuple[str, str]] = field(default_factory=Counter)  # (repo, license) -> rows
    dup: DupStats | None = None

    @property
    def rows(self) -> int:
        return sum(p.rows for p in self.parts)

    @property
    def has_labels(self) -> bool:
        return any(p.labels for p in self.parts)

    @property
    def has_query_lang(self) -> bool:
        """A ``query_lang`` column with at least one detected language."""
        return any(set(p.query_langs) - {NO_QUERY_LANG} for p in self.parts)

    def licenses(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for p in self.parts:
            total.update(p.licenses)
        return total

    def row_licenses(self) -> list[str | None]:
        """Distinct row licenses (None for rows without one)."""
        return [None if k == NO_LICENSE else k for k in self.licenses()]

    def repos(self) -> list[tuple[str, str, int]]:
        """(repo, its most frequent license, rows) for every repo, most rows first."""
        per_repo: dict[str, Counter[str]] = {}
        for (repo, lic), n in self.repo_rows.items():
            per_repo.setdefault(repo, Counter())[lic] += n
        out = []
        for repo, lics in per_repo.items():
            lic = sorted(lics.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
            out.append((repo, lic, sum(lics.values())))
        out.sort(key=lambda t: (-t[2], t[0]))
        return out

    def combined(self, name: str) -> Distribution:
        d = Distribution()
        for p in self.parts:
            d.merge(getattr(p, name))
        return d


def _counter(arr: pa.Array | pa.ChunkedArray, *, null: str | None = None) -> Counter:
    if null is not None:
        arr = pc.fill_null(arr, null)
    else:
        arr = arr.drop_null()
    out: Counter = Counter()
    if len(arr) == 0:
        return out
    vc = pc.value_counts(arr)
    for value, count in zip(vc.field("values").to_pylist(), vc.field("counts").to_pylist()):
        out[value] += int(count)
    return out


def code_line_counts(code: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Lines per code string: newlines, plus one for a last line without a newline (empty → 0)."""
    newlines = pc.count_substring(code, "\n")
    nonempty = pc.greater(pc.utf8_length(code), 0)
    open_last = pc.and_(nonempty, pc.invert(pc.ends_with(code, "\n")))
    return pc.add(newlines, pc.cast(open_last, newlines.type))


def query_word_counts(query: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Whitespace-separated tokens per query."""
    return pc.list_value_length(pc.utf8_split_whitespace(query))


def compute_stats(pairs: PairsDir, *, batch_size: int = 16_384) -> DatasetStats:
    """One streaming pass over every (config, split) of ``pairs``."""
    columns = [f.name for f in pairs.schema]
    wanted = [c for c in ("query", "code", "code_tokens", "label", "license", "repo", "query_lang", "dup_cluster")
              if c in columns]
    parts: list[PartStats] = []
    repo_rows: Counter[tuple[str, str]] = Counter()
    dup_tables: list[pa.Table] = []
    split_index = {s: i for i, s in enumerate(pairs.splits())}
    bar = progress(total=pairs.num_rows(), desc="card statistics", unit="rows")
    try:
        for part_idx, (config, split) in enumerate(pairs.parts()):
            ps = PartStats(config, split)
            for table in pairs.iter_batches(split=split, config=config, columns=wanted, batch_size=batch_size):
                ps.rows += table.num_rows
                if "query" in wanted:
                    ps.query_words.add(query_word_counts(table.column("query")))
                if "code" in wanted:
                    ps.code_lines.add(code_line_counts(table.column("code")))
                if "code_tokens" in wanted:
                    ps.code_tokens.add(pc.list_value_length(table.column("code_tokens")))
                if "label" in wanted:
                    ps.labels.update(_counter(table.column("label")))
                if "query_lang" in wanted:
                    ps.query_langs.update(_counter(pc.cast(table.column("query_lang"), pa.string()), null=NO_QUERY_LANG))
                if "license" in wanted:
                    ps.licenses.update(_counter(table.column("license"), null=NO_LICENSE))
                    if "repo" in wanted:
                        _count_repos(repo_rows, table)
                if "dup_cluster" in wanted:
                    dup = pc.cast(table.column("dup_cluster"), pa.string())
                    keep = pc.is_valid(dup)
                    n = len(dup.filter(keep))
                    if n:
                        dup_tables.append(pa.table({
                            "cluster": dup.filter(keep),
                            "part": pa.array([part_idx] * n, pa.int32()),
                            "split": pa.array([split_index[split]] * n, pa.int32()),
                        }))
                bar.update(table.num_rows)
            parts.append(ps)
    finally:
        bar.close()
    stats = DatasetStats(parts=parts, columns=columns, repo_rows=repo_rows)
    if dup_tables:  # a dup_cluster column with at least one cluster id
        stats.dup = _dup_stats(dup_tables, parts)
    return stats


def _count_repos(repo_rows: Counter[tuple[str, str]], table: pa.Table) -> None:
    sub = pa.table({"repo": pc.fill_null(table.column("repo"), "(none)"),
                    "license": pc.fill_null(table.column("license"), NO_LICENSE)})
    grouped = sub.group_by(["repo", "license"]).aggregate([([], "count_all")])
    for repo, lic, n in zip(grouped.column("repo").to_pylist(), grouped.column("license").to_pylist(),
                            grouped.column("count_all").to_pylist()):
        repo_rows[(repo, lic)] += int(n)


def _dup_stats(tables: Iterable[pa.Table], parts: list[PartStats]) -> DupStats:
    t = pa.concat_tables(list(tables))
    per_cluster = t.group_by("cluster").aggregate([([], "count_all"), ("split", "count_distinct")])
    sizes = per_cluster.column("count_all")
    multi = per_cluster.filter(pc.greater(sizes, 1))
    cross = per_cluster.filter(pc.greater(per_cluster.column("split_count_distinct"), 1))
    if multi.num_rows:
        in_multi = t.join(multi.select(["cluster"]), "cluster", join_type="inner")
        per_part = in_multi.group_by("part").aggregate([([], "count_all")])
        for idx, n in zip(per_part.column("part").to_pylist(), per_part.column("count_all").to_pylist()):
            parts[idx].dup_rows = int(n)
    return DupStats(
        annotated_rows=t.num_rows,
        clusters=per_cluster.num_rows,
        multi_clusters=multi.num_rows,
        rows_in_multi=int(pc.sum(multi.column("count_all")).as_py() or 0),
        cross_split_clusters=cross.num_rows,
        cross_split_rows=int(pc.sum(cross.column("count_all")).as_py() or 0),
    )
