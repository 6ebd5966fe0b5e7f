"""`attestation.json`: an in-toto Statement over every file of a run directory (the artifacts
and `hashes.json`), its predicate the SLSA provenance of the decision, in a DSSE envelope signed
with Ed25519. Re-sealing `hashes.json` after an edit is possible for anyone who can write the
directory; re-signing this is possible only with the key.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from verifily.hashing import canonical_json, sha256_file
from verifily.rundir.contract import ATTESTATION_FILE, CONTRACT_FILE
from verifily.signing.dsse import EnvelopeError
from verifily.signing.keys import KeyRing, Signer
from verifily.signing.statement import (
    make_statement,
    open_statement,
    sign_statement,
    subject_digests,
)

# The predicate: SLSA Provenance v1 (what was decided, from which inputs, by which code).
PREDICATE_TYPE = "https://slsa.dev/provenance/v1"


@dataclass(frozen=True)
class Attestation:
    """What a run directory's signature says: the Statement's digest, its signer, its content."""

    digest: str
    keyid: str
    statement: dict


def attest_run_dir(
    run_dir: str | os.PathLike, artifacts: dict[str, str], predicate: dict, signer: Signer
) -> Attestation:
    """Sign a Statement over `artifacts` (path -> SHA-256, from sealing) and `hashes.json`, and
    write it as `attestation.json` into the staged run directory (publishing fsyncs it with
    every other file before the rename makes the run visible)."""
    d = Path(run_dir)
    subjects = {**artifacts, CONTRACT_FILE: sha256_file(d / CONTRACT_FILE)}
    statement = make_statement(subjects, PREDICATE_TYPE, predicate)
    signed = sign_statement(statement, signer)
    (d / ATTESTATION_FILE).write_bytes(canonical_json(signed.envelope) + b"\n")
    return Attestation(signed.digest, signed.keyid, statement)


class AttestationError(Exception):
    """A run directory's attestation is missing, malformed or not signed by an accepted key."""


def read_attestation(run_dir: str | os.PathLike, keys: KeyRing) -> Attestation:
    """The run directory's verified attestation; AttestationError saying why there is none.

    This checks the signature only; `subject_problems` compares the subjects with the files.
    """
    p = Path(run_dir) / ATTESTATION_FILE
    try:
        envelope = json.loads(p.read_bytes())
    except FileNotFoundError:
        raise AttestationError(f"{ATTESTATION_FILE}: missing (the run is unsigned)") from None
    except (OSError, ValueError) as e:
        raise AttestationError(f"{ATTESTATION_FILE}: unreadable: {e}") from None
    try:
        v = open_statement(envelope, keys, PREDICATE_TYPE)
    except EnvelopeError as e:
        raise AttestationError(f"{ATTESTATION_FILE}: {e}") from None
    return Attestation(v.digest, v.keyid, v.statement)


def subject_problems(attestation: Attestation, on_disk: dict[str, str]) -> list[str]:
    """Every difference between the signed subjects and the files now in the directory
    (`on_disk`: path -> SHA-256 of every file but `attestation.json`): no more, no fewer."""
    signed = subject_digests(attestation.statement)
    problems = [
        f"{rel}: content does not match the signed attestation (signed "
        f"{signed[rel][:12]}…, content {on_disk[rel][:12]}…)"
        for rel in sorted(set(signed) & set(on_disk))
        if signed[rel] != on_disk[rel]
    ]
    problems += [
        f"{rel}: in the signed attestation, missing from the directory"
        for rel in sorted(set(signed) - set(on_disk))
    ]
    problems += [
        f"{rel}: not in the signed attestation (added after signing)"
        for rel in sorted(set(on_disk) - set(signed))
    ]
    return problems
