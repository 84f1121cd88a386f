"""One reader per upstream release, shared by the builders and the benchmark tasks.

Each module here knows one upstream release's files and nothing about what is done with them:
``csn`` (CodeSearchNet's release zips and jsonl.gz, the dedupe-definitions pickles, the Hub copy's
columns), ``cosqa``, ``codexglue`` (AdvTest and WebQueryTest), ``staqc`` and ``beir`` (BEIR/CoIR
folders, read and write). They all open files through one safe layer: ``archive`` (zip/tar members
vetted, never extracted outside a target), ``pickles`` (a restricted, budgeted unpickler) and the
streaming record readers of ``codequarry.builders._io``.

Readers yield records, or a ``Bad`` item for anything unreadable. A builder counts each ``Bad`` as
an exclusion; a benchmark task, which must score exactly the published data, stops at the first
one with ``strict`` (a one-line ``CodequarryError`` naming the file and line).
"""
