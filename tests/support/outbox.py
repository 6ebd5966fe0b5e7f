"""Waiting on the tracking outbox from tests: for the detached drainer a CLI retrain starts."""

import fcntl
import time
from pathlib import Path

from verifily.tracking.outbox import TrackingOutbox


def wait_drained_or_failed(jobs_db_url: str, timeout: float = 120.0) -> dict:
    """Poll until nothing is pending or the last pass recorded an error; the status then."""
    outbox = TrackingOutbox(jobs_db_url)
    deadline = time.monotonic() + timeout
    while True:
        status = outbox.status()
        if status["pending_writes"] == 0 or status["last_error"]:
            return status
        if time.monotonic() > deadline:
            raise AssertionError(f"the tracking outbox did not drain: {status}")
        time.sleep(0.2)


def wait_no_drainer(state_dir: Path, timeout: float = 120.0) -> None:
    """Wait until no detached drainer holds the state directory's drain lock."""
    lock = state_dir / "tracking-drain.lock"
    if not lock.exists():
        return
    deadline = time.monotonic() + timeout
    with open(lock, "a+b") as f:
        while True:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise AssertionError("a detached drainer is still running") from None
                time.sleep(0.2)


def jobs_db_of(dagster_home: Path) -> str:
    """The jobs database a CLI run with this DAGSTER_HOME uses (the outbox's home)."""
    return f"sqlite:///{dagster_home / 'verifily_jobs.db'}"
