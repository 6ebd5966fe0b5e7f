"""The promotion that follows a decision (in the signed ledger), and the queued end of the
retrain's MLflow run; MLflow's registry follows through the tracking outbox."""

import json
from pathlib import Path

import dagster as dg

from resources.mlflow_tracker import MLflowTracker
from verifily.approvals.review import open_for_run
from verifily.registry.ledger import ledger_path
from verifily.registry.promote import promote
from verifily.tracking.record import record_failed, record_finish
from verifily.webhooks.emit import notify
from verifily_assets.failures import verifily_failure
from verifily_assets.partitions import MODEL_PARTITIONS
from verifily_assets.tracking import mlflow_run_fails_with_step


@dg.asset(
    partitions_def=MODEL_PARTITIONS,
    group_name="decision",
    kinds={"mlflow"},
    owners=["team:ml-platform"],
)
def promotion(
    context: dg.AssetExecutionContext, decision: dict, mlflow: MLflowTracker
) -> dg.MaterializeResult:
    """The model version the decision promoted: SHIP -> champion (compare-and-swap on the
    champion the decision compared with), INVESTIGATE -> challenger and a pending approval
    (a SHIP too where the pipeline config says require_approval: true)."""
    meta = json.loads((Path(decision["run_dir"]) / "run_meta.json").read_text())
    key, tracking_error = meta.get("tracking_key"), meta.get("mlflow_error")
    run_id = meta.get("mlflow_run_id")
    settings = mlflow.settings()
    with (
        verifily_failure(),
        mlflow_run_fails_with_step(context, mlflow, {"mlflow": meta_run(meta)}),
    ):
        result = promote(
            settings,
            decision["run_dir"],
            actor=f"verifily (dagster run {context.run.run_id})",
            ledger=ledger_path(),
        )
        if result.get("tracking_error"):
            context.log.warning(result["tracking_error"])
        if key and not tracking_error:
            try:
                record_finish(settings, key, decision["run_dir"], result)
            except Exception as e:  # the jobs database; the promotion stands
                context.log.warning(f"could not queue the end of MLflow run {key}: {e}")
    if tracking_error and key:
        context.log.warning(f"the MLflow record of this retrain is incomplete: {tracking_error}")
        try:
            record_failed(settings, key, tracking_error)
        except Exception as e:
            context.log.warning(f"could not queue the FAILED close of MLflow run {key}: {e}")
    with verifily_failure():
        approval = open_for_run(
            decision["run_dir"], opened_by=f"verifily (dagster run {context.run.run_id})"
        )
    if approval:
        context.log.info(
            f"{result['model']}: approval {approval['approval_id']} pending until "
            f"{approval['expires_at']} (verifily approve|reject)"
        )
    if result["moved"]:
        warning = notify("promotion", {**result, "run_dir": decision["run_dir"]})
        if warning:
            context.log.warning(warning)
        context.log.info(
            f"{result['model']}: alias {result['alias']} moved "
            f"{result['from_version'] or 'none'} -> v{result['version']}"
        )
    elif result.get("redecision"):
        context.log.warning(f"{result['model']}: champion not moved: {result['reason']}")
    redecision = result.get("redecision")
    return dg.MaterializeResult(
        value={**result, **({"approval_id": approval["approval_id"]} if approval else {})},
        metadata={
            "model": result["model"],
            "moved": dg.MetadataValue.bool(result["moved"]),
            "alias": str(result.get("alias") or "none"),
            "version": str(result.get("version") or "none"),
            "from_version": str(result.get("from_version") or "none"),
            "reason": result.get("reason", "decision " + meta["decision"]),
            "mlflow_run_id": str(run_id or ("queued" if key else "none")),
            # The champion moved after the decision: what the candidate was re-decided to.
            "redecision": str(redecision["recommendation"]) if redecision else "none",
            # Where this promotion sits in the signed ledger (an anchor against truncation).
            "ledger_seq": str(result.get("ledger_seq", "none")),
            "ledger_entry_sha256": str(result.get("ledger_entry_sha256") or "none"),
            # The decision waits for a person: approve or reject this id.
            "approval_id": str(approval["approval_id"] if approval else "none"),
        },
    )


def meta_run(meta: dict) -> dict:
    """The tracking of a published retrain, as the failure guard expects it."""
    return {
        "key": meta.get("tracking_key"),
        "run_id": meta.get("mlflow_run_id"),
        "error": meta.get("mlflow_error"),
    }
