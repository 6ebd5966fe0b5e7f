"""Approvals over HTTP: the decisions that wait for a person, and taking them (the same core
functions as `verifily approve` / `reject`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from verifily.api.schemas import (
    MODEL_ID_PATTERN,
    Approval,
    ApprovalList,
    ApprovalState,
    ApprovalVerdictBody,
)
from verifily.approvals import review
from verifily.tracking.store import resolve_tracking_settings

router = APIRouter(prefix="/v1/approvals", tags=["approvals"])


@router.get("", response_model=ApprovalList)
def list_approvals(
    model: Annotated[str | None, Query(pattern=MODEL_ID_PATTERN)] = None,
    state: ApprovalState | None = None,
) -> dict:
    """Approvals, oldest first, of a model and/or in a state (those past their time expired)."""
    return {"approvals": review.list_approvals(model, state)}


@router.post("/{approval_id}/approve", response_model=Approval)
def approve(approval_id: str, body: ApprovalVerdictBody) -> dict:
    """Approve: re-verify the run, move `champion` by compare-and-swap (409 when the approval
    is not pending, expired, or the champion moved since the decision; nothing moves then)."""
    return review.approve(
        approval_id, actor=body.actor, reason=body.reason, settings=resolve_tracking_settings()
    )


@router.post("/{approval_id}/reject", response_model=Approval)
def reject(approval_id: str, body: ApprovalVerdictBody) -> dict:
    """Reject: nothing moves; the signed ledger records who and why (409 when not pending)."""
    return review.reject(approval_id, actor=body.actor, reason=body.reason)
