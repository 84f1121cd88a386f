"""License detection for `build repos`: LICENSE/COPYING files → SPDX ids by characteristic phrases."""

from __future__ import annotations

import re
import sysconfig
from pathlib import Path

import pytest

from codequarry.builders._licenses import detect_license, identify, signatures

# Short stand-ins holding each license's characteristic sentences (headings and operative clauses).
TEXTS = {
    "MIT": ("Copyright (c) 2024 A\n\nPermission is hereby granted, free of charge, to any person obtaining a copy\n"
            "of this software ... The above copyright notice and this permission notice shall be included in\n"
            "all copies or substantial portions of the Software.\n"),
    "Apache-2.0": "                                 Apache License\n                           Version 2.0, January 2004\n"
                  "                        http://www.apache.org/licenses/\n\n   TERMS AND CONDITIONS FOR USE\n",
    "BSD-3-Clause": ("Redistribution and use in source and binary forms, with or without\nmodification, are permitted "
                     "provided that the following conditions are met:\n* Redistributions of source code must retain the "
                     "above copyright notice ...\n* Neither the name of the copyright holder nor the names of its\n"
                     "  contributors may be used to endorse or promote products derived from\n  this software without "
                     "specific prior written permission.\n"),
    "BSD-2-Clause": ("Redistribution and use in source and binary forms, with or without modification, are permitted "
                     "provided that the following conditions are met:\n1. Redistributions of source code must retain "
                     "the above copyright notice, this list of conditions and the following disclaimer.\n"),
    "GPL-3.0": ("                    GNU GENERAL PUBLIC LICENSE\n                       Version 3, 29 June 2007\n...\n"
                "consider it more useful to permit linking proprietary applications with\nthe library.  If this is what "
                "you want to do, use the GNU Lesser General\nPublic License instead of this License.\n"),
    "GPL-2.0": "                    GNU GENERAL PUBLIC LICENSE\n                       Version 2, June 1991\n",
    "LGPL-2.1": "                  GNU LESSER GENERAL PUBLIC LICENSE\n                       Version 2.1, February 1999\n",
    "AGPL-3.0": "                    GNU AFFERO GENERAL PUBLIC LICENSE\n                       Version 3, 19 November 2007\n",
    "MPL-2.0": "Mozilla Public License Version 2.0\n==================================\n",
    "ISC": ("ISC License\n\nPermission to use, copy, modify, and/or distribute this software for any\npurpose with or "
            "without fee is hereby granted, provided that the above\ncopyright notice and this permission notice appear "
            "in all copies.\n"),
    "0BSD": ("Permission to use, copy, modify, and/or distribute this software for any\npurpose with or without fee is "
             "hereby granted.\n\nTHE SOFTWARE IS PROVIDED \"AS IS\"\n"),
    "Unlicense": "This is free and unencumbered software released into the public domain.\n",
    "GPL-3.0-or-later": ("This program is free software: you can redistribute it and/or modify\nit under the terms of the "
                         "GNU General Public License as published by\nthe Free Software Foundation, either version 3 of "
                         "the License, or\n(at your option) any later version.\n"),
    "BSL-1.0": "Boost Software License - Version 1.0 - August 17th, 2003\n",
}


@pytest.mark.parametrize("spdx", sorted(TEXTS))
def test_identify_each_license(spdx):
    assert identify(TEXTS[spdx]) == spdx


def test_first_license_in_a_file_wins_and_unknown_is_none():
    bundled = TEXTS["BSD-3-Clause"] + "\n" * 5 + "x" * 2000 + "\nThird-party code:\n" + TEXTS["GPL-3.0"]
    assert identify(bundled) == "BSD-3-Clause"
    assert identify("All rights reserved. Do not copy.") is None
    assert identify("/* SPDX-License-Identifier: Apache-2.0 OR MIT */\n" + TEXTS["GPL-2.0"]) == "Apache-2.0 OR MIT"
    assert all(sig.all for sig in signatures())


def test_detect_license_over_repository_files(tmp_path):
    def repo(name, files):
        root = tmp_path / name
        root.mkdir()
        for fname, text in files.items():
            (root / fname).write_text(text)
        return root

    assert detect_license(repo("a", {"LICENSE.md": TEXTS["MIT"]})) == "MIT"
    assert detect_license(repo("b", {"LICENSE-MIT": TEXTS["MIT"], "LICENSE-APACHE": TEXTS["Apache-2.0"]})) == \
        "Apache-2.0 OR MIT"
    lgpl3 = "GNU LESSER GENERAL PUBLIC LICENSE\nVersion 3, 29 June 2007\n"
    assert detect_license(repo("c", {"COPYING": TEXTS["GPL-3.0"], "COPYING.LESSER": lgpl3})) == "LGPL-3.0"
    assert detect_license(repo("d", {"licence.txt": TEXTS["ISC"]})) == "ISC"
    assert detect_license(repo("e", {"README.md": TEXTS["MIT"], "LICENSES.txt.bak": "?"})) is None
    assert detect_license(repo("f", {"UNLICENSE": TEXTS["Unlicense"]})) == "Unlicense"
    assert detect_license(repo("g", {})) is None


def test_real_license_files(stdlib_dir):
    """CPython's own LICENSE, and the dist-info license files of this environment against their declared id."""
    assert detect_license(Path(stdlib_dir)) == "PSF-2.0"
    site = Path(sysconfig.get_paths()["purelib"])
    checked = agreed = 0
    for dist in sorted(site.glob("*.dist-info")):
        meta = dist / "METADATA"
        m = re.search(r"^License-Expression: ([\w.+-]+)\s*$", meta.read_text(errors="replace"), re.M) if meta.exists() \
            else None
        if not m:
            continue
        folder = dist / "licenses" if (dist / "licenses").is_dir() else dist
        if not any(folder.iterdir()):
            continue
        checked += 1
        agreed += detect_license(folder) == m.group(1)
    if checked < 10:
        pytest.skip(f"only {checked} packages here declare a single License-Expression")
    assert agreed / checked >= 0.9, (agreed, checked)
