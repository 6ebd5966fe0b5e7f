"""`review_candidate`: a person's verdict on a pending approval, launched from the launchpad
(approval id, verdict, reason in its config). The same core call as `verifily approve|reject`."""

from typing import Literal

import dagster as dg
from pydantic import Field

from resources.mlflow_tracker import MLflowTracker
from verifily.approvals import review as approvals
from verifily.tags import REVIEW_JOB
from verifily_assets.failures import verifily_failure


class ReviewConfig(dg.Config):
    """The verdict on one pending approval (`verifily approvals` or the `decision` asset's
    observations list them)."""

    approval_id: str = Field(description="The pending approval, e.g. apr-0123456789abcdef")
    verdict: Literal["approve", "reject"] = Field(
        description="approve: champion moves to the candidate; reject: nothing moves"
    )
    reason: str = Field(description="Why (recorded in the signed promotion ledger)")
    actor: str | None = Field(
        default=None, description="Who decides; default: 'dagster ui (run <this run id>)'"
    )


@dg.op(name="review", tags={"kind": "approval"})
def review(
    context: dg.OpExecutionContext, config: ReviewConfig, mlflow: MLflowTracker
) -> dg.Output[dict]:
    """Approve (re-verify the run, compare-and-swap on the champion) or reject the approval."""
    actor = config.actor or f"dagster ui (run {context.run.run_id})"
    with verifily_failure():
        if config.verdict == "approve":
            closed = approvals.approve(
                config.approval_id, actor=actor, reason=config.reason, settings=mlflow.settings()
            )
        else:
            closed = approvals.reject(config.approval_id, actor=actor, reason=config.reason)
    outcome = closed["outcome"] or {}
    context.log.info(f"approval {closed['approval_id']} {closed['state']} by {actor}")
    return dg.Output(
        closed,
        metadata={
            "approval_id": closed["approval_id"],
            "model": closed["model"],
            "state": closed["state"],
            "actor": actor,
            "version": str(outcome.get("version") or "none"),
            "ledger_seq": str(outcome.get("ledger_seq", "none")),
        },
    )


@dg.job(
    name=REVIEW_JOB,
    description="Approve or reject a pending approval (INVESTIGATE, or a SHIP that needs one).",
    tags={"kind": "approval"},
)
def review_candidate() -> None:
    review()
