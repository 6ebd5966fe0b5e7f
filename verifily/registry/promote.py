"""Registry promotion: SHIP moves `champion`, INVESTIGATE moves `challenger`, every move (and
every rollback) signed into the promotion ledger. The ledger is the source of truth and gives
versions their numbers; MLflow's registry mirrors it through the tracking outbox (a real-mode
version is registered and its alias moved by the drainer, never here), so no MLflow call is on
this path and an MLflow outage never blocks or changes a promotion.

`champion` moves by compare-and-swap: under the model's promotion lock, only while the ledger's
champion is still the one the decision compared with. If it moved meanwhile, the candidate is
re-decided against the new champion's verified results first, and only a SHIP moves it; the
ledger entry names both. So each champion move's `from` is the previous move's `to`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from verifily.config.approval_policy import run_policy
from verifily.decision.rules import INVESTIGATE, SHIP
from verifily.errors import InputError
from verifily.registry.champion import (
    CHALLENGER,
    CHAMPION,
    MOVES,
    Holder,
    LedgerCheck,
    entry_mode,
    holders,
    verified_ledger,
)
from verifily.registry.ledger import append_promotion
from verifily.registry.lock import model_lock
from verifily.registry.redecide import redecide, summary
from verifily.rundir.validation import verify_run_dir
from verifily.signing.keys import KeyRing, Signer
from verifily.signing.keystore import signer as default_signer
from verifily.signing.keystore import trusted_keys
from verifily.tracking.outbox import TrackingOutbox
from verifily.tracking.record import ALIAS, record_registration
from verifily.tracking.record import target as target_of
from verifily.tracking.store import TrackingSettings

ALIAS_FOR = {SHIP: CHAMPION, INVESTIGATE: CHALLENGER}


def next_version(check: LedgerCheck, model: str) -> str:
    """The ledger's number for a model's next registered version (1, 2, ...; one sequence
    for both modes, so a version number names one candidate)."""
    numbers = [
        int(e["details"]["to_version"])
        for e in check.of(model)
        if e["event"] in MOVES and str(e["details"].get("to_version") or "").isdigit()
    ]
    return str(max(numbers, default=0) + 1)


def mirror(
    settings: TrackingSettings,
    key: str | None,
    registration: dict,
    outbox: TrackingOutbox | None = None,
) -> str | None:
    """Queue the registry's copy of a ledger move (real mode only); the error, if queuing
    failed (the ledger stands; `verifily tracking status` shows the mirror is behind)."""
    if not settings.enabled or registration["mode"] != "real" or not key:
        return None
    try:
        record_registration(settings, key, registration, outbox)
    except Exception as e:  # the jobs database: the move is in the ledger regardless
        return f"could not queue the registry mirror: {type(e).__name__}: {e}"
    return None


def _same(current: Holder | None, expected: dict | None) -> bool:
    """Whether the ledger's champion is still the one a decision compared with."""
    if current is None or expected is None:
        return current is None and expected is None
    return (current.version, current.attestation_digest) == (
        str(expected.get("version")),
        expected.get("attestation_digest"),
    )


def promote(
    settings: TrackingSettings,
    run_dir: str | os.PathLike,
    *,
    actor: str,
    ledger: Path,
    keys: KeyRing | None = None,
    signer: Signer | None = None,
    outbox: TrackingOutbox | None = None,
) -> dict:
    """Apply a published retrain's decision to the registry; returns what moved (or why not).

    The champion it expects is the one its decision recorded (`decision.json`'s `champion`).
    A SHIP whose pipeline config says `require_approval: true` moves nothing: it waits for a
    person (verifily.approvals).
    """
    d = Path(run_dir)
    decision = json.loads((d / "decision" / "decision.json").read_text())
    if decision["recommendation"] == SHIP and run_policy(d).require_approval:
        meta = json.loads((d / "run_meta.json").read_text())
        return {
            "moved": False,
            "model": meta["project_id"],
            "alias": CHAMPION,
            "reason": "held for approval (the pipeline config says require_approval: true)",
            "held_for_approval": True,
        }
    return promote_candidate(
        settings,
        d,
        expected=decision.get("champion"),
        actor=actor,
        ledger=ledger,
        keys=keys,
        signer=signer,
        outbox=outbox,
    )


def promote_candidate(
    settings: TrackingSettings,
    run_dir: str | os.PathLike,
    *,
    expected: dict | None,
    actor: str,
    ledger: Path,
    keys: KeyRing | None = None,
    signer: Signer | None = None,
    outbox: TrackingOutbox | None = None,
) -> dict:
    """Compare-and-swap: move the alias the candidate's decision calls for, `champion` only
    while the ledger's champion is `expected` ({version, attestation_digest} or None for "no
    champion"), else after a re-decision against the champion now in place.

    The candidate's run directory must verify. Returns what moved, or why nothing did.
    """
    d = Path(run_dir)
    keys = trusted_keys() if keys is None else keys
    check = verify_run_dir(d, keys)
    meta = json.loads((d / "run_meta.json").read_text())
    decision = json.loads((d / "decision" / "decision.json").read_text())
    model, rec = meta["project_id"], decision["recommendation"]
    mode = str(meta.get("mode") or "mock")
    alias = ALIAS_FOR.get(rec)

    def refused(reason: str, **extra: object) -> dict:
        return {"moved": False, "model": model, "alias": alias, "reason": reason, **extra}

    if not check.valid:
        return refused(f"the candidate run does not verify: {check.reason()}")
    if alias is None:
        return {"moved": False, "model": model, "alias": None, "reason": f"{rec} moves no alias"}
    signer = default_signer() if signer is None else signer
    subject = (str(d), str(check.digest))
    common = {
        "model": model,
        "alias": alias,
        "actor": actor,
        "decision": rec,
        "run_dir": str(d),
        "attestation_digest": check.digest,
        "mode": mode,
        "mlflow_run_id": meta.get("mlflow_run_id"),
        "dagster_run_id": meta.get("dagster_run_id"),
        "tracking_key": meta.get("tracking_key"),
        "compared_with": expected,
    }
    with model_lock(model):
        in_ledger = verified_ledger(model, keys, ledger)
        current = holders(in_ledger, model, mode)
        holder = current.get(alias)
        redecision = None
        if alias == CHAMPION and not _same(holder, expected):
            redecision = redecide(decision, holder, keys)
            if redecision["recommendation"] != SHIP:
                entry = append_promotion(
                    ledger,
                    "champion_kept",
                    signer=signer,
                    subject=subject,
                    **common,
                    from_version=holder.version if holder else None,
                    to_version=None,
                    redecided_against=holder.ref() if holder else None,
                    redecision=summary(redecision),
                    why=[f["message"] for f in redecision["rules_fired"]],
                    tracking_uri=settings.tracking_uri,
                )
                return refused(
                    f"champion moved to {_name(holder)} after the decision; re-decided "
                    f"against it: {redecision['recommendation']}",
                    redecision=summary(redecision),
                    ledger_seq=entry["seq"],
                    ledger_entry_sha256=entry["entry_sha256"],
                )
        previous = holder.version if holder else None
        version = next_version(in_ledger, model)
        why = redecision or decision
        entry = append_promotion(
            ledger,
            "alias_moved",
            signer=signer,
            subject=subject,
            **common,
            from_version=previous,
            to_version=version,
            why=[f["message"] for f in why["rules_fired"]],
            baseline=(why.get("baseline") or {}).get("source"),
            **(
                {
                    "redecided_against": holder.ref() if holder else None,
                    "redecision": summary(redecision),
                }  # fmt: skip
                if redecision
                else {}
            ),
            tracking_uri=settings.tracking_uri,
        )
        # MLflow mirrors the ledger: queued after the ledger records it, under the same lock,
        # so the mirror's rows follow the ledger's order.
        tracking_error = mirror(
            settings,
            meta.get("tracking_key"),
            {
                "model": model,
                "alias": alias,
                "version": version,
                "mode": mode,
                "run_dir": str(d),
                "decision": rec,
                "attestation_digest": check.digest,
                "dagster_run_id": meta.get("dagster_run_id"),
                "ledger": str(ledger),
            },
            outbox,
        )
    return {
        "moved": True,
        "model": model,
        "alias": alias,
        "from_version": previous,
        "version": version,
        "ledger_seq": entry["seq"],
        "ledger_entry_sha256": entry["entry_sha256"],
        **({"redecision": summary(redecision)} if redecision else {}),
        **({"tracking_error": tracking_error} if tracking_error else {}),
    }


def _name(holder: Holder | None) -> str:
    return f"v{holder.version}" if holder else "none"


def rollback(
    settings: TrackingSettings,
    model: str,
    to_version: str,
    *,
    actor: str,
    reason: str,
    ledger: Path,
    keys: KeyRing | None = None,
    signer: Signer | None = None,
    outbox: TrackingOutbox | None = None,
) -> dict:
    """Move `champion` back to an earlier version of the model (the ledger's number), recorded
    in the ledger; MLflow's alias follows through the outbox.

    The version's run directory must verify and be the run the ledger promoted: a run anyone
    could have rewritten never becomes champion.
    """
    keys = trusted_keys() if keys is None else keys
    version = str(to_version).lstrip("v")
    signer = default_signer() if signer is None else signer
    with model_lock(model):
        check = verified_ledger(model, keys, ledger)
        known = [
            e["details"]
            for e in check.of(model)
            if e["event"] == "alias_moved" and str(e["details"].get("to_version")) == version
        ]
        if not known:
            raise InputError(f"model {model!r} has no version {version} in the ledger {ledger}")
        target_entry = known[-1]
        run_dir = target_entry.get("run_dir")
        if not run_dir:
            raise InputError(f"{model} v{version} names no run directory; cannot verify it")
        target = verify_run_dir(run_dir, keys)
        if not target.valid:
            raise InputError(
                f"{model} v{version}: run {run_dir} does not verify ({target.reason()}); "
                "refusing to make it champion"
            )
        if target_entry.get("attestation_digest") != target.digest:
            raise InputError(
                f"{model} v{version}: run {run_dir} is not the run the ledger promoted; "
                "refusing to make it champion"
            )
        mode = entry_mode(target_entry)
        holder = holders(check, model, mode).get(CHAMPION)
        entry = append_promotion(
            ledger,
            "rollback",
            signer=signer,
            subject=(str(run_dir), str(target.digest)),
            model=model,
            alias=CHAMPION,
            mode=mode,
            from_version=holder.version if holder else None,
            to_version=version,
            actor=actor,
            why=[reason],
            decision=None,
            run_dir=str(run_dir),
            attestation_digest=target.digest,
            mlflow_run_id=target_entry.get("mlflow_run_id"),
            tracking_uri=settings.tracking_uri,
        )
        tracking_error = None
        if settings.enabled and mode == "real":
            try:
                (outbox or TrackingOutbox()).record(
                    f"rollback-{entry['seq']}",
                    ALIAS,
                    {"model": model, "alias": CHAMPION, "ledger": str(ledger)},
                    target_of(settings),
                )
            except Exception as e:  # the ledger stands; the mirror is behind
                tracking_error = f"could not queue the registry mirror: {e}"
    return {
        "model": model,
        "from_version": holder.version if holder else None,
        "version": version,
        **entry,
        **({"tracking_error": tracking_error} if tracking_error else {}),
    }
