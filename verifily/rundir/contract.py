"""The run contract: `hashes.json` over every artifact, and its re-validation.

`hashes.json` proves a run directory is internally consistent; whoever can write the directory
can re-seal it. What proves who made it is `attestation.json`, written after `hashes.json` and
over it (`verifily.rundir.attestation`); neither file is an artifact of the other's list.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from verifily.fsutil import NotRegularFile, read_regular, write_json
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
    """{relative path: SHA-256 of its content} of every artifact (the seal files excluded).

    A path that is not a regular file (a symbolic link) has no hash here: validation names it.
    """
    hashes = {}
    for rel in artifact_paths(run_dir):
        digest, _why = _content_hash(run_dir / rel)
        if digest is not None:
            hashes[rel] = digest
    return hashes


def seal_run_dir(run_dir: str | os.PathLike) -> dict:
    """Hash every artifact and write `hashes.json` with the chain hash; returns its content."""
    d = Path(run_dir)
    files = artifact_hashes(d)
    contract = {"format_version": CONTRACT_VERSION, "files": files, "chain_hash": chain_hash(files)}
    write_json(d / CONTRACT_FILE, contract)
    return contract


_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def _recorded_files(contract: object) -> tuple[dict[str, str], list[str]]:
    """(the well-formed `files` entries of a contract, a problem for every malformed one).

    A contract is outside data once a run is published: anything in it may have been edited,
    so every value is checked to be a SHA-256 hex digest before it is compared or chained.
    """
    if not isinstance(contract, dict) or not isinstance(contract.get("files"), dict):
        return {}, [f"{CONTRACT_FILE}: unreadable or not a contract (no 'files' object)"]
    good: dict[str, str] = {}
    problems = []
    for rel, digest in contract["files"].items():
        if isinstance(digest, str) and _SHA256_HEX.fullmatch(digest):
            good[rel] = digest
        else:
            shown = repr(digest)[:40]
            problems.append(f"{CONTRACT_FILE}: files[{rel!r}] is {shown}, not a SHA-256 hex digest")
    return good, problems


def _content_hash(path: Path) -> tuple[str | None, str | None]:
    """(sha256, None), or (None, why the file cannot be hashed: a link, not a file)."""
    try:
        return sha256_file(path), None
    except NotRegularFile as e:
        return None, str(e)


def validate_run_contract(
    run_dir: str | os.PathLike, hashes: dict[str, str] | None = None
) -> list[str]:
    """Every problem with a run directory, re-hashing content (never trusting size or mtime).

    Reports missing, added and altered files, a malformed hashes.json, a chain hash that does
    not match, a broken audit chain, a file that is a symbolic link, and a run that is not
    `completed`. An empty list means the contract holds. `hashes` are the artifacts' content
    hashes (`artifact_hashes`) when the caller has just computed them.
    """
    d = Path(run_dir)
    if not d.is_dir():
        return [f"{d}: run directory does not exist"]
    if hashes is None:
        hashes = artifact_hashes(d)
    problems: list[str] = []
    try:
        contract = json.loads(read_regular(d / CONTRACT_FILE))
    except FileNotFoundError:
        contract = None
        problems.append(f"{CONTRACT_FILE}: missing")
    except (NotRegularFile, ValueError) as e:
        contract = None
        problems.append(f"{CONTRACT_FILE}: unreadable or not a contract ({str(e)[:200]})")
    recorded: dict[str, str] = {}
    if contract is not None:
        recorded, malformed = _recorded_files(contract)
        problems += malformed
    on_disk = set(artifact_paths(d))
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
        actual, why = (hashes[rel], None) if rel in hashes else _content_hash(d / rel)
        if why:
            problems.append(f"{rel}: {why}")
        elif actual != expected:
            problems.append(
                f"{rel}: hash mismatch (recorded {expected[:12]}…, content {str(actual)[:12]}…)"
            )
    for rel in sorted(on_disk - set(recorded)):
        if recorded and rel not in REQUIRED_FILES:
            problems.append(f"{rel}: unexpected file, not recorded in {CONTRACT_FILE}")
    if isinstance(contract, dict) and contract.get("chain_hash") != chain_hash(recorded):
        problems.append(f"{CONTRACT_FILE}: chain hash mismatch")
    if AUDIT_FILE in on_disk:
        problems.extend(audit_problems(d / AUDIT_FILE))
    if "run_meta.json" in on_disk:
        try:
            status = json.loads(read_regular(d / "run_meta.json")).get("status")
        except (NotRegularFile, ValueError, AttributeError):
            status = "unreadable"
        if status != "completed":
            problems.append(
                f"run_meta.json: status is {status!r}, not 'completed' (incomplete run)"
            )
    return problems
