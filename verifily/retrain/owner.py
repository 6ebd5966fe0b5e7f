"""Who executes an in-process run, and whether that process is gone: the host, the PID, and the
process's start time (with the boot id), so a PID reused after a crash or reboot is not taken
for the owner. Only a process on this host can be judged.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


def _boot_id() -> str:
    try:
        return BOOT_ID.read_text().strip()
    except OSError:
        return ""


def _stat(pid: int) -> tuple[str, str] | None:
    """(state, start time in clock ticks since boot) of a process, None when there is none."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: fields follow its last ')'.
    fields = raw[raw.rindex(")") + 2 :].split()
    return fields[0], fields[19]


def process_started(pid: int) -> str:
    """A process's identity beyond its PID: `<boot id>:<start time in clock ticks>`."""
    stat = _stat(pid)
    return f"{_boot_id()}:{stat[1] if stat else ''}"


def this_process() -> tuple[str, str, str]:
    """(host, pid, started) of the calling process, as run tags record them."""
    pid = os.getpid()
    return socket.gethostname(), str(pid), process_started(pid)


def owner_gone(host: str | None, pid: str | None, started: str | None) -> str | None:
    """Why the recorded owner process is gone, or None while it may still be running (or it
    lives on another host, which this process cannot see)."""
    if not host or not pid or not pid.isdigit() or host != socket.gethostname():
        return None
    gone = f"worker process {pid} on {host} is gone"
    boot, _, ticks = (started or "").partition(":")
    if boot and boot != _boot_id():
        return f"{gone} (the host restarted)"
    stat = _stat(int(pid))
    if stat is None:
        return gone
    state, now = stat
    if state in ("Z", "X"):
        return f"{gone} (it exited; its parent has not reaped it)"
    if ticks and now != ticks:
        return f"{gone} (its PID belongs to another process now)"
    return None
