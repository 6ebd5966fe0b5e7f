"""The ship decision asset, and the run contract gate on the published run directory."""

import dagster as dg

from resources.mlflow_tracker import MLflowTracker
from verifily.decision import gates
from verifily.registry.champion import champion_baseline
from verifily.retrain import steps
from verifily.tracking.record import log_attestation, log_decision
from verifily.webhooks.emit import notify
from verifily_assets.asset_schemas import DECISION_COLUMNS, column_schema
from verifily_assets.decision_report import decision_markdown, slice_metadata
from verifily_assets.failures import verifily_failure
from verifily_assets.partitions import MODEL_PARTITIONS
from verifily_assets.tracking import mlflow_metadata, mlflow_run_fails_with_step, warn


@dg.asset(
    partitions_def=MODEL_PARTITIONS,
    group_name="decision",
    kinds={"python"},
    owners=["team:ml-platform"],
    metadata=column_schema(DECISION_COLUMNS),
)
def decision(
    context: dg.AssetExecutionContext, eval_results: dict, mlflow: MLflowTracker
) -> dg.MaterializeResult:
    """SHIP, DONT_SHIP or INVESTIGATE for the candidate, with every reason; publishes the run."""
    with verifily_failure():
        try:
            with mlflow_run_fails_with_step(context, mlflow, eval_results):
                limit = float(eval_results["thresholds"]["max_contamination"])
                results = [
                    gates.dataset_gate(eval_results["dataset"]),
                    gates.sealed_contamination_gate(eval_results["staging_dir"], limit),
                ]
                settings = mlflow.settings()
                champion = champion_baseline(eval_results)
                if champion.error:
                    context.log.warning(f"baseline unavailable: {champion.error}")
                state = steps.decide(eval_results, gates=results, champion=champion)
                state = warn(context, log_decision(settings, state))
                response = steps.publish(state)
        except BaseException:
            steps.abandon(eval_results)
            raise
        state = warn(
            context,
            log_attestation(settings, state, response["attestation_digest"], response["signed_by"]),
        )
    info = state.get("mlflow") or {}
    tracking_error = info.get("error")
    response = {
        **response,
        "run_id": context.run.run_id,
        **({"tracking_key": info["key"]} if info.get("key") and not tracking_error else {}),
        # Entry points warn about it: the decision stands, its MLflow record is incomplete.
        **({"tracking_error": tracking_error} if tracking_error else {}),
    }
    d = state["decision"]
    context.log.info(f"decision {d['recommendation']} for {response['run_dir']}")
    warning = notify("decision", decision_event(d, response, context.partition_key))
    if warning:
        context.log.warning(warning)
    return dg.MaterializeResult(
        value=response,
        metadata={
            "recommendation": d["recommendation"],
            "reasons": dg.MetadataValue.md(decision_markdown(d, response)),
            "primary_metric": d["primary_metric"],
            "primary_value": dg.MetadataValue.float(
                float(d["candidate_metrics"].get(d["primary_metric"], float("nan")))
            ),
            "run_dir": dg.MetadataValue.path(response["run_dir"]),
            "baseline": str((d.get("baseline") or {}).get("source") or "none"),
            "exit_code": dg.MetadataValue.int(d["exit_code"]),
            # Anchors outside the run directory: `verifily validate --instance` compares them.
            "attestation_digest": response["attestation_digest"],
            "signed_by": response["signed_by"],
            "chain_hash": response["chain_hash"],
            "champion_compared": str((d.get("champion") or {}).get("version") or "none"),
            **{k: dg.MetadataValue.float(v) for k, v in slice_metadata(d).items()},
            **mlflow_metadata(state),
        },
    )


@dg.asset_check(asset=decision, blocking=True, partitions_def=MODEL_PARTITIONS)
def run_contract(decision: dict) -> dg.AssetCheckResult:
    """The published run directory's signed attestation, hashes.json and audit log hold."""
    with verifily_failure():
        gate = gates.run_contract_gate(decision["run_dir"])
    return dg.AssetCheckResult(
        passed=bool(gate["passed"]),
        metadata={
            "run_dir": dg.MetadataValue.path(decision["run_dir"]),
            "problems": "\n".join(gate["problems"]) or "none",
            "attestation_digest": str(gate["attestation_digest"] or "none"),
        },
    )


def decision_event(d: dict, response: dict, model: str) -> dict:
    """What a `decision` webhook carries: the outcome, every rule that fired, where the run is."""
    return {
        "model": model,
        "recommendation": d["recommendation"],
        "rules_fired": [
            {"rule": f["rule"], "outcome": f["outcome"], "message": f["message"]}
            for f in d["rules_fired"]
        ],
        "primary_metric": d["primary_metric"],
        "candidate_metrics": d["candidate_metrics"],
        "run_dir": response["run_dir"],
        "attestation_digest": response["attestation_digest"],
        "dagster_run_id": response["run_id"],
        "champion_compared": d.get("champion"),
    }
