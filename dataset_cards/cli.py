"""CLI: ``codequarry card`` and ``codequarry publish`` (thin wrappers over card.py and publish.py)."""

from __future__ import annotations

import argparse
import re

from codequarry import options
from codequarry.dataset_cards.card_options import CardOptions
from codequarry.errors import CodequarryError

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?\s*$", re.I)
_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}


def parse_size(text: str) -> int:
    """Bytes from a size such as '500MB' (decimal), '100MiB' (binary) or '1048576'."""
    m = _SIZE.match(str(text))
    unit = (m.group(2) or "").lower() if m else None
    if not m or unit not in _UNITS:
        raise CodequarryError(f"invalid size {text!r}: use a number of bytes with an optional unit, e.g. 500MB or 100MiB")
    return max(1, int(float(m.group(1)) * _UNITS[unit]))


def _card(args: argparse.Namespace) -> int:
    from codequarry.dataset_cards.card import write_card

    path = write_card(args.dir, **options.values_from_args(CardOptions, args))
    print(f"wrote {path}")
    return 0


def _publish(args: argparse.Namespace) -> int:
    from codequarry.dataset_cards.publish import publish

    sizes = {}
    if args.max_shard_size:
        sizes["max_shard_bytes"] = parse_size(args.max_shard_size)
    if args.row_group_size:
        sizes["row_group_bytes"] = parse_size(args.row_group_size)
    from codequarry.storage import local_pairs_dir

    report = publish(
        local_pairs_dir(args.dir), args.repo_id, private=args.private, revision=args.revision, dry_run=args.dry_run, out=args.out,
        token=args.token, commit_batch=args.commit_batch, **sizes,
        include_exclusions=args.include_exclusions, pretty_name=args.pretty_name, license=args.license,
        layout=args.layout, split=args.split,
    )
    print(report.render())
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "card", help="write the dataset card (README.md) of a pairs dir",
        description="Write the full dataset card of a pairs dir into its README.md: Hub front matter (license, "
                    "languages, task, size, configs, dataset_info) and prose (sources, build parameters, cleaning "
                    "recipe and per-step counts, statistics per language and split, licenses, limitations, BibTeX). "
                    "Options given once are remembered by the card and reused by later runs and by publish.",
    )
    p.add_argument("dir", metavar="DIR", help="pairs dir written by `codequarry build` or `codequarry clean`")
    options.add_arguments(p, CardOptions)
    p.set_defaults(func=_card)

    p = sub.add_parser(
        "publish", help="upload a pairs dir to the Hugging Face Hub",
        description="Verify a pairs dir against its manifest, then upload it as a Hub dataset repo: README card, "
                    "codequarry.json and Parquet shards re-packed to ≤ --max-shard-size with ~--row-group-size row "
                    "groups. Only changed files are sent (re-publishing unchanged data sends no commit), in commits "
                    "of ≤ --commit-batch files; stale shards under data/ are deleted. The token comes from --token, "
                    "HF_TOKEN or `hf auth login`.",
    )
    p.add_argument("dir", metavar="DIR", help="pairs dir to publish")
    p.add_argument("--repo-id", required=True, metavar="ORG/NAME", help="Hub dataset repo to create or update")
    p.add_argument("--private", action="store_true", help="create the repo as private (an existing repo keeps its visibility)")
    p.add_argument("--revision", metavar="REV", help="branch to commit to (created from main if missing; default: main)")
    p.add_argument("--dry-run", action="store_true",
                   help="build the upload folder and print the operations without any network call")
    p.add_argument("--out", metavar="FOLDER", help="write the upload folder here and keep it (must be new or empty; "
                                                   "default: a temporary folder under $TMPDIR, removed afterwards)")
    p.add_argument("--token", help="Hugging Face token (default: HF_TOKEN, then the login saved by `hf auth login`)")
    p.add_argument("--layout", choices=("pairs", "retrieval"), default="pairs",
                   help="pairs: the pairs dir as it is (default); retrieval: one split as corpus / queries / qrels "
                        "configs laid out as the CoIR-Retrieval repos, so MTEB and CoIR load it as it is")
    p.add_argument("--split", help="split to send with --layout retrieval (default: test)")
    p.add_argument("--include-exclusions", action="store_true",
                   help="also upload exclusions/ (every dropped row with its step and reason); without it, "
                        "exclusions/ files left on the Hub by an earlier publish are deleted")
    options.add_arguments(p, CardOptions, exclude=("repo_id",))  # the card's --pretty-name, --license
    p.add_argument("--max-shard-size", metavar="SIZE",
                   help="largest shard in uncompressed Arrow bytes, e.g. 500MB or 256MiB (default 500 MiB, the Hub's limit)")
    p.add_argument("--row-group-size", metavar="SIZE",
                   help="largest Parquet row group in uncompressed Arrow bytes (default 100 MiB, what the viewer reads well)")
    p.add_argument("--commit-batch", type=int, default=100, metavar="N",
                   help="most files per commit (default 100, as the Hub recommends)")
    p.set_defaults(func=_publish)
