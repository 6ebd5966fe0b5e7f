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
def review(context: dg.OpExecutionContext, config: ReviewConfig, mlflow: MLflowTracker) -> None:
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
    # No output (the run-scoped IO manager stores asset outputs only): the verdict is in the
    # store, the ledger and the `decision` partition's observations; the run log says it too.
    context.log.info(
        f"approval {closed['approval_id']} of {closed['model']} {closed['state']} by {actor}"
        + (f": champion is now v{outcome['version']}" if outcome.get("version") else "")
        + f" (ledger entry #{outcome.get('ledger_seq')})"
    )


@dg.job(
    name=REVIEW_JOB,
    description="Approve or reject a pending approval (INVESTIGATE, or a SHIP that needs one).",
    tags={"kind": "approval"},
)
def review_candidate() -> None:
    review()
