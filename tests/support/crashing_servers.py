"""Servers that crash at a chosen point of a queued job's way to its run, as Dagster's own
sensor tests inject crashes (test_sensor_failure_recovery.py), but from outside the product:
the real `verifily serve` or `dagster-daemon` runs in this process after one of its calls is
wrapped to send the process a signal, once.

Usage: python -m tests.support.crashing_servers POINT SIGNAL -- COMMAND...

  api:accepted      the request is checked; the submission is not stored yet
  api:stored        the submission and its first event are committed; no answer sent yet
  daemon:claimed    a sensor tick claimed the job and returned its run request; no run yet
  daemon:created    the run exists (NOT_STARTED); not yet submitted to the run queue
  daemon:queued     the run is on the run queue (QUEUED); not launched
  daemon:launching  the run is STARTING; its run worker is not started
  daemon:launched   the run worker is started

SIGNAL is KILL (the process is gone at once) or TERM (it shuts down as it does on a stop).
COMMAND is `-m module args...` or a console script's path and its args.
"""

import functools
import os
import runpy
import signal
import sys
import threading

import dagster as dg

from verifily.jobstore.submissions import SubmissionStore

_fired = threading.Event()


def _crash(sig: int) -> None:
    if not _fired.is_set():
        _fired.set()
        sys.stderr.write(f"crashing_servers: sending signal {sig} to {os.getpid()}\n")
        sys.stderr.flush()
        os.kill(os.getpid(), sig)


def _wrap(owner, name: str, sig: int, before: bool) -> None:
    original = getattr(owner, name)

    @functools.wraps(original)
    def wrapper(*args, **kwargs):
        if before:
            _crash(sig)
        result = original(*args, **kwargs)
        if not before:
            _crash(sig)
        return result

    setattr(owner, name, wrapper)


def _launcher_class():
    """The run launcher class of this instance (DefaultRunLauncher here)."""
    with dg.DagsterInstance.get() as instance:
        return type(instance.run_launcher)


POINTS = {
    "api:accepted": lambda: (SubmissionStore, "add", True),
    "api:stored": lambda: (SubmissionStore, "add", False),
    "daemon:claimed": lambda: (dg.DagsterInstance, "create_run", True),
    "daemon:created": lambda: (dg.DagsterInstance, "create_run", False),
    "daemon:queued": lambda: (dg.DagsterInstance, "submit_run", False),
    "daemon:launching": lambda: (_launcher_class(), "launch_run", True),
    "daemon:launched": lambda: (_launcher_class(), "launch_run", False),
}


def main(argv: list[str]) -> None:
    point, sig_name, sep, *command = argv
    assert sep == "--" and point in POINTS, argv
    owner, name, before = POINTS[point]()
    _wrap(owner, name, getattr(signal, f"SIG{sig_name}"), before)
    if command[0] == "-m":
        sys.argv = [command[1], *command[2:]]
        runpy.run_module(command[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv = command
        runpy.run_path(command[0], run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
