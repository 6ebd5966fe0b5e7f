"""in-toto Statements (attestation framework v1) in DSSE envelopes: what a signature is over.

A Statement binds subjects (name + SHA-256) to a typed predicate. Its digest, the SHA-256 of
the exact payload bytes that were signed, identifies one attestation wherever it is referred
to (the ledger, the Dagster event log, MLflow).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from verifily.hashing import canonical_json, sha256_bytes
from verifily.signing.dsse import EnvelopeError, open_envelope, sign_envelope
from verifily.signing.keys import KeyRing, Signer

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"


def make_statement(subjects: Mapping[str, str], predicate_type: str, predicate: dict) -> dict:
    """A Statement over `{name: sha256 hex}` subjects, sorted by name."""
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": n, "digest": {"sha256": subjects[n]}} for n in sorted(subjects)],
        "predicateType": predicate_type,
        "predicate": predicate,
    }


@dataclass(frozen=True)
class Signed:
    """A signed Statement: the envelope to store, the payload's digest and the signer."""

    envelope: dict
    digest: str
    keyid: str


def sign_statement(statement: dict, signer: Signer) -> Signed:
    """Serialize the Statement canonically and sign it in a DSSE envelope."""
    body = canonical_json(statement)
    return Signed(sign_envelope(body, signer), sha256_bytes(body), signer.keyid)


@dataclass(frozen=True)
class Verified:
    """A Statement whose envelope verified: the Statement, its digest, the verifying key id."""

    statement: dict
    digest: str
    keyid: str


def open_statement(envelope: object, keys: KeyRing, predicate_type: str) -> Verified:
    """The Statement in an envelope signed by an accepted key; EnvelopeError saying why not."""
    opened = open_envelope(envelope, keys)
    try:
        statement = json.loads(opened.body)
    except ValueError:
        raise EnvelopeError("signed payload is not JSON") from None
    if not isinstance(statement, dict) or statement.get("_type") != STATEMENT_TYPE:
        raise EnvelopeError(f"signed payload is not an in-toto Statement ({STATEMENT_TYPE})")
    if statement.get("predicateType") != predicate_type:
        raise EnvelopeError(
            f"predicateType is {statement.get('predicateType')!r}, expected {predicate_type!r}"
        )
    subject_digests(statement)
    return Verified(statement, sha256_bytes(opened.body), opened.keyid)


def subject_digests(statement: dict) -> dict[str, str]:
    """{name: sha256} of the Statement's subjects; EnvelopeError when they are malformed."""
    out: dict[str, str] = {}
    subjects = statement.get("subject")
    if not isinstance(subjects, list) or not subjects:
        raise EnvelopeError("Statement has no subjects")
    for s in subjects:
        digest = s.get("digest") if isinstance(s, dict) else None
        if not isinstance(digest, dict) or not isinstance(digest.get("sha256"), str):
            raise EnvelopeError(f"subject {s!r} has no sha256 digest")
        name = s.get("name")
        if not isinstance(name, str) or name in out:
            raise EnvelopeError(f"subject name {name!r} is missing or repeated")
        out[name] = digest["sha256"]
    return out
