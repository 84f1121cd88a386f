"""`build` worker processes must not outlive a parent killed with SIGKILL (which runs no clean-up)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc to find the workers")


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry))
    return found


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def test_workers_exit_when_the_build_is_killed(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    body = "".join(f'def f{i}(x):\n    """Return x plus {i}."""\n    return x + {i}\n\n' for i in range(150))
    for k in range(400):
        (src / f"m{k:03d}.py").write_text(body)
    code = ("import os\nos.environ['CODEQUARRY_PROGRESS'] = '0'\nfrom codequarry.builders import repos\n"
            f"repos.build({str(tmp_path / 'out')!r}, paths=[{str(src)!r}], workers=2)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            workers = _children(proc.pid)
            if workers:
                time.sleep(0.5)  # let them start work
                workers = _children(proc.pid)
                break
            time.sleep(0.05)
        assert workers and proc.poll() is None, "the build ended before its workers could be seen"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_running(w) for w in workers):
            time.sleep(0.1)
        survivors = [w for w in workers if _running(w)]
        assert not survivors, f"workers {survivors} outlived their killed parent"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for w in workers:
            if _running(w):
                os.kill(w, signal.SIGKILL)
