"""The pairs dir: the one on-disk format between stages (docs/formats.md §1), and the names of its parts.

```
DIR/
  README.md         dataset card (YAML front matter with configs + dataset_info, then prose)
  codequarry.json   manifest: versions, sources, recipe, counts, per config/split rows, files, fingerprint
  data/{config}/{split}-{i:05d}-of-{n:05d}.parquet
  exclusions/{step}-{i:05d}.parquet    every dropped record with its step and reason
```

``datasets.load_dataset(DIR)`` loads it as is (the README declares the configs; when there are
several, a default config ``all`` spans them). The fingerprint is a sha256 over canonical rows
that does not depend on how rows were sharded or how many workers wrote them.

The code is split by job: ``pairs_fingerprint`` (canonical rows and the fingerprint),
``pairs_writer`` (shards and manifest), ``pairs_exclusions`` (dropped records), ``pairs_hub``
(README front matter), ``pairs_reader`` (reading, with the manifest checked) and ``pairs_verify``
(the integrity checks every reader shares); ``codequarry.pairs`` re-exports the public names.
"""

from __future__ import annotations

FORMAT_VERSION = 1
MANIFEST_NAME = "codequarry.json"
DATA_DIR = "data"
EXCLUSIONS_DIR = "exclusions"
DEFAULT_MAX_SHARD_BYTES = 500 * 1024 * 1024  # the Hub's default max shard size (uncompressed Arrow bytes)
DEFAULT_ROW_GROUP_BYTES = 100 * 1024 * 1024  # the dataset viewer reads ~100 MB row groups comfortably
ALL_CONFIG = "all"
UNKNOWN_CONFIG = "unknown"

#: How closely a reader checks a pairs dir against its manifest (``pairs_verify``), weakest first.
VERIFY_LEVELS = ("none", "sha256", "full")
DEFAULT_VERIFY = "sha256"
#: The ``--verify`` help of every command that reads a pairs dir.
VERIFY_HELP = ("check each input pairs dir against its manifest: none (structure only), sha256 (default: every "
               "shard's hash, row count and columns), full (also recompute the content fingerprint)")
