"""The hash-chained promotion ledger: every alias move, who made it, when, why.

Entries use the run audit log's format (`seq`, `ts`, `event`, `details`, `prev_hash`), so
`audit_problems` verifies the chain. Appends hold an exclusive lock, so concurrent retrains
and a rollback cannot fork the chain.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

from verifily.config.locations import local_state_dir
from verifily.hashing import canonical_json, sha256_bytes
from verifily.rundir.audit import GENESIS, audit_problems, utc_now

LEDGER_FILE = "promotions.jsonl"


def ledger_path(state_dir: str | os.PathLike | None = None) -> Path:
    """The ledger file in the local state directory."""
    return Path(state_dir or local_state_dir()) / LEDGER_FILE


def append_promotion(path: str | os.PathLike, event: str, **details: object) -> dict:
    """Append one entry chained to the previous line; refuse to extend a broken chain."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with open(p, "a+b") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        f.seek(0)
        data = f.read()
        if data and not data.endswith(b"\n"):
            raise ValueError(f"{p}: last entry is truncated; repair the ledger before appending")
        last = data.rstrip(b"\n").rsplit(b"\n", 1)[-1] if data else None
        entry = {
            "seq": 0 if last is None else json.loads(last)["seq"] + 1,
            "ts": utc_now(),
            "event": event,
            "details": details,
            "prev_hash": GENESIS if last is None else sha256_bytes(last),
        }
        f.write(canonical_json(entry) + b"\n")
        f.flush()
        os.fsync(f.fileno())
    return entry


def read_ledger(path: str | os.PathLike, model: str | None = None) -> list[dict]:
    """All entries, oldest first; only those of `model` when given."""
    p = Path(path)
    if not p.is_file():
        return []
    entries = [json.loads(line) for line in p.read_bytes().splitlines() if line.strip()]
    return [e for e in entries if model is None or e["details"].get("model") == model]


def ledger_problems(path: str | os.PathLike) -> list[str]:
    """Every break in the chain (an absent ledger has none: nothing was promoted yet)."""
    p = Path(path)
    return audit_problems(p) if p.is_file() else []
