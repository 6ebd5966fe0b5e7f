"""Run directories: allocated atomically as retrain_NNNN, staged hidden, published by rename."""

from __future__ import annotations

import errno
import fcntl
import os
import re
import shutil
from pathlib import Path

from verifily.errors import InputError
from verifily.fsutil import fsync_dir, fsync_tree

_FINAL = re.compile(r"^retrain_(\d{4,})$")
STAGING_PATTERN = re.compile(r"^\.retrain_(\d{4,})\.partial$")
LOCK_FILE = ".verifily.lock"


def final_name(n: int) -> str:
    return f"retrain_{n:04d}"


def staging_name(n: int) -> str:
    return f".retrain_{n:04d}.partial"


def _highest(out: Path) -> int:
    top = 0
    for name in os.listdir(out):
        m = _FINAL.match(name) or STAGING_PATTERN.match(name)
        if m:
            top = max(top, int(m.group(1)))
    return top


def allocate_run_dir(output_dir: str | os.PathLike) -> tuple[Path, Path]:
    """Reserve the next run number; returns (staging dir, final dir).

    The number is claimed by an exclusive mkdir of the hidden staging directory, under an
    flock of the output directory's lock file, so concurrent retrains (threads, processes)
    never share, skip into or clobber a directory. Nothing under the final name exists until
    `publish_run_dir`.
    """
    out = Path(output_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: output path exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    with open(out / LOCK_FILE, "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            n = max(_highest(out), _recorded(lock)) + 1
            while True:
                staging = out / staging_name(n)
                final = out / final_name(n)
                if final.exists():
                    n += 1
                    continue
                try:
                    os.mkdir(staging)
                except FileExistsError:
                    n += 1
                    continue
                # The lock file remembers the highest number handed out, so a number whose
                # staging dir was swept away (its retrain was killed) is never handed out again.
                lock.truncate(0)
                lock.write(b"%d\n" % n)
                lock.flush()
                return staging, final
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _recorded(lock) -> int:
    """The highest number the lock file says was handed out (0 for an old, empty lock file)."""
    lock.seek(0)
    text = lock.read().strip()
    return int(text) if text.isdigit() else 0


def publish_run_dir(staging: Path, final: Path) -> Path:
    """fsync everything below staging, then rename it to its final name (never over another)."""
    fsync_tree(staging)
    if final.exists():
        raise FileExistsError(errno.EEXIST, "run directory already exists", str(final))
    os.rename(staging, final)
    fsync_dir(final.parent)
    return final


def discard_staging(staging: Path) -> None:
    """Remove an abandoned staging directory (a failed retrain leaves nothing that looks done)."""
    if STAGING_PATTERN.match(staging.name):
        shutil.rmtree(staging, ignore_errors=True)


def staging_dirs(output_dir: str | os.PathLike) -> list[Path]:
    """Unpublished (hidden, staging) run directories under output_dir."""
    out = Path(output_dir)
    if not out.is_dir():
        return []
    return sorted(out / n for n in os.listdir(out) if STAGING_PATTERN.match(n))


def list_run_dirs(output_dir: str | os.PathLike) -> list[Path]:
    """Published run directories under output_dir, in run-number order."""
    out = Path(output_dir)
    if not out.is_dir():
        return []
    runs = [(int(m.group(1)), out / n) for n in os.listdir(out) if (m := _FINAL.match(n))]
    return [p for _, p in sorted(runs)]
