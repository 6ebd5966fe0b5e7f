"""The append-only, hash-chained audit log of a run (`audit_log.jsonl`)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

from verifily.fsutil import NotRegularFile, read_regular
from verifily.hashing import canonical_json, sha256_bytes

AUDIT_FILE = "audit_log.jsonl"
GENESIS = "0" * 64


def utc_now() -> str:
    """ISO-8601 UTC timestamp with microseconds."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _last_line(path: Path) -> bytes | None:
    if not path.exists() or path.stat().st_size == 0:
        return None
    return path.read_bytes().rstrip(b"\n").rsplit(b"\n", 1)[-1]


def append_audit(run_dir: str | os.PathLike, event: str, **details: object) -> dict:
    """Append one entry; it carries its sequence number and the SHA-256 of the previous line."""
    path = Path(run_dir) / AUDIT_FILE
    last = _last_line(path)
    seq = 0 if last is None else json.loads(last)["seq"] + 1
    entry = {
        "seq": seq,
        "ts": utc_now(),
        "event": event,
        "details": details,
        "prev_hash": GENESIS if last is None else sha256_bytes(last),
    }
    with open(path, "ab") as f:
        f.write(canonical_json(entry) + b"\n")
        f.flush()
        os.fsync(f.fileno())
    return entry


def audit_problems(path: Path) -> list[str]:
    """Every break in the chain: bad JSON, a sequence gap, a previous-hash mismatch."""
    try:
        data = read_regular(path)
    except FileNotFoundError:
        return [f"{path.name}: missing"]
    except NotRegularFile as e:
        return [f"{path.name}: {e}"]
    problems = []
    prev = None
    for i, line in enumerate(data.split(b"\n")[:-1]):
        try:
            entry = json.loads(line)
            if not isinstance(entry, dict):
                raise ValueError("not an object")
        except (ValueError, RecursionError):
            problems.append(f"{path.name}:{i + 1}: not valid JSON")
            prev = line
            continue
        if entry.get("seq") != i:
            problems.append(
                f"{path.name}:{i + 1}: sequence number {entry.get('seq')} where {i} expected"
            )
        expected = GENESIS if prev is None else sha256_bytes(prev)
        if entry.get("prev_hash") != expected:
            problems.append(
                f"{path.name}:{i + 1}: broken audit chain (prev_hash does not match line {i})"
            )
        prev = line
    if prev is None:
        problems.append(f"{path.name}: empty")
    return problems
