"""What an attacker who can write a run directory (but lacks the key) does after editing it:
re-seal `hashes.json` with the documented chain-hash formula and re-chain the audit log, so
that everything but the signature is consistent again."""

import json
import subprocess
import sys
from pathlib import Path

from tests.support.examples import REPO
from verifily.hashing import canonical_json, sha256_bytes
from verifily.rundir.audit import GENESIS
from verifily.rundir.contract import seal_run_dir


def rechain_audit(run_dir: Path, metrics: dict | None = None, recommendation: str | None = None):
    """Rewrite audit_log.jsonl with a valid chain, the `evaluated` and `decided` entries made to
    agree with forged metrics or a forged recommendation."""
    path = run_dir / "audit_log.jsonl"
    entries = [json.loads(line) for line in path.read_bytes().splitlines()]
    out, prev = [], None
    for e in entries:
        if e["event"] == "evaluated" and metrics is not None:
            e["details"]["metrics"] = metrics
        if e["event"] == "decided" and recommendation is not None:
            e["details"]["recommendation"] = recommendation
            e["details"]["rules"] = ["all_rules_passed"]
        e["prev_hash"] = GENESIS if prev is None else sha256_bytes(prev)
        line = canonical_json(e)
        out.append(line)
        prev = line
    path.write_bytes(b"\n".join(out) + b"\n")


def reseal(run_dir: Path) -> None:
    """Recompute hashes.json over the directory as it now is."""
    seal_run_dir(run_dir)


def set_metrics(run_dir: Path, f1: float) -> dict:
    """Forge eval_results.json's f1 (and run_meta/decision agree); returns the metrics."""
    p = run_dir / "eval" / "eval_results.json"
    results = json.loads(p.read_text())
    results["metrics"]["f1"] = f1
    p.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    return results["metrics"]


def turn_into_ship(run_dir: Path) -> None:
    """Forge the decision itself: whatever it was, it now says SHIP."""
    p = run_dir / "decision" / "decision.json"
    d = json.loads(p.read_text())
    d["recommendation"], d["exit_code"] = "SHIP", 0
    d["rules_fired"] = [
        {"rule": "all_rules_passed", "outcome": "SHIP", "message": "forged", "values": {}}
    ]
    p.write_text(json.dumps(d, indent=2, sort_keys=True) + "\n")
    meta_path = run_dir / "run_meta.json"
    meta = json.loads(meta_path.read_text())
    meta["decision"] = "SHIP"
    meta_path.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")


def verifily(*args: str, env: dict | None = None, cwd: Path = REPO) -> subprocess.CompletedProcess:
    """The CLI in a subprocess, as an operator runs it."""
    return subprocess.run(
        [sys.executable, "-m", "verifily", *args], capture_output=True, text=True, cwd=cwd, env=env
    )
