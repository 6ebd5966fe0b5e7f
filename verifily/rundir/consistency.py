"""The audit log against the artifacts it describes: the `evaluated` entry's metrics are the
eval results', the `decided` entry's recommendation and rules are the decision's, and the run
ids and dataset hash agree everywhere. A hash chain proves the log was not reordered; this
proves it tells the same story as the files beside it.
"""

from __future__ import annotations

from pathlib import Path

import orjson

from verifily.rundir.audit import AUDIT_FILE


def _json(d: Path, rel: str) -> dict | None:
    try:
        value = orjson.loads((d / rel).read_bytes())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _entries(d: Path) -> dict[str, list[dict]]:
    by_event: dict[str, list[dict]] = {}
    try:
        lines = (d / AUDIT_FILE).read_bytes().splitlines()
    except OSError:
        return by_event
    for line in lines:
        try:
            e = orjson.loads(line)
        except ValueError:
            continue  # audit_problems names the line
        if isinstance(e, dict) and isinstance(e.get("details"), dict):
            by_event.setdefault(str(e.get("event")), []).append(e["details"])
    return by_event


def _one(by_event: dict[str, list[dict]], event: str, problems: list[str]) -> dict | None:
    found = by_event.get(event, [])
    if len(found) != 1:
        problems.append(f"{AUDIT_FILE}: {len(found)} '{event}' entries, expected exactly 1")
        return None
    return found[0]


def audit_mismatches(run_dir: str | Path) -> list[str]:
    """Every place where the audit log and the artifacts disagree (unreadable artifacts are
    left to the contract check, which names them)."""
    d = Path(run_dir)
    by_event = _entries(d)
    if not by_event:
        return []
    problems: list[str] = []
    results = _json(d, "eval/eval_results.json")
    decision = _json(d, "decision/decision.json")
    meta = _json(d, "run_meta.json")
    evaluated = _one(by_event, "evaluated", problems)
    if evaluated is not None and results is not None:
        if evaluated.get("metrics") != results.get("metrics"):
            problems.append(
                f"{AUDIT_FILE}: 'evaluated' metrics {evaluated.get('metrics')} differ from "
                f"eval/eval_results.json {results.get('metrics')}"
            )
    decided = _one(by_event, "decided", problems)
    if decided is not None and decision is not None:
        rules = [f.get("rule") for f in decision.get("rules_fired") or [] if isinstance(f, dict)]
        if decided.get("recommendation") != decision.get("recommendation"):
            problems.append(
                f"{AUDIT_FILE}: 'decided' {decided.get('recommendation')} differs from "
                f"decision/decision.json {decision.get('recommendation')}"
            )
        elif decided.get("rules") != rules:
            problems.append(
                f"{AUDIT_FILE}: 'decided' rules {decided.get('rules')} differ from "
                f"decision/decision.json {rules}"
            )
    started = _one(by_event, "run_started", problems)
    verified = _one(by_event, "dataset_verified", problems)
    if meta is not None:
        if decision is not None and meta.get("decision") != decision.get("recommendation"):
            problems.append(
                f"run_meta.json: decision {meta.get('decision')} differs from "
                f"decision/decision.json {decision.get('recommendation')}"
            )
        if started is not None and started.get("run_id") != meta.get("dagster_run_id"):
            problems.append(
                f"{AUDIT_FILE}: 'run_started' run id {started.get('run_id')} differs from "
                f"run_meta.json {meta.get('dagster_run_id')}"
            )
        hashes = {verified.get("dataset_hash") if verified else None, meta.get("dataset_hash")}
        if results is not None:
            hashes.add(results.get("dataset_hash"))
        if verified is not None and len(hashes) != 1:
            problems.append(
                f"{AUDIT_FILE}: dataset hash differs between 'dataset_verified', run_meta.json "
                "and eval/eval_results.json"
            )
    return problems
