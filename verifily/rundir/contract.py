"""The run contract: `hashes.json` over every artifact, and its re-validation.

`hashes.json` proves a run directory is internally consistent; whoever can write the directory
can re-seal it. What proves who made it is `attestation.json`, written after `hashes.json` and
over it (`verifily.rundir.attestation`); neither file is an artifact of the other's list.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from verifily.fsutil import write_json
from verifily.hashing import chain_hash, sha256_file
from verifily.rundir.audit import AUDIT_FILE, audit_problems

CONTRACT_FILE = "hashes.json"
ATTESTATION_FILE = "attestation.json"
SEAL_FILES = (CONTRACT_FILE, ATTESTATION_FILE)
CONTRACT_VERSION = 1
REQUIRED_FILES = (
    "config.yaml",
    "environment.json",
    "run_meta.json",
    "eval/eval_results.json",
    "decision/decision.json",
    "decision/decision.txt",
    "usage.json",
    AUDIT_FILE,
)


def artifact_paths(run_dir: Path) -> list[str]:
    """Every file below run_dir except the two seal files, as sorted POSIX relative paths."""
    found = []
    for dirpath, dirnames, filenames in os.walk(run_dir):
        dirnames.sort()
        for name in filenames:
            rel = Path(dirpath, name).relative_to(run_dir).as_posix()
            if rel not in SEAL_FILES:
                found.append(rel)
    return sorted(found)


def artifact_hashes(run_dir: Path) -> dict[str, str]:
    """{relative path: SHA-256 of its content} of every artifact (the seal files excluded)."""
    return {rel: sha256_file(run_dir / rel) for rel in artifact_paths(run_dir)}


def seal_run_dir(run_dir: str | os.PathLike) -> dict:
    """Hash every artifact and write `hashes.json` with the chain hash; returns its content."""
    d = Path(run_dir)
    files = artifact_hashes(d)
    contract = {"format_version": CONTRACT_VERSION, "files": files, "chain_hash": chain_hash(files)}
    write_json(d / CONTRACT_FILE, contract)
    return contract


def validate_run_contract(
    run_dir: str | os.PathLike, hashes: dict[str, str] | None = None
) -> list[str]:
    """Every problem with a run directory, re-hashing content (never trusting size or mtime).

    Reports missing, added and altered files, a chain hash that does not match, a broken
    audit chain and a run that is not `completed`. An empty list means the contract holds.
    `hashes` are the artifacts' content hashes when the caller has just computed them.
    """
    d = Path(run_dir)
    if not d.is_dir():
        return [f"{d}: run directory does not exist"]
    if hashes is None:
        hashes = artifact_hashes(d)
    problems: list[str] = []
    try:
        contract = json.loads((d / CONTRACT_FILE).read_text())
        recorded = contract["files"]
        if not isinstance(recorded, dict):
            raise TypeError
    except FileNotFoundError:
        problems.append(f"{CONTRACT_FILE}: missing")
        contract, recorded = {}, {}
    except (ValueError, KeyError, TypeError):
        problems.append(f"{CONTRACT_FILE}: unreadable or not a contract")
        contract, recorded = {}, {}
    on_disk = set(hashes)
    for rel in REQUIRED_FILES:
        if rel not in on_disk:
            problems.append(f"{rel}: missing file")
        elif recorded and rel not in recorded:
            problems.append(f"{rel}: not recorded in {CONTRACT_FILE}")
    for rel, expected in sorted(recorded.items()):
        if rel not in on_disk:
            if rel not in REQUIRED_FILES:
                problems.append(f"{rel}: missing file")
            continue
        actual = hashes[rel]
        if actual != expected:
            problems.append(
                f"{rel}: hash mismatch (recorded {expected[:12]}…, content {actual[:12]}…)"
            )
    for rel in sorted(on_disk - set(recorded)):
        if recorded and rel not in REQUIRED_FILES:
            problems.append(f"{rel}: unexpected file, not recorded in {CONTRACT_FILE}")
    if contract and contract.get("chain_hash") != chain_hash(recorded):
        problems.append(f"{CONTRACT_FILE}: chain hash mismatch")
    if AUDIT_FILE in on_disk:
        problems.extend(audit_problems(d / AUDIT_FILE))
    if "run_meta.json" in on_disk:
        try:
            status = json.loads((d / "run_meta.json").read_text()).get("status")
        except (ValueError, AttributeError):
            status = "unreadable"
        if status != "completed":
            problems.append(
                f"run_meta.json: status is {status!r}, not 'completed' (incomplete run)"
            )
    return problems
