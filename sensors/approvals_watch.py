"""Pending approvals in the Dagster UI: each approval opened, approved, rejected or expired (from
any entry point) becomes an observation on its model's `decision` partition, and approvals past
their time are expired here (with their signed ledger entries and webhooks)."""

import dagster as dg

from resources.jobs_db import JobsDatabase
from verifily.approvals.approval_store import ApprovalStore
from verifily.approvals.review import expire_due
from verifily.tags import MODEL_PARTITIONS_NAME

APPROVALS_INTERVAL_SECONDS = 5


def approval_observation(a: dict) -> dg.AssetObservation:
    """What the `decision` partition shows about one approval."""
    reasons = "\n".join(f"- **{r['rule']}**: {r['message']}" for r in a["reasons"]) or "-"
    return dg.AssetObservation(
        asset_key=dg.AssetKey("decision"),
        partition=a["model_id"],
        metadata={
            "approval_id": a["approval_id"],
            "approval_state": a["state"],
            "recommendation": a["recommendation"],
            "reasons": dg.MetadataValue.md(reasons),
            "run_dir": dg.MetadataValue.path(a["run_dir"]),
            "opened_at": a["opened_at"],
            "expires_at": a["expires_at"],
            "decided_by": str(a["actor"] or "none"),
            "decision_reason": str(a["reason"] or "none"),
            # How to take it: the launchpad of review_candidate, or the CLI.
            "review": (
                f"launch review_candidate with approval_id {a['approval_id']}, or "
                f"`verifily approve|reject {a['approval_id']} --reason ...`"
            ),
        },
    )


@dg.sensor(
    name="approvals_watch",
    minimum_interval_seconds=APPROVALS_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Show every approval change on its model's decision partition; expire old ones.",
)
def approvals_watch(context: dg.SensorEvaluationContext, jobs_db: JobsDatabase):
    """Cursor: the last `changed_at` reported; only newer changes are reported."""
    store = ApprovalStore(jobs_db.url)
    expired = expire_due(store)
    changed = store.changed_since(context.cursor or None)
    if not changed:
        return dg.SkipReason(
            f"no approval changed since {context.cursor or 'the start'}"
            + (f"; expired {', '.join(expired)}" if expired else "")
        )
    events = [
        approval_observation(a)
        for a in changed
        if context.instance.has_dynamic_partition(MODEL_PARTITIONS_NAME, a["model_id"])
    ]
    return dg.SensorResult(asset_events=events, cursor=changed[-1]["changed_at"])
