"""The pairs dir, the one on-disk format between stages: the public names in one place.

The layout is described in ``pairs_layout``; each job lives in its own module (fingerprint,
writer, exclusions, hub metadata, reader, verification) and this module re-exports their public
names, so callers keep importing ``from codequarry.pairs import PairsDir, PairsWriter, ...``.
"""

from __future__ import annotations

from codequarry.pairs_exclusions import EXCLUSION_FIELDS, EXCLUSION_SCHEMA, RAW_LIMIT, ExclusionWriter
from codequarry.pairs_fingerprint import (
    Fingerprinter,
    canonical_rows,
    file_sha256,
    table_fingerprint,
    type_name,
)
from codequarry.pairs_hub import dump_yaml, hub_configs, hub_dataset_info, hub_front_matter, write_readme_stub
from codequarry.pairs_layout import (
    ALL_CONFIG,
    DATA_DIR,
    DEFAULT_MAX_SHARD_BYTES,
    DEFAULT_ROW_GROUP_BYTES,
    EXCLUSIONS_DIR,
    FORMAT_VERSION,
    MANIFEST_NAME,
    UNKNOWN_CONFIG,
)
from codequarry.pairs_reader import PairsDir, compute_fingerprint
from codequarry.pairs_verify import DEFAULT_VERIFY, VERIFY_LEVELS, verify_level
from codequarry.pairs_writer import PairsWriter, SourceInfo, prepare_out_dir, write_manifest

__all__ = [
    "ALL_CONFIG", "DATA_DIR", "DEFAULT_VERIFY", "VERIFY_LEVELS", "DEFAULT_MAX_SHARD_BYTES", "DEFAULT_ROW_GROUP_BYTES", "EXCLUSIONS_DIR",
    "EXCLUSION_FIELDS", "EXCLUSION_SCHEMA", "FORMAT_VERSION", "MANIFEST_NAME", "RAW_LIMIT", "UNKNOWN_CONFIG",
    "ExclusionWriter", "Fingerprinter", "PairsDir", "PairsWriter", "SourceInfo", "canonical_rows",
    "compute_fingerprint", "dump_yaml", "file_sha256", "hub_configs", "hub_dataset_info", "hub_front_matter",
    "prepare_out_dir", "table_fingerprint", "type_name", "verify_level", "write_manifest", "write_readme_stub",
]
