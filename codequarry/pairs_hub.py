"""Hub metadata of a pairs dir: the README front matter (``configs`` and ``dataset_info``) and its stub card."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import yaml

from codequarry.pairs_layout import ALL_CONFIG, DATA_DIR
from codequarry.schema import split_sort_key


class _NoAliasDumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump_yaml(data: Any) -> str:
    """YAML as the Hub card expects it: key order kept, unicode kept, no anchors/aliases."""
    return yaml.dump(data, Dumper=_NoAliasDumper, sort_keys=False, allow_unicode=True)


def hub_configs(manifest: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The README ``configs`` block: one config per language, plus a default ``all`` when several."""
    splits: Mapping[str, Mapping[str, int]] = manifest.get("splits", {})
    configs = sorted(splits)
    out: list[dict[str, Any]] = []
    if len(configs) > 1:
        all_splits = sorted({s for c in configs for s in splits[c]}, key=split_sort_key)
        out.append({"config_name": ALL_CONFIG, "default": True,
                    "data_files": [{"split": s, "path": f"{DATA_DIR}/*/{s}-*"} for s in all_splits]})
    for i, config in enumerate(configs):
        entry: dict[str, Any] = {"config_name": config}
        if len(configs) == 1 and i == 0:
            entry["default"] = True
        entry["data_files"] = [
            {"split": s, "path": f"{DATA_DIR}/{config}/{s}-*"} for s in sorted(splits[config], key=split_sort_key)
        ]
        out.append(entry)
    return out


def hub_dataset_info(manifest: Mapping[str, Any], schema: pa.Schema) -> list[dict[str, Any]]:
    """The README ``dataset_info`` block: features and split sizes per config (load_dataset checks them).

    Written by ``datasets`` itself (``DatasetInfosDict.to_dataset_card_data``), so the block is exactly
    what ``load_dataset`` reads back; a single config is kept as a one-entry list.
    """
    import datasets
    from datasets.info import DatasetInfosDict
    from huggingface_hub import DatasetCardData

    features = datasets.Features.from_arrow_schema(schema)
    splits: Mapping[str, Mapping[str, int]] = manifest.get("splits", {})
    nbytes: Mapping[str, Mapping[str, int]] = manifest.get("split_bytes", {})
    configs = sorted(splits)

    def info(parts: Mapping[str, tuple[int, int]]) -> datasets.DatasetInfo:
        split_dict = datasets.SplitDict()
        for s, (n, b) in sorted(parts.items(), key=lambda kv: split_sort_key(kv[0])):
            split_dict.add(datasets.SplitInfo(name=s, num_bytes=int(b), num_examples=int(n)))
        return datasets.DatasetInfo(features=features, splits=split_dict,
                                    dataset_size=int(sum(b for _, b in parts.values())))

    infos: dict[str, datasets.DatasetInfo] = {}
    if len(configs) > 1:
        union: dict[str, tuple[int, int]] = {}
        for c in configs:
            for s, n in splits[c].items():
                prev = union.get(s, (0, 0))
                union[s] = (prev[0] + n, prev[1] + nbytes.get(c, {}).get(s, 0))
        infos[ALL_CONFIG] = info(union)
    for c in configs:
        infos[c] = info({s: (n, nbytes.get(c, {}).get(s, 0)) for s, n in splits[c].items()})
    card = DatasetCardData()
    DatasetInfosDict(infos).to_dataset_card_data(card)
    block = card.to_dict().get("dataset_info", [])
    return block if isinstance(block, list) else [block]


def hub_front_matter(manifest: Mapping[str, Any], schema: pa.Schema) -> dict[str, Any]:
    return {"configs": hub_configs(manifest), "dataset_info": hub_dataset_info(manifest, schema)}


def write_readme_stub(path: Path, manifest: Mapping[str, Any], schema: pa.Schema) -> None:
    """A minimal card so the folder loads with ``datasets``; ``codequarry card`` writes the full one."""
    front = hub_front_matter(manifest, schema)
    lines = ["# codequarry pairs", "", f"Created by `{manifest.get('created_by', 'codequarry')}` "
             f"(codequarry {manifest.get('codequarry_version')}).", "",
             "| config | split | rows |", "|---|---|---|"]
    for config, parts in sorted(manifest.get("splits", {}).items()):
        for split, n in sorted(parts.items(), key=lambda kv: split_sort_key(kv[0])):
            lines.append(f"| {config} | {split} | {n:,} |")
    lines += ["", f"Fingerprint: `{manifest.get('fingerprint')}`. Run `codequarry card DIR` for the full dataset card.", ""]
    text = "---\n" + dump_yaml(front) + "---\n\n" + "\n".join(lines)
    (Path(path) / "README.md").write_text(text, encoding="utf-8")

