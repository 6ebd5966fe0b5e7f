"""The response object every entry point returns for a finished retrain, read from its run
directory."""

from __future__ import annotations

import json
import os
from pathlib import Path


def response(run_dir: str | os.PathLike, run_id: str | None, contract: dict | None = None) -> dict:
    """The response object every entry point returns for a finished retrain."""
    d = Path(run_dir)
    decision = json.loads((d / "decision" / "decision.json").read_text())
    results = json.loads((d / "eval" / "eval_results.json").read_text())
    if contract is None:
        contract = json.loads((d / "hashes.json").read_text())
    files = list(contract["files"]) if contract else []
    seals = [f for f in ("hashes.json", "attestation.json") if (d / f).exists()]
    return {
        "run_dir": str(d.resolve()),
        "decision": decision["recommendation"],
        "exit_code": decision["exit_code"],
        "eval_summary": {**results["metrics"], "primary_metric": decision["primary_metric"]},
        "artifacts": {rel: str((d / rel).resolve()) for rel in [*files, *seals]},
        "run_id": run_id,
        "reasons": [f["message"] for f in decision["rules_fired"]],
    }


def run_outcome(run_dir: str | os.PathLike) -> dict:
    """What a finished retrain decided and scored, from its run directory: the recommendation
    (decision/decision.json) and every numeric metric (eval/eval_results.json)."""
    d = Path(run_dir)
    decision = json.loads((d / "decision" / "decision.json").read_text())
    results = json.loads((d / "eval" / "eval_results.json").read_text())
    metrics = {
        k: float(v)
        for k, v in results["metrics"].items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    }
    return {"decision": decision["recommendation"], "metrics": metrics}
