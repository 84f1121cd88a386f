"""Cost of pairs-dir verification (opening at each --verify level) and of saving/loading a global step's
decision as JSON (decision_store) against pickle.

    python perf/verify_state.py [ROWS]     # default 200000
"""

from __future__ import annotations

import pickle
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from codequarry.cleaners import decision_store
from codequarry.cleaners.near_dedup import Decision, NearDedup
from codequarry.pairs import PairsDir, PairsWriter
from codequarry.pairs_verify import _PASSED


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main(n: int) -> None:
    tmp = Path(tempfile.mkdtemp())
    rnd = random.Random(0)
    rows = [{"id": f"r{i}", "query": f"return the sum of {i} numbers " * 3, "language": "python",
             "code": f"def f{i}(a, b):\n    " + " + ".join(str(rnd.random()) for _ in range(20)) + "\n"}
            for i in range(n)]
    with PairsWriter(tmp / "p", created_by="perf", max_shard_rows=50_000) as w:
        w.write(rows, split="train")
    size = sum(p.stat().st_size for p in (tmp / "p" / "data").rglob("*.parquet"))
    print(f"pairs dir: {n:,} rows, {size / 1e6:.1f} MB of Parquet")
    for level in ("none", "sha256", "full"):
        _PASSED.clear()
        dt, _ = timed(lambda level=level: PairsDir(tmp / "p", verify=level))
        print(f"  open verify={level:<6} {dt * 1000:8.1f} ms")
    dt, _ = timed(lambda: PairsDir(tmp / "p"))
    print(f"  reopen (check remembered) {dt * 1000:8.1f} ms")

    members = {f"r{i}": (f"r{i - i % 3}", 3) for i in range(n)}
    dec = Decision(members=members, short=frozenset(f"s{i}" for i in range(n // 10)), stats={"clusters": n // 3})
    step = NearDedup.__new__(NearDedup)
    s1, _ = timed(lambda: decision_store.save(tmp / "d.json", step, dec))
    l1, back = timed(lambda: decision_store.load(tmp / "d.json", step))
    if back != dec:
        raise SystemExit("the decision did not round-trip")
    s2, _ = timed(lambda: (tmp / "d.pkl").write_bytes(pickle.dumps(dec, protocol=5)))
    l2, _ = timed(lambda: pickle.loads((tmp / "d.pkl").read_bytes()))
    mb = {k: (tmp / k).stat().st_size / 1e6 for k in ("d.json", "d.pkl")}
    print(f"decision with {n:,} members: JSON save {s1:.2f} s, load {l1:.2f} s ({mb['d.json']:.1f} MB); "
          f"pickle save {s2:.2f} s, load {l2:.2f} s ({mb['d.pkl']:.1f} MB)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000)
