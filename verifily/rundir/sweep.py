"""Staging directories of retrains that were killed outright: found by their owner, swept once
their run has ended."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from verifily.rundir.audit import AUDIT_FILE
from verifily.rundir.layout import discard_staging, staging_dirs


def staging_owner(staging: Path) -> str | None:
    """The run id a staging directory's first audit entry names (None when unreadable)."""
    try:
        with open(staging / AUDIT_FILE, "rb") as f:
            first = json.loads(f.readline())
        run_id = first["details"]["run_id"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return run_id if isinstance(run_id, str) else None


def sweep_abandoned(output_dir: str | os.PathLike, run_ended: Callable[[str], bool]) -> list[Path]:
    """Remove staging directories whose run has ended: they can never be published.

    A retrain killed outright (an evicted pod, SIGKILL) cannot clean up after itself, and a
    retried step stages into a new directory. A directory is only removed once `run_ended`
    says its owning run is over; one whose owner is unknown is left alone.
    """
    removed = []
    for staging in staging_dirs(output_dir):
        owner = staging_owner(staging)
        if owner is not None and run_ended(owner):
            discard_staging(staging)
            removed.append(staging)
    return removed
