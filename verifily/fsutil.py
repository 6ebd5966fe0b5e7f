"""Durable file writes: write, fsync, rename."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path


def write_bytes_durable(path: Path, data: bytes) -> None:
    """Write bytes to path through a temporary sibling, fsync it, then rename into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # A unique temporary name: threads of one process may write the same path at once.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    try:
        os.fchmod(fd, 0o644)  # mkstemp's 0600 would hide run artifacts from other readers
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_json(path: Path, obj: object) -> None:
    """Pretty, key-sorted JSON, written durably, ending with a newline."""
    write_bytes_durable(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


def fsync_dir(path: Path) -> None:
    """fsync a directory so renames and new entries inside it survive a crash."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(root: Path) -> None:
    """fsync every file and directory below root (bottom-up), then root itself."""
    for dirpath, _dirnames, filenames in os.walk(root, topdown=False):
        for name in filenames:
            fd = os.open(os.path.join(dirpath, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_dir(Path(dirpath))
