"""Running servers as children and stopping every one of them, whatever stops us.

A command started in the background by a non-interactive shell inherits SIGINT as *ignored*,
and a process that execs into another server leaves its stopping to that server's own handling
(`dagster dev` ignored both SIGTERM and the inherited SIGINT). So the servers run as children,
each in its own process group, and this process handles SIGTERM, SIGINT and SIGHUP itself
(installing a handler overrides the inherited "ignore"): it sends SIGTERM to every child's group,
so what a child started in turn (code servers, run workers) stops too, and SIGKILL to any group
still alive after the grace period.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
# Leaves time within the 10 s a person or a process manager waits before killing us.
GRACE_SECONDS = 7.0


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def stop_all(procs: Sequence[subprocess.Popen], grace: float = GRACE_SECONDS) -> None:
    """SIGTERM to every child's process group, SIGKILL to what is left after `grace`."""
    for proc in procs:
        _signal_group(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for proc in procs:
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    for proc in procs:
        # Also whatever the child started and left behind in its group.
        _signal_group(proc.pid, signal.SIGKILL)
    for proc in procs:
        proc.wait()


def supervise(
    commands: Mapping[str, Sequence[str]],
    env: Mapping[str, str] | None = None,
    grace: float = GRACE_SECONDS,
) -> int:
    """Run every command until a stop signal arrives or one of them exits, then stop them all.

    Returns the exit code to leave with: 128 + the signal's number, or the exit code of the
    child that ended first (1 if it ended with 0: a server is not meant to end by itself).
    """
    stop = threading.Event()
    received: list[int] = []

    def on_signal(signum, _frame) -> None:
        received.append(signum)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in STOP_SIGNALS}
    procs: dict[str, subprocess.Popen] = {}
    ended: tuple[str, int] | None = None
    try:
        for name, cmd in commands.items():
            if stop.is_set():
                break
            procs[name] = subprocess.Popen(
                list(cmd), env=dict(env) if env is not None else None, start_new_session=True
            )
        while not stop.is_set() and ended is None:
            for name, proc in procs.items():
                if proc.poll() is not None:
                    ended = (name, proc.returncode)
                    sys.stderr.write(f"{name} exited ({proc.returncode}); stopping the rest\n")
                    break
            stop.wait(0.5)
    finally:
        stop_all(list(procs.values()), grace)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if received:
        return 128 + received[0]
    assert ended is not None
    return ended[1] or 1
