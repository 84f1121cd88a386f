"""Repository license detection: LICENSE / LICENCE / COPYING / UNLICENSE files → an SPDX id, or None.

A file that declares ``SPDX-License-Identifier: X`` gives X. Otherwise its text is matched
against the characteristic phrases in licenses.yaml: the license that starts first in the file
wins (a LICENSE file often appends the licenses of bundled code after the project's own). A repository with several
license files gets the ids joined with `` OR `` (dual licensing, e.g. ``Apache-2.0 OR MIT``);
GPL next to LGPL of the same version is LGPL (COPYING + COPYING.LESSER). Unknown texts give None.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

_FILE_RE = re.compile(r"^(licen[cs]e|copying|unlicense)([-._ ].*)?$", re.I)
_SPDX_RE = re.compile(r"SPDX-License-Identifier:\s*([A-Za-z0-9.+\- ()]+?)\s*(?:\*/|-->|$)", re.M)
_NORM_RE = re.compile(r"[^a-z0-9]+")
MAX_LICENSE_BYTES = 512 * 1024
SAME_TEXT_CHARS = 1000  # matches starting this close to the first one are variants of the same text


@dataclass(frozen=True)
class Signature:
    id: str
    all: tuple[str, ...]
    any: tuple[str, ...] = ()
    none: tuple[str, ...] = ()

    def position(self, normalized: str) -> int | None:
        """Where the license starts in the text (its first phrase found), or None when it does not match."""
        found = [normalized.find(p) for p in self.all]
        if any(i < 0 for i in found) or any(p in normalized for p in self.none):
            return None
        if self.any:
            hits = [i for i in (normalized.find(p) for p in self.any) if i >= 0]
            if not hits:
                return None
            found += hits
        return min(found) if found else None


def normalize(text: str) -> str:
    """Lower-case, every run of non-alphanumerics one space (so layout, quotes and bullets do not matter)."""
    return " " + _NORM_RE.sub(" ", text.lower()).strip() + " "


@lru_cache(maxsize=1)
def signatures() -> tuple[Signature, ...]:
    import yaml

    data = yaml.safe_load(resources.files("codequarry.builders").joinpath("licenses.yaml").read_text(encoding="utf-8"))
    out = []
    for entry in data:
        out.append(Signature(
            id=entry["id"],
            all=tuple(normalize(p).strip() for p in entry.get("all", [])),
            any=tuple(normalize(p).strip() for p in entry.get("any", [])),
            none=tuple(normalize(p).strip() for p in entry.get("none", [])),
        ))
    return tuple(out)


def identify(text: str) -> str | None:
    """The SPDX id of one license text, or None when no signature matches."""
    m = _SPDX_RE.search(text[:4096])
    if m:
        return m.group(1).strip()
    normalized = normalize(text)
    hits = [(pos, order, sig.id) for order, sig in enumerate(signatures())
            if (pos := sig.position(normalized)) is not None]
    if not hits:
        return None
    first = min(pos for pos, _, _ in hits)
    return min((order, sid) for pos, order, sid in hits if pos < first + SAME_TEXT_CHARS)[1]


def license_files(root: Path) -> list[Path]:
    """License files at the top of a repository, sorted by name (regular files only)."""
    try:
        entries = sorted(root.iterdir(), key=lambda p: p.name)
    except OSError:
        return []
    return [p for p in entries if _FILE_RE.match(p.name) and p.is_file() and not p.is_symlink()]


def detect_license(root: Path) -> str | None:
    """The repository's SPDX license expression from its top-level license files, or None."""
    from codequarry.builders._io import open_regular

    ids: list[str] = []
    for path in license_files(root):
        try:  # opened without following a link swapped in since the listing, never blocking on a FIFO
            with open_regular(path, root=root) as fh:
                text = fh.read(MAX_LICENSE_BYTES).decode("utf-8", "replace")
        except OSError:
            continue
        found = identify(text)
        if found and found not in ids:
            ids.append(found)
    for version in ("3.0", "2.1", "2.0"):
        if f"LGPL-{version}" in ids:
            ids = [i for i in ids if i != f"GPL-{version}" and not (version == "2.1" and i == "GPL-2.0")]
    if not ids:
        return None
    return " OR ".join(sorted(ids))
