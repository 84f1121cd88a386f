"""The prose sections of a dataset card, each computed from the manifest and the rows.

What the data is (summary, structure and fields), how it was made (sources, build parameters, the
cleaning recipe with every parameter, per-step drop counts and the cleaners' report plot), what is in it
(statistics per language and split, duplicates, licenses) and what it is and is not good for.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Mapping
from typing import Any

from codequarry import __version__
from codequarry.dataset_cards.card_text import (
    IMAGE_SUFFIXES,
    bib_escape,
    bib_key,
    code_block,
    fmt_int,
    md_table,
    package_data,
    pct,
    report_files,
    step_matches,
)
from codequarry.dataset_cards.licenses import NO_LICENSE_NOTE, CardLicense, card_license, license_title
from codequarry.dataset_cards.stats import NO_LICENSE, QUANTILES, DatasetStats, Distribution
from codequarry.pairs import PairsDir, dump_yaml

TOP_REPOS = 20
TOP_QUERY_LANGS = 5


class CardSections:
    """The card's sections for one pairs dir, its options and its statistics."""

    def __init__(self, pairs: PairsDir, opts: Any, stats: DatasetStats) -> None:
        self.pairs = pairs
        self.m = pairs.manifest
        self.opts = opts
        self.stats = stats
        self.sources: list[Mapping[str, Any]] = [s for s in self.m.get("sources", []) if isinstance(s, Mapping)]
        self.steps: list[Mapping[str, Any]] = [s for s in self.m.get("steps", []) or [] if isinstance(s, Mapping)]
        self.notes: Mapping[str, Any] = package_data("source_notes.yaml")
        self.license: CardLicense = card_license(
            [s.get("license") for s in self.sources], stats.row_licenses(), override=opts.license,
            links={s["license"]: s.get("url") or s.get("homepage") for s in self.sources
                   if s.get("license") and (s.get("url") or s.get("homepage"))},
        )
        self.configs = pairs.configs
        self.pretty_name = opts.pretty_name or self._default_pretty_name()

    def _default_pretty_name(self) -> str:
        names = [str(s.get("name")) for s in self.sources if s.get("name")] or ["codequarry"]
        langs = ", ".join(self.configs) if len(self.configs) <= 4 else f"{len(self.configs)} languages"
        return f"{' + '.join(dict.fromkeys(names))} code search pairs ({langs})"

    # -- sections (the prose; card.py assembles them under the template) ------------------------
    def summary(self) -> str:
        total = self.pairs.num_rows()
        splits = self.pairs.splits()
        langs = ", ".join(f"`{c}`" for c in self.configs)
        split_text = ", ".join(f"{s} ({self.pairs.num_rows(split=s):,})" for s in splits)
        source_names = ", ".join(f"**{s.get('name')}**" for s in self.sources) or "local data"
        text = (f"{self.pretty_name} is a dataset of {total:,} natural-language query ↔ code pairs for code search, "
                f"in {len(self.configs)} programming language{'s' if len(self.configs) != 1 else ''} ({langs}), "
                f"split into {split_text}. It was built from {source_names} with "
                f"[codequarry](https://github.com/codequarry/codequarry) {self.m.get('codequarry_version', '?')}")
        if self.steps:
            names = ", ".join(f"`{s.get('name')}`" for s in self.steps)
            text += f" and cleaned by a recipe of {len(self.steps)} steps ({names})"
        text += ". Every number below was computed from the manifest (`codequarry.json`) and the rows themselves."
        kinds = self._query_kinds()
        if kinds:
            text += "\n\n" + " ".join(self.notes["kinds"][k] for k in kinds)
        return text

    def _query_kinds(self) -> list[str]:
        kinds = []
        for s in self.sources:
            kinds.append((self.notes.get(str(s.get("name"))) or {}).get("query_kind", "unknown"))
        return list(dict.fromkeys(kinds))

    def structure(self) -> str:
        splits = self.pairs.splits()
        rows = []
        for c in self.configs:
            rows.append([f"`{c}`", *(fmt_int(self.pairs.num_rows(split=s, config=c) or None) for s in splits),
                         f"{self.pairs.num_rows(config=c):,}"])
        if len(self.configs) > 1:
            rows.append(["**all**", *(f"{self.pairs.num_rows(split=s):,}" for s in splits), f"{self.pairs.num_rows():,}"])
        parts = ["One config per programming language"
                 + (", plus the default config `all` that spans them" if len(self.configs) > 1 else "")
                 + "; Parquet shards live in `data/{config}/{split}-NNNNN-of-NNNNN.parquet`.",
                 md_table(["config", *splits, "total"], rows)]
        name = self.opts.repo_id or self.pairs.path.name
        code = ["from datasets import load_dataset", ""]
        if not self.opts.repo_id:
            code.insert(0, "# from a local copy of this folder")
        if len(self.configs) > 1:
            first = self.configs[0]
            code += [f'ds = load_dataset("{name}")  # every language: the default config `all`',
                     f'one = load_dataset("{name}", "{first}")  # one language']
        else:
            code.append(f'ds = load_dataset("{name}")')
        parts.append(code_block("\n".join(code), "python"))
        fields: Mapping[str, str] = package_data("fields.yaml")
        field_rows = []
        for f in self.m.get("schema", []):
            desc = fields.get(f["name"]) or self._added_by(f["name"]) or "extra column"
            field_rows.append([f"`{f['name']}`", f"`{f['type']}`", desc])
        if field_rows:
            parts.append("Fields:\n\n" + md_table(["field", "type", "description"], field_rows, "lll"))
        return "\n\n".join(p for p in parts if p)

    def _added_by(self, column: str) -> str | None:
        for s in self.steps:
            added = s.get("added") or s.get("added_fields") or []
            if column in added:
                return f"added by cleaning step `{s.get('name')}`"
        return None

    def provenance(self) -> str:
        parts: list[str] = []
        if self.sources:
            rows = []
            for s in self.sources:
                link = s.get("url") or s.get("homepage")
                rows.append([f"**{s.get('name')}**", f"`{s['revision']}`" if s.get("revision") else "not recorded",
                             s.get("license") or "not recorded", f"<{link}>" if link else "–"])
            parts.append("### Sources\n\n" + md_table(["source", "revision", "license", "link"], rows, "llll"))
            notes = []
            for s in self.sources:
                note = (self.notes.get(str(s.get("name"))) or {}).get("note") or s.get("description")
                if note:
                    notes.append(f"- **{s.get('name')}**: {str(note).strip()}")
            if notes:
                parts.append("\n".join(notes))
        build = [f"- Command: `{self.m.get('created_by', '?')}`",
                 f"- codequarry version: {self.m.get('codequarry_version', '?')}"
                 + (f" (this card was rendered by {__version__})" if __version__ != self.m.get("codequarry_version") else ""),
                 f"- Content fingerprint: `{self.m.get('fingerprint')}` (sha256 over the canonical rows, independent of "
                 "sharding; `codequarry.json` holds it and every file's sha256)"]
        inp = self.m.get("input")
        if isinstance(inp, Mapping) and inp.get("fingerprint"):
            build.append(f"- Cleaned from a pairs dir with fingerprint `{inp['fingerprint']}`")
        parts.append("### Build\n\n" + "\n".join(build))
        if self.m.get("params"):
            parts.append("Parameters, every one as recorded:\n\n" + code_block(dump_yaml(self.m["params"]), "yaml"))
        counts = self.m.get("counts") or {}
        reasons = counts.get("exclusion_reasons") or {}
        if counts:
            facts = [f"{label}: {counts[key]:,}" for key, label in (("read", "Rows read"), ("written", "written"),
                                                                     ("excluded", "excluded with a reason"))
                     if isinstance(counts.get(key), int)]
            line = "; ".join(facts) + "."
            if reasons:
                line += (" Every excluded row is recorded with its step and reason in the `exclusions/` Parquet files of "
                         "the pairs dir (uploaded to the Hub only with `codequarry publish --include-exclusions`).\n\n")
                line += md_table(["step / reason", "rows"], [(k, f"{v:,}") for k, v in
                                                           sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))])
            parts.append(line[0].upper() + line[1:])
        if self.m.get("recipe") is not None:
            parts.append("### Cleaning recipe\n\nEvery step with every parameter, as run:\n\n"
                         + code_block(dump_yaml(self.m["recipe"]), "yaml"))
        if self.steps:
            parts.append(self._steps_section())
        return "\n\n".join(parts)

    def _steps_section(self) -> str:
        rows = []
        for i, s in enumerate(self.steps, 1):
            n_in, kept, excl = s.get("in"), s.get("kept"), s.get("excluded")
            reasons = s.get("reasons") or {}
            top = ", ".join(f"{k}: {v:,}" for k, v in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))[:4])
            if len(reasons) > 4:
                top += f", … ({len(reasons) - 4} more)"
            rows.append([str(i), f"`{s.get('name')}`", s.get("kind", "–"), fmt_int(n_in), fmt_int(kept),
                         fmt_int(excl), pct(excl or 0, n_in or 0), top or "–"])
        text = "### Rows removed per step\n\n" + md_table(
            ["#", "step", "kind", "in", "kept", "excluded", "excluded %", "reasons"], rows, "rllrrrrl")
        summaries = [f"- `{s.get('name')}`: `{json.dumps(s['summary'], sort_keys=True, ensure_ascii=False, default=str)}`"
                     for s in self.steps if s.get("summary") not in (None, {}, [])]
        if summaries:
            text += "\n\nStep summaries, as recorded:\n\n" + "\n".join(summaries)
        files = report_files(self.pairs)
        images = sorted((f for f in files if f.lower().endswith(IMAGE_SUFFIXES)),
                        key=lambda f: (not f.lower().endswith(".png"), files.index(f)))
        if images:
            text += f"\n\n![Rows removed by each cleaning step]({images[0]})"
        others = [f for f in files if f != (images[0] if images else None)]
        if others:
            text += "\n\nCleaning report: " + ", ".join(f"[{f}]({f})" for f in others) + "."
        if not images:
            text += "\n\n(The cleaning report's plot is not in the folder, so it is not shown here.)"
        return text

    # -- statistics --------------------------------------------------------------------------
    def _distmd_table(self, attr: str, unit: str) -> str:
        header = ["config", "split", "rows", *(f"p{int(q * 100)}" for q in QUANTILES), "max", "mean"]
        rows = []

        def row(config: str, split: str, d: Distribution) -> list[str]:
            if not d.n:
                return [config, split, "0", *("–" for _ in QUANTILES), "–", "–"]
            return [config, split, f"{d.n:,}", *(fmt_int(d.quantile(q)) for q in QUANTILES), fmt_int(d.max),
                    f"{d.mean:.1f}"]

        for p in self.stats.parts:
            rows.append(row(f"`{p.config}`", p.split, getattr(p, attr)))
        if len(self.stats.parts) > 1:
            rows.append(row("**all**", "all", self.stats.combined(attr)))
        return f"{unit}\n\n" + md_table(header, rows, "ll" + "r" * (len(header) - 2))

    def statistics(self) -> str:
        parts = [
            "Computed from the rows when this card was written. Quantiles are exact (nearest rank); `rows` counts "
            "the rows that have the field.",
            self._distmd_table("query_words", "**Query length** (whitespace-separated tokens):"),
            self._distmd_table("code_lines", "**Code length** (lines):"),
        ]
        if self.stats.combined("code_tokens").n:
            parts.append(self._distmd_table("code_tokens", "**Code length** (CodeSearchNet tokens, `code_tokens`):"))
        if self.stats.has_labels:
            labels = sorted({k for p in self.stats.parts for k in p.labels})
            rows = [[f"`{p.config}`", p.split, *(fmt_int(p.labels.get(k, 0)) for k in labels),
                     fmt_int(p.rows - sum(p.labels.values()))] for p in self.stats.parts]
            parts.append("**Labels** (graded relevance of the code to the query):\n\n"
                         + md_table(["config", "split", *(f"label {k}" for k in labels), "no label"], rows,
                                  "ll" + "r" * (len(labels) + 1)))
        if self.stats.has_query_lang:
            rows = []
            for p in self.stats.parts:
                total = sum(p.query_langs.values())
                top = sorted(p.query_langs.items(), key=lambda kv: (-kv[1], kv[0]))
                shown = ", ".join(f"{k} {pct(v, total)}" for k, v in top[:TOP_QUERY_LANGS])
                if len(top) > TOP_QUERY_LANGS:
                    shown += f", {len(top) - TOP_QUERY_LANGS} others {pct(sum(v for _, v in top[TOP_QUERY_LANGS:]), total)}"
                rows.append([f"`{p.config}`", p.split, f"{total:,}", shown or "–"])
            parts.append("**Query languages** (`query_lang`, as detected by the cleaning step):\n\n"
                         + md_table(["config", "split", "rows", "languages"], rows, "llrl"))
        parts.append(self._duplicates())
        return "\n\n".join(p for p in parts if p)

    def _duplicates(self) -> str:
        lines = []
        for s in self.steps:
            if step_matches(s, "dedup", "duplicate"):
                lines.append(f"- Step `{s.get('name')}` removed {fmt_int(s.get('excluded'))} of "
                             f"{fmt_int(s.get('in'))} rows ({pct(s.get('excluded') or 0, s.get('in') or 0)}).")
        dup = self.stats.dup
        if dup is not None:
            total = self.stats.rows
            lines.append(f"- `dup_cluster`: {dup.annotated_rows:,} rows carry a cluster id in {dup.clusters:,} clusters; "
                         f"{dup.rows_in_multi:,} rows ({pct(dup.rows_in_multi, total)} of all rows) share a cluster with "
                         f"another published row ({dup.multi_clusters:,} clusters).")
            lines.append(f"- Clusters spanning more than one split: {dup.cross_split_clusters:,} "
                         f"({dup.cross_split_rows:,} rows)" + (" — possible train/test leakage." if dup.cross_split_clusters
                                                                else "."))
            rows = [[f"`{p.config}`", p.split, f"{p.rows:,}", f"{p.dup_rows:,}", pct(p.dup_rows, p.rows)]
                    for p in self.stats.parts]
            lines.append("\n" + md_table(["config", "split", "rows", "rows in a shared cluster", "rate"], rows, "llrrr"))
        if not lines:
            return ""
        return "**Duplicates:**\n\n" + "\n".join(lines)

    # -- licenses ----------------------------------------------------------------------------
    def licenses(self) -> str:
        lic = self.license
        recorded = ", ".join(f"**{s.get('name')}**: {s.get('license') or 'none recorded'}" for s in self.sources)
        if lic.basis == "override":
            head = f"The publisher declared the license `{lic.names[0]}`."
        elif lic.basis == "sources":
            head = f"The dataset's license comes from its sources ({recorded})."
        elif lic.basis == "sources+rows":
            head = (f"The dataset's license comes from its sources ({recorded}) and, where a source leaves it open, "
                    "from the licenses of the repositories its code comes from (the `license` column).")
        else:
            head = (f"The sources record no specific license ({recorded or 'no sources recorded'}), so the card's license "
                    "is derived from the licenses of the repositories the code comes from (the `license` column).")
        if isinstance(lic.license, list):
            head += (" Parts of the data are under different licenses, so the card lists them all ("
                     + ", ".join(self._license_link(x) for x in lic.license) + "); each row is under its source's terms.")
        elif lic.license == "other" and lic.license_name:
            head += (f" At least one of them is not on the Hub's license list, so the card says `license: other` with "
                     f"`license_name: {lic.license_name}`"
                     + (" (several licenses apply; see the tables below)." if lic.license_name == "multiple" else "."))
        elif lic.license in ("unknown", "other"):
            head += f" Card license: `{lic.license}` (no specific license is known; see the tables below)."
        else:
            head += f" Card license: {self._license_link(lic.license)}."
        parts = [head, NO_LICENSE_NOTE]
        counts = self.stats.licenses()
        total = sum(counts.values())
        if counts:
            rows = [[k if k != NO_LICENSE else "*none recorded*", f"{v:,}", pct(v, total)]
                    for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
            parts.append("**Code licenses** (rows per value of the `license` column):\n\n"
                         + md_table(["license", "rows", "share"], rows))
        repos = self.stats.repos()
        if repos and not (len(repos) == 1 and repos[0][0] == "(none)"):
            rows = [[f"`{r}`", lic_ if lic_ != NO_LICENSE else "*none recorded*", f"{n:,}"] for r, lic_, n in repos[:TOP_REPOS]]
            parts.append(f"**Repositories**: {len(repos):,} in total; the {min(TOP_REPOS, len(repos))} with the most rows:\n\n"
                         + md_table(["repository", "license", "rows"], rows, "llr"))
        return "\n\n".join(parts)

    @staticmethod
    def _license_link(hub_id: str) -> str:
        title, link = license_title(hub_id)
        return f"[{title}]({link})" if link else f"`{hub_id}`"

    # -- uses and limitations ----------------------------------------------------------------
    def uses(self) -> str:
        lines = ["**Intended uses:**",
                 "- training and evaluating natural-language → code retrieval models (bi-encoders, cross-encoders, "
                 "BM25 baselines), e.g. with `codequarry bench --task DIR` or `codequarry train DIR`;",
                 "- studying how queries and code relate across programming languages."]
        if self.stats.has_labels:
            lines.append("- query–code relevance classification, using the `label` column.")
        lines += ["", "**Out of scope:**",
                  "- redistributing or reusing the code while ignoring the license of the repository it comes from;",
                  "- treating scores on docstring queries as scores on real user queries (see the limitations);",
                  "- using the code as vetted, secure or correct: it is real-world code, taken as is."]
        return "\n".join(lines)

    def limitations(self) -> str:
        items: list[str] = []
        kinds = self._query_kinds()
        for k in kinds:
            items.append(self.notes["kinds"][k])
        lang_steps = [s for s in self.steps if step_matches(s, "english", "lang") and s.get("kind", "filter") == "filter"]
        for s in lang_steps:
            params = s.get("params") or {}
            items.append(
                f"The English-only filter `{s.get('name')}` removed {fmt_int(s.get('excluded'))} of {fmt_int(s.get('in'))} "
                f"rows ({pct(s.get('excluded') or 0, s.get('in') or 0)}) with parameters "
                f"`{json.dumps(params, sort_keys=True, ensure_ascii=False)}`. Language detection is unreliable on short or "
                "identifier-heavy text: some English queries were removed, and some non-English or mixed-language queries remain.")
        if not lang_steps and "docstring" in kinds:
            items.append("Queries were not filtered by language: some docstrings are not in English.")
        if self.stats.licenses() and set(self.stats.licenses()) != {NO_LICENSE}:
            none = self.stats.licenses().get(NO_LICENSE, 0)
            items.append("The `license` column holds what the builder recorded for each repository (from the source's "
                         "metadata or by matching the repository's license file); this is a heuristic, not legal advice"
                         + (f", and {none:,} rows ({pct(none, self.stats.rows)}) have no license recorded." if none else "."))
        dedup = [s for s in self.steps if step_matches(s, "dedup", "duplicate")]
        if dedup:
            items.append("Near-duplicates were removed with the parameters in the recipe above; pairs that are similar but "
                         "below the threshold remain.")
        else:
            items.append("No deduplication step was run: real code holds many exact and near duplicates (forks, vendored "
                         "copies, generated code), and duplicates shared between splits inflate test scores.")
        if self.stats.dup is not None and self.stats.dup.cross_split_clusters:
            items.append(f"{self.stats.dup.cross_split_clusters:,} near-duplicate clusters span more than one split.")
        if not any(step_matches(s, "split", "leak") for s in self.steps):
            items.append("The splits are the source's own; codequarry did not re-split them.")
        if self.stats.has_labels and any(0 in p.labels for p in self.stats.parts):
            items.append("Rows with `label` 0 are judged non-relevant pairs: keep `label == 1` when you need positive pairs only.")
        return "\n".join(f"- {i}" for i in items)

    # -- citation ----------------------------------------------------------------------------
    def citation(self) -> str:
        year = self.opts.year or _dt.datetime.now(_dt.timezone.utc).year
        author = self.opts.repo_id.split("/")[0] if self.opts.repo_id and "/" in self.opts.repo_id else "codequarry"
        sources = ", ".join(str(s.get("name")) for s in self.sources) or "local data"
        entry = [f"@misc{{{bib_key(self.pretty_name, year)},",
                 f"  title        = {{{bib_escape(self.pretty_name)}}},",
                 f"  author       = {{{{{bib_escape(author)}}}}},",
                 f"  year         = {{{year}}},"]
        if self.opts.repo_id:
            entry.append(f"  howpublished = {{\\url{{https://huggingface.co/datasets/{self.opts.repo_id}}}}},")
        entry.append(f"  note         = {{Built with codequarry {self.m.get('codequarry_version', '?')} from "
                     f"{bib_escape(sources)}; content fingerprint {self.m.get('fingerprint')}}}")
        entry.append("}")
        parts = ["If you use this dataset, cite it and its sources.", "**This dataset:**",
                 code_block("\n".join(entry), "bibtex")]
        bib = [str(s["citation"]).strip() for s in self.sources if s.get("citation")]
        bib = list(dict.fromkeys(bib))
        if bib:
            parts.append("**Sources:**")
            tex = [b for b in bib if b.startswith("@")]
            plain = [b for b in bib if not b.startswith("@")]
            if tex:
                parts.append(code_block("\n\n".join(tex), "bibtex"))
            parts += [f"- {b}" for b in plain]
        return "\n\n".join(parts)
