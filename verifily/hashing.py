"""SHA-256 helpers and the canonical, length-prefixed chain hash."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path

from verifily.fsutil import open_regular

CHUNK = 1 << 20


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of a byte string."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's content, read once in 1 MiB chunks into a reused buffer.

    Only a regular file is read (fsutil.NotRegularFile otherwise): a hash of what a symbolic
    link points to would vouch for a file outside the artifact.
    """
    h = hashlib.sha256()
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    with open_regular(path, buffering=0) as f:
        while n := f.readinto(buf):
            h.update(view[:n])
    return h.hexdigest()


def chain_hash(file_hashes: Mapping[str, str]) -> str:
    """Hash over (path, hash) pairs sorted by path, each field length-prefixed.

    Length prefixes make the encoding unambiguous: no two different mappings produce the same
    byte stream, so renaming a file or moving bytes between names changes the chain hash.
    """
    h = hashlib.sha256(b"verifily.chain.v1\n")
    for name in sorted(file_hashes):
        for field in (name.encode("utf-8"), file_hashes[name].encode("ascii")):
            h.update(len(field).to_bytes(8, "big"))
            h.update(field)
    return h.hexdigest()


def canonical_json(obj: object) -> bytes:
    """Stable JSON encoding (sorted keys, no spaces) used wherever bytes are hashed."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
