"""Opening, approving, rejecting and expiring approvals: the one implementation every entry
point (CLI, REST, GraphQL, SDK, the `review_candidate` job) calls.

Approving re-verifies the run's attestation and moves `champion` by compare-and-swap on the
champion the decision compared with; rejecting moves nothing. Each change of state is a signed
ledger entry and a webhook event (`approval_opened`, `approval_closed`, `promotion`).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from verifily.approvals.approval_store import (
    APPROVED,
    EXPIRED,
    PENDING,
    REJECTED,
    STATES,
    ApprovalStore,
)
from verifily.config.approval_policy import run_policy
from verifily.decision.rules import INVESTIGATE, SHIP
from verifily.errors import Conflict, InputError, NotFound
from verifily.jobstore.events import event_time
from verifily.registry.approved import approve_move, record_verdict
from verifily.registry.ledger import ledger_path
from verifily.rundir.validation import verify_run_dir
from verifily.signing.keys import KeyRing, Signer
from verifily.signing.keystore import trusted_keys
from verifily.tracking.store import TrackingSettings
from verifily.webhooks.emit import notify

MAX_REASON = 2000


def needs_approval(recommendation: str, require_approval: bool) -> bool:
    """INVESTIGATE always waits for a person; SHIP too where the pipeline says so."""
    return recommendation == INVESTIGATE or (recommendation == SHIP and require_approval)


def public(approval: dict) -> dict:
    """An approval as every entry point shows it."""
    return {
        "approval_id": approval["approval_id"],
        "model": approval["model_id"],
        "state": approval["state"],
        "recommendation": approval["recommendation"],
        "reasons": approval["reasons"],
        "run_dir": approval["run_dir"],
        "attestation_digest": approval["attestation_digest"],
        "champion": approval["champion"],
        "dagster_run_id": approval["dagster_run_id"],
        "opened_at": approval["opened_at"],
        "expires_at": approval["expires_at"],
        "closed_at": approval["closed_at"],
        "actor": approval["actor"],
        "reason": approval["reason"],
        "outcome": approval["outcome"],
    }


def open_for_run(
    run_dir: str | Path,
    *,
    opened_by: str,
    store: ApprovalStore | None = None,
    ledger: Path | None = None,
    signer: Signer | None = None,
    keys: KeyRing | None = None,
    now: datetime | None = None,
) -> dict | None:
    """Open the approval a published run's decision calls for (None when it calls for none).
    Opening twice for one run returns the approval opened first."""
    d = Path(run_dir)
    decision = json.loads((d / "decision" / "decision.json").read_text())
    rec = decision["recommendation"]
    policy = run_policy(d)
    if not needs_approval(rec, policy.require_approval):
        return None
    meta = json.loads((d / "run_meta.json").read_text())
    check = verify_run_dir(d, trusted_keys() if keys is None else keys)
    if not check.valid:
        # Nothing a person could approve: the promotion refuses such a run too.
        return None
    store = store or ApprovalStore()
    approval, new = store.open(
        model_id=meta["project_id"],
        run_dir=str(d),
        attestation_digest=str(check.digest),
        recommendation=rec,
        reasons=[
            {"rule": f["rule"], "outcome": f["outcome"], "message": f["message"]}
            for f in decision.get("rules_fired") or []
        ],
        champion=decision.get("champion"),
        ttl_hours=policy.ttl_hours,
        dagster_run_id=meta.get("dagster_run_id"),
        now=now,
    )
    if new:
        why = "; ".join(r["message"] for r in approval["reasons"]) or f"{rec} needs approval"
        record_verdict(
            approval,
            "approval_opened",
            actor=opened_by,
            reason=why,
            ledger=ledger or ledger_path(),
            signer=signer,
            expires_at=approval["expires_at"],
        )
        notify("approval_opened", public(approval))
    return public(approval)


def _reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise InputError("reason: a reason is required (say why, it goes into the signed ledger)")
    if len(text) > MAX_REASON:
        raise InputError(f"reason: at most {MAX_REASON} characters, got {len(text)}")
    return text


def _actor(actor: str | None) -> str:
    text = (actor or "").strip()
    if not text:
        raise InputError("actor: who takes the decision is required")
    if len(text) > 200:
        raise InputError(f"actor: at most 200 characters, got {len(text)}")
    return text


def _pending(store: ApprovalStore, approval_id: str, ledger: Path, signer, now) -> dict:
    approval = store.get(approval_id)
    if approval is None:
        raise NotFound(f"approval {approval_id!r} does not exist")
    now_text = event_time(now or datetime.now(UTC))
    if approval["state"] == PENDING and approval["expires_at"] <= now_text:
        _expire(store, approval, ledger, signer)
        approval = store.get(approval_id) or approval
    if approval["state"] != PENDING:
        by = f" by {approval['actor']}" if approval["actor"] else ""
        raise Conflict(
            f"approval {approval_id} is already {approval['state']}{by} at "
            f"{approval['closed_at']}; nothing changed"
        )
    return approval


def approve(
    approval_id: str,
    *,
    actor: str,
    reason: str,
    settings: TrackingSettings,
    store: ApprovalStore | None = None,
    ledger: Path | None = None,
    keys: KeyRing | None = None,
    signer: Signer | None = None,
    now: datetime | None = None,
) -> dict:
    """Approve a pending approval: re-verify the run, move `champion` by compare-and-swap,
    record it. Conflict (nothing moved) when it is not pending, expired, or the champion moved."""
    reason, actor = _reason(reason), _actor(actor)
    store = store or ApprovalStore()
    ledger = ledger or ledger_path()
    approval = _pending(store, approval_id, ledger, signer, now)
    # Claimed first: a concurrent reject (or a second approve) now finds it closed.
    if not store.close(approval_id, APPROVED, actor=actor, reason=reason):
        return _pending(store, approval_id, ledger, signer, now)  # raises: someone closed it
    try:
        moved = approve_move(
            settings, approval, actor=actor, reason=reason, ledger=ledger, keys=keys, signer=signer
        )
    except BaseException:
        store.reopen(approval_id, APPROVED)
        raise
    store.set_outcome(approval_id, moved)
    closed = public(store.get(approval_id) or approval)
    notify("approval_closed", closed)
    notify("promotion", {**moved, "actor": actor, "why": [reason], "approval_id": approval_id})
    return closed


def reject(
    approval_id: str,
    *,
    actor: str,
    reason: str,
    store: ApprovalStore | None = None,
    ledger: Path | None = None,
    signer: Signer | None = None,
    now: datetime | None = None,
) -> dict:
    """Reject a pending approval: nothing moves; a signed ledger entry says who and why."""
    reason, actor = _reason(reason), _actor(actor)
    store = store or ApprovalStore()
    ledger = ledger or ledger_path()
    approval = _pending(store, approval_id, ledger, signer, now)
    if not store.close(approval_id, REJECTED, actor=actor, reason=reason):
        return _pending(store, approval_id, ledger, signer, now)  # raises: someone closed it
    try:
        entry = record_verdict(
            approval, "rejected", actor=actor, reason=reason, ledger=ledger, signer=signer
        )
    except BaseException:
        store.reopen(approval_id, REJECTED)
        raise
    store.set_outcome(approval_id, {"moved": False, **entry})
    closed = public(store.get(approval_id) or approval)
    notify("approval_closed", closed)
    return closed


def _expire(store: ApprovalStore, approval: dict, ledger: Path, signer) -> bool:
    hours = f"by {approval['expires_at']}"
    actor = "verifily (approval expiry)"
    if not store.close(
        approval["approval_id"], EXPIRED, actor=actor, reason=f"not decided {hours}"
    ):
        return False
    entry = record_verdict(
        approval, "approval_expired", actor=actor, reason=f"not decided {hours}", ledger=ledger,
        signer=signer,
    )  # fmt: skip
    store.set_outcome(approval["approval_id"], {"moved": False, **entry})
    notify("approval_closed", public(store.get(approval["approval_id"]) or approval))
    return True


def expire_due(
    store: ApprovalStore | None = None,
    *,
    ledger: Path | None = None,
    signer: Signer | None = None,
    now: datetime | None = None,
) -> list[str]:
    """Expire every pending approval whose time ran out; returns their ids."""
    store = store or ApprovalStore()
    ledger = ledger or ledger_path()
    return [a["approval_id"] for a in store.due(now) if _expire(store, a, ledger, signer)]


def list_approvals(
    model: str | None = None,
    state: str | None = None,
    *,
    store: ApprovalStore | None = None,
    now: datetime | None = None,
) -> list[dict]:
    """Approvals (of a model, in a state), oldest first; expired ones are marked so first."""
    if state is not None and state not in STATES:
        raise InputError(f"state: must be one of {', '.join(STATES)}, got {state!r}")
    store = store or ApprovalStore()
    expire_due(store, now=now)
    return [public(a) for a in store.list(model, state)]
