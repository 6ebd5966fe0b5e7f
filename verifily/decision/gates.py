"""The three gates every retrain must pass, computed here once for the asset checks and for the
decision (which re-checks them inside its own run: a check's verdict does not cross runs).

Each gate is a dict: `name`, `passed` (True, False, or None when unknown), a one-line `detail`,
and where there are several, the `problems`.
"""

from __future__ import annotations

import os

from verifily.contamination.report import read_report
from verifily.dataset.verify import verify_artifact
from verifily.errors import DatasetError
from verifily.rundir.validation import verify_run_dir
from verifily.signing.keys import KeyRing
from verifily.signing.keystore import trusted_keys


def dataset_gate(dataset: dict) -> dict:
    """The dataset on disk still hashes to what was verified at the start (`dataset_integrity`)."""
    try:
        now = verify_artifact(dataset["path"], integrity_only=True)
        problems = (
            []
            if now.dataset_hash == dataset["dataset_hash"]
            else [f"dataset hash changed from {dataset['dataset_hash']} to {now.dataset_hash}"]
        )
    except DatasetError as e:
        problems = e.problems
    detail = "; ".join(problems[:3]) if problems else "dataset hash unchanged"
    return {"name": "dataset_integrity", "passed": not problems, "detail": detail,
            "problems": problems}  # fmt: skip


def contamination_gate(report: dict, max_contamination: float) -> dict:
    """Passed when the contaminated fraction of eval records is at most `max_contamination`."""
    frac = float(report["contaminated_fraction"])
    ok = frac <= max_contamination
    detail = (
        f"contaminated fraction {frac:.4f} ({report.get('contaminated_count', '?')} of "
        f"{report.get('eval_records', '?')} eval records) "
        f"{'<=' if ok else 'exceeds'} max_contamination {max_contamination:.4f}"
    )
    return {"name": "contamination", "passed": ok, "detail": detail}


def sealed_contamination_gate(run_dir: str | os.PathLike, max_contamination: float) -> dict:
    """The contamination gate over the report sealed in a (staged) run directory.

    A run without its report fails: an unchecked dataset must not ship.
    """
    report, why = read_report(run_dir)
    if report is None:
        return {"name": "contamination", "passed": False, "detail": why}
    return contamination_gate(report, max_contamination)


def run_contract_gate(run_dir: str | os.PathLike, keys: KeyRing | None = None) -> dict:
    """The published run directory's signed attestation, hashes.json, chain hash and audit
    chain all hold (`keys`: the accepted keys, default this deployment's)."""
    check = verify_run_dir(run_dir, trusted_keys() if keys is None else keys)
    problems = check.problems
    detail = (
        "; ".join(problems[:3])
        if problems
        else f"signed by {check.signed_by}; every file matches the attestation and hashes.json"
    )
    return {"name": "run_contract", "passed": not problems, "detail": detail,
            "problems": problems, "attestation_digest": check.digest}  # fmt: skip
