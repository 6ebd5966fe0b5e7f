"""The signed, hash-chained promotion ledger: every alias move, who made it, when, why.

Each line is a DSSE envelope (Ed25519) of an in-toto Statement: its subject is the attestation
of the run the entry is about (name: the run directory, digest: the attestation's digest), its
predicate the entry: `seq`, `ts`, `event`, `details` and `prev_hash`, the SHA-256 of the
previous line. The chain makes removing, reordering or rewriting lines visible; the signatures
make re-chaining them impossible without the key. Appends hold an exclusive lock on the file, so
concurrent retrains and a rollback cannot fork the chain.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import os
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from verifily.config.locations import local_state_dir
from verifily.errors import VerifilyError
from verifily.hashing import canonical_json, sha256_bytes
from verifily.rundir.audit import GENESIS, utc_now
from verifily.signing.dsse import EnvelopeError
from verifily.signing.keys import KeyRing, Signer
from verifily.signing.statement import make_statement, open_statement, sign_statement

LEDGER_FILE = "promotions.jsonl"
PREDICATE_TYPE = "https://verifily.dev/promotion/v1"


class LedgerError(VerifilyError):
    """The ledger does not verify, or cannot be appended to; the message names the first bad
    entry. Nothing is promoted against a ledger in this state."""


def ledger_path(state_dir: str | os.PathLike | None = None) -> Path:
    """The ledger file in the local state directory."""
    return Path(state_dir or local_state_dir()) / LEDGER_FILE


def _decode(line: bytes) -> dict:
    """The entry in a line, without verifying it (KeyError/ValueError when it is not one).

    orjson: every lookup of a champion decodes the whole ledger, and it is ~3x faster here."""
    envelope = orjson.loads(line)
    statement = orjson.loads(base64.b64decode(envelope["payload"], validate=True))
    entry = statement["predicate"]
    if not isinstance(entry, dict) or not isinstance(entry.get("details"), dict):
        raise ValueError("not a ledger entry")
    return entry


def append_promotion(
    path: str | os.PathLike,
    event: str,
    *,
    signer: Signer,
    subject: tuple[str, str],
    **details: object,
) -> dict:
    """Sign and append one entry chained to the last line; refuse to extend a broken tail.

    `subject` is (run directory, its attestation digest): the run the entry is about.
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with open(p, "a+b") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        f.seek(0)
        data = f.read()
        if data and not data.endswith(b"\n"):
            raise LedgerError(f"{p}: last entry is truncated; repair the ledger before appending")
        last = data.rstrip(b"\n").rsplit(b"\n", 1)[-1] if data else None
        try:
            seq = 0 if last is None else int(_decode(last)["seq"]) + 1
        except (KeyError, ValueError, TypeError, binascii.Error):
            raise LedgerError(f"{p}: last line is not a signed ledger entry") from None
        entry = {
            "seq": seq,
            "ts": utc_now(),
            "event": event,
            "details": details,
            "prev_hash": GENESIS if last is None else sha256_bytes(last),
        }
        statement = make_statement({subject[0]: subject[1]}, PREDICATE_TYPE, entry)
        line = canonical_json(sign_statement(statement, signer).envelope)
        f.write(line + b"\n")
        f.flush()
        os.fsync(f.fileno())
    return {**entry, "signed_by": signer.keyid, "entry_sha256": sha256_bytes(line)}


def _read(p: Path) -> bytes:
    """The ledger's bytes under a shared lock: never half of an entry being appended."""
    with open(p, "rb") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_SH)
        try:
            return f.read()
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


@dataclass
class LedgerCheck:
    """Entries in order (as far as they could be read) and every problem, first bad first."""

    entries: list[dict] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def of(self, model: str) -> list[dict]:
        return [e for e in self.entries if e["details"].get("model") == model]


def verify_ledger(path: str | os.PathLike, keys: KeyRing, model: str | None = None) -> LedgerCheck:
    """Verify the chain of every line and the signature of every entry (only `model`'s entries'
    signatures when given: other models' entries cannot change its champion, and the chain
    still covers them). An absent ledger has no problems: nothing was promoted yet."""
    p = Path(path)
    check = LedgerCheck()
    if not p.is_file():
        return check
    lines = _read(p).split(b"\n")
    if lines[-1]:
        check.problems.append(f"line {len(lines)}: truncated entry (no newline)")
    # The SHA-256 of the previous line: what this line's prev_hash must be.
    prev_digest = GENESIS
    for i, line in enumerate(lines[:-1]):
        digest = sha256_bytes(line)
        where = f"line {i + 1}"
        try:
            entry = _decode(line)
        except (KeyError, ValueError, TypeError, binascii.Error):
            check.problems.append(f"{where}: not a signed ledger entry")
            prev_digest = digest
            continue
        where = f"entry #{entry.get('seq')} (line {i + 1})"
        if model is None or entry["details"].get("model") == model:
            try:
                verified = open_statement(orjson.loads(line), keys, PREDICATE_TYPE)
                entry = {**verified.statement["predicate"], "signed_by": verified.keyid}
            except EnvelopeError as e:
                check.problems.append(f"{where}: {e}")
        if entry.get("seq") != i:
            check.problems.append(f"{where}: sequence number {entry.get('seq')} where {i} expected")
        if entry.get("prev_hash") != prev_digest:
            check.problems.append(
                f"{where}: broken chain (prev_hash does not match line {i}): entries were "
                "removed, reordered or rewritten"
            )
        check.entries.append({**entry, "entry_sha256": digest})
        prev_digest = digest
    return check


def read_ledger(path: str | os.PathLike, model: str | None = None) -> list[dict]:
    """All readable entries, oldest first, unverified (for display next to `verify_ledger`'s
    problems); only those of `model` when given."""
    p = Path(path)
    if not p.is_file():
        return []
    out = []
    for line in _read(p).splitlines():
        try:
            entry = _decode(line)
        except (KeyError, ValueError, TypeError, binascii.Error):
            continue
        if model is None or entry["details"].get("model") == model:
            out.append(entry)
    return out


def ledger_problems(path: str | os.PathLike, keys: KeyRing) -> list[str]:
    """Every problem with the ledger's chain and signatures."""
    return verify_ledger(path, keys).problems
