"""Durable file writes (write, fsync, rename), and reading input files without following links."""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import stat
import tempfile
from pathlib import Path
from typing import cast

from verifily.errors import InputError


class NotRegularFile(InputError):
    """An input file that is a symbolic link, a directory or a device: never read through."""


def open_regular(path: str | os.PathLike, buffering: int = -1) -> io.BufferedIOBase:
    """Open an input file for reading in binary mode, refusing anything but a regular file.

    O_NOFOLLOW refuses a symbolic link as the last path component, so a link planted inside a
    dataset or run directory cannot make a reader (or a server, on a request's behalf) read a
    file elsewhere; fstat after opening refuses directories, FIFOs and devices.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise NotRegularFile(
                f"{path}: is a symbolic link; input files must be regular files"
            ) from None
        raise
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = "a directory" if stat.S_ISDIR(mode) else "not a regular file"
            raise NotRegularFile(f"{path}: is {kind}; input files must be regular files")
        os.set_blocking(fd, True)
        # buffering=0 gives a FileIO; both it and a BufferedReader read, readinto and close.
        return cast(io.BufferedIOBase, open(fd, "rb", buffering=buffering))
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: str | os.PathLike) -> bytes:
    """The whole content of a regular input file (see open_regular)."""
    with open_regular(path) as f:
        return f.read()


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
