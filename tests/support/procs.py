"""The processes a test's server started, read from /proc (no psutil): to check that stopping
a server stopped everything it started."""

import os
import time
from pathlib import Path


def _parents() -> dict[int, int]:
    out = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
        except OSError:
            continue
        # The command name is in parentheses and may hold spaces: the fields follow the last ')'.
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] != "Z":  # a zombie has exited; only its parent has not reaped it yet
            out[int(d.name)] = int(fields[1])
    return out


def descendants(pid: int) -> set[int]:
    """Every live process below `pid`."""
    parents = _parents()
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        children = {p for p, pp in parents.items() if pp in frontier and p not in found}
        found |= children
        frontier = children
    return found


def alive(pids: set[int]) -> set[int]:
    """Those of `pids` still running (not zombies)."""
    parents = _parents()
    return {p for p in pids if p in parents}


def wait_gone(pids: set[int], timeout: float) -> set[int]:
    """Wait until none of `pids` runs; the ones still running after `timeout`."""
    deadline = time.monotonic() + timeout
    while (left := alive(pids)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def kill_all(pids: set[int]) -> None:
    """Clean-up after a failed check: SIGKILL whatever is left."""
    for p in alive(pids):
        try:
            os.kill(p, 9)
        except OSError:
            pass
