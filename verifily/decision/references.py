"""Other runs a decision refers to: the baseline it compares with and the run whose
contamination report gates it. Only a run whose attestation verifies is ever used: a run
directory anyone could have rewritten must never decide a SHIP.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from verifily.contamination.report import read_report
from verifily.rundir.validation import verify_run_dir
from verifily.signing.keys import KeyRing


@dataclass(frozen=True)
class Reference:
    """A verified run directory's attestation digest and what the decision reads from it,
    or why it cannot be used."""

    run_dir: str
    attestation_digest: str | None = None
    value: dict | None = None
    error: str | None = None

    def ref(self) -> dict:
        """How the decision record names it."""
        return {"run_dir": self.run_dir, "attestation_digest": self.attestation_digest}


def verified_run(run_dir: str | os.PathLike, keys: KeyRing, what: str) -> Reference:
    """A reference to a run that verified (no value read yet), or its error."""
    d = Path(run_dir)
    if not d.is_dir():
        return Reference(str(d), error=f"{what} run directory {d} does not exist")
    check = verify_run_dir(d, keys)
    if not check.valid:
        return Reference(str(d), error=f"{what} run {d} does not verify: {check.reason()}")
    return Reference(str(d), attestation_digest=check.digest)


def load_baseline(base_run_dir: str | os.PathLike, keys: KeyRing) -> Reference:
    """The baseline's eval metrics from a run that verifies, or why it cannot be used."""
    ref = verified_run(base_run_dir, keys, "baseline")
    if ref.error:
        return ref
    d = Path(base_run_dir)
    try:
        metrics = json.loads((d / "eval" / "eval_results.json").read_text())["metrics"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        return Reference(str(d), error=f"baseline eval results in {d} are unreadable: {e}")
    return Reference(str(d), ref.attestation_digest, metrics)


def load_contamination(run_dir: str | os.PathLike, keys: KeyRing) -> Reference:
    """Another run's contamination report, from a run that verifies, or why not."""
    ref = verified_run(run_dir, keys, "contamination")
    if ref.error:
        return ref
    report, why = read_report(run_dir)
    if report is None:
        return Reference(str(run_dir), error=why)
    return Reference(str(run_dir), ref.attestation_digest, report)
