"""Verifying a run directory in full: the signature over its Statement, the signed subjects
against the re-hashed files, the `hashes.json` contract, the audit log's chain and its
agreement with the artifacts. Every file's content is hashed once.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from verifily.fsutil import NotRegularFile
from verifily.hashing import sha256_file
from verifily.rundir.attestation import (
    Attestation,
    AttestationError,
    read_attestation,
    subject_problems,
)
from verifily.rundir.consistency import audit_mismatches
from verifily.rundir.contract import (
    ATTESTATION_FILE,
    CONTRACT_FILE,
    artifact_hashes,
    validate_run_contract,
)
from verifily.signing.keys import KeyRing


@dataclass
class RunCheck:
    """The outcome of verifying one run directory."""

    run_dir: str
    problems: list[str] = field(default_factory=list)
    # None for an unsigned run accepted with allow_unsigned, or when the signature failed.
    attestation: Attestation | None = None
    # The contract's chain hash, as recorded (the event-log anchor compares it too).
    chain_hash: str | None = None

    @property
    def valid(self) -> bool:
        return not self.problems

    @property
    def signed_by(self) -> str | None:
        return self.attestation.keyid if self.attestation else None

    @property
    def digest(self) -> str | None:
        return self.attestation.digest if self.attestation else None

    def reason(self) -> str:
        """The first problem and how many more, for one line of a decision or a log."""
        if not self.problems:
            return "valid"
        more = f" (+{len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        return self.problems[0] + more


def verify_run_dir(
    run_dir: str | os.PathLike, keys: KeyRing, *, allow_unsigned: bool = False
) -> RunCheck:
    """Every problem with a run directory, the signature first.

    A run without `attestation.json` is a problem unless `allow_unsigned` (runs made before
    signing existed); a present but wrongly signed attestation is always one.
    """
    d = Path(run_dir)
    check = RunCheck(str(d))
    if not d.is_dir():
        check.problems.append(f"{d}: run directory does not exist")
        return check
    hashes = artifact_hashes(d)
    signed_files = dict(hashes)
    try:
        signed_files[CONTRACT_FILE] = sha256_file(d / CONTRACT_FILE)
    except (FileNotFoundError, NotRegularFile):
        pass  # validate_run_contract names a missing or linked contract
    if not (allow_unsigned and not (d / ATTESTATION_FILE).exists()):
        try:
            check.attestation = read_attestation(d, keys)
        except AttestationError as e:
            check.problems.append(str(e))
        else:
            check.problems += subject_problems(check.attestation, signed_files)
    check.problems += validate_run_contract(d, hashes)
    check.problems += audit_mismatches(d)
    check.chain_hash = _chain_hash(d)
    return check


def _chain_hash(d: Path) -> str | None:
    try:
        value = json.loads((d / CONTRACT_FILE).read_text()).get("chain_hash")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None
