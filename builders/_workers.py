"""Worker processes for builders: an ordered, bounded ``map`` whose workers die with their parent.

Results come back in job order with at most ~3 jobs per worker in flight, so output does not
depend on the worker count and memory does not grow with the input. Each worker runs a watchdog
thread: when the process that started the pool goes away (even by ``kill -9``, which runs no
clean-up), the worker exits within about half a second instead of parsing on as an orphan.
``clean`` has the same guard (cleaners/local_engine.py).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

_POLL_SECONDS = 0.5


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def watch_parent(owner: int) -> None:
    """Pool initializer: exit this worker as soon as ``owner`` (the building process) or our parent is gone.

    With the ``forkserver`` start method the direct parent is the fork server, which itself exits
    when ``owner`` dies; checking both catches either order.
    """
    parent = os.getppid()

    def watchdog() -> None:
        while True:
            if os.getppid() != parent or not _alive(owner):
                os._exit(1)
            time.sleep(_POLL_SECONDS)

    threading.Thread(target=watchdog, name="codequarry-watchdog", daemon=True).start()


def ordered_map(func: Any, jobs: Iterable[Any], workers: int) -> Iterator[Any]:
    """``map(func, jobs)`` in order over ``workers`` processes, with at most ~3 jobs per worker in flight."""
    if workers <= 1:
        yield from map(func, jobs)
        return
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    # fork is quickest, but forking a threaded process is deprecated from Python 3.12 on
    methods = mp.get_all_start_methods()
    method = "fork" if "fork" in methods and sys.version_info < (3, 12) else (
        "forkserver" if "forkserver" in methods else "spawn")
    window: deque[Any] = deque()
    with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context(method), initializer=watch_parent,
                             initargs=(os.getpid(),)) as pool:
        for job in jobs:
            window.append(pool.submit(func, job))
            if len(window) >= workers * 3:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()
