"""The cleaning report: ``report.md`` (per-step table, output sizes, resolved recipe) and a bar plot
(``report.png``, ``report.svg``) of how many rows each step removed. Both are deterministic: no
timestamps, so an interrupted-and-resumed clean writes the same bytes as an uninterrupted one."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any


def step_table(steps: list[Mapping[str, Any]]) -> str:
    """The per-step Markdown table (also printed by the CLI)."""
    lines = ["| # | step | kind | in | kept | excluded | % of in | reasons |", "|---:|---|---|---:|---:|---:|---:|---|"]
    for i, s in enumerate(steps):
        pct = 100.0 * s["excluded"] / s["in"] if s["in"] else 0.0
        reasons = ", ".join(f"{r} {n:,}" for r, n in sorted(s["reasons"].items(), key=lambda kv: (-kv[1], kv[0])))
        lines.append(f"| {i} | {s['name']} | {s['kind']} | {s['in']:,} | {s['kept']:,} | {s['excluded']:,} | "
                     f"{pct:.1f}% | {reasons} |")
    return "\n".join(lines)


def text_table(steps: list[Mapping[str, Any]]) -> str:
    """A plain-text per-step table for terminals."""
    rows = [("step", "kind", "in", "kept", "excluded", "%")]
    for s in steps:
        pct = 100.0 * s["excluded"] / s["in"] if s["in"] else 0.0
        rows.append((s["name"], s["kind"], f"{s['in']:,}", f"{s['kept']:,}", f"{s['excluded']:,}", f"{pct:.1f}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for r in rows:
        out.append("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
    return "\n".join(out)


def render_markdown(manifest: Mapping[str, Any]) -> str:
    from codequarry.pairs import dump_yaml
    from codequarry.schema import split_sort_key

    recipe = manifest.get("recipe", {})
    steps = manifest.get("steps", [])
    inp = manifest.get("input", {})
    written = manifest.get("counts", {}).get("written", 0)
    excluded = manifest.get("counts", {}).get("excluded", 0)
    lines = [f"# Cleaning report: {recipe.get('name', 'recipe')}", ""]
    if recipe.get("description"):
        lines += [recipe["description"], ""]
    lines += [
        f"- input: `{inp.get('path')}` ({inp.get('rows', 0):,} rows, fingerprint `{inp.get('fingerprint')}`)",
        f"- output: {written:,} rows kept, {excluded:,} excluded (every excluded row is in `exclusions/` with its "
        "step and reason); fingerprint `" + str(manifest.get("fingerprint")) + "`",
        "",
        "## Steps",
        "",
        "Per step, rows in = rows kept + rows excluded (checked while cleaning).",
        "",
        step_table(steps),
        "",
        "![rows removed per step](report.png)",
        "",
    ]
    details = [s for s in steps if s.get("summary")]
    if details:
        lines += ["### What the global steps found", ""]
        for s in details:
            lines.append(f"- **{s['name']}**: " + ", ".join(f"{k} {_fmt(v)}" for k, v in s["summary"].items()))
        lines.append("")
    lines += [
        "## Output",
        "",
        "| config | split | rows |",
        "|---|---|---:|",
    ]
    for config, parts in sorted(manifest.get("splits", {}).items()):
        for split, n in sorted(parts.items(), key=lambda kv: split_sort_key(kv[0])):
            lines.append(f"| {config} | {split} | {n:,} |")
    lines += ["", "## Recipe (every parameter)", "", "```yaml", dump_yaml(recipe).rstrip(), "```", ""]
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        import json

        return json.dumps(value, ensure_ascii=False, sort_keys=True) if not isinstance(value, str) else value
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"


def render_plot(manifest: Mapping[str, Any], png: Path, svg: Path) -> None:
    """Horizontal bars: rows each step removed, labelled with the count and the share of its input."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    steps = list(manifest.get("steps", []))
    names = [s["name"] for s in steps][::-1]
    values = [s["excluded"] for s in steps][::-1]
    ins = [s["in"] for s in steps][::-1]
    with matplotlib.rc_context({"svg.hashsalt": "codequarry", "font.size": 9}):
        fig = Figure(figsize=(8, 0.35 * max(3, len(steps)) + 1.2))
        FigureCanvasAgg(fig)
        ax = fig.add_subplot(1, 1, 1)
        bars = ax.barh(range(len(names)), values, color="#c0504d")
        ax.set_yticks(range(len(names)), names)
        ax.set_xlabel("rows excluded")
        title = manifest.get("recipe", {}).get("name", "recipe")
        ax.set_title(f"What each step removed ({title}): {manifest.get('counts', {}).get('written', 0):,} rows kept")
        top = max(values) if values and max(values) > 0 else 1
        ax.set_xlim(0, top * 1.35)
        for bar, v, n in zip(bars, values, ins):
            pct = 100.0 * v / n if n else 0.0
            ax.text(bar.get_width() + top * 0.01, bar.get_y() + bar.get_height() / 2, f"{v:,} ({pct:.1f}%)",
                    va="center", fontsize=8)
        ax.spines[["top", "right"]].set_visible(False)
        fig.tight_layout()
        fig.savefig(png, dpi=110, metadata={"Software": None})
        fig.savefig(svg, metadata={"Date": None, "Creator": None})


def write_report(folder: Path, manifest: Mapping[str, Any]) -> dict[str, str]:
    """Write report.md, report.png and report.svg into ``folder`` (not under data/)."""
    folder = Path(folder)
    (folder / "report.md").write_text(render_markdown(manifest), encoding="utf-8")
    render_plot(manifest, folder / "report.png", folder / "report.svg")
    return {"markdown": "report.md", "png": "report.png", "svg": "report.svg"}
