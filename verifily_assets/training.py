"""The retrain (the heavy step) and its evaluation results."""

import dagster as dg

from resources.k8s import HEAVY_RETRY_POLICY, RETRAIN_TAGS
from resources.mlflow_tracker import MLflowTracker
from verifily.contamination.report import write_report
from verifily.dataset.artifact import DatasetInfo
from verifily.retrain import steps
from verifily.retrain.request import RetrainRequest
from verifily.rundir.sweep import sweep_abandoned
from verifily.tags import STAGING_DIR
from verifily.tracking.record import log_evaluation
from verifily_assets.asset_schemas import METRIC_COLUMNS, column_schema, metrics_table
from verifily_assets.failures import verifily_failure
from verifily_assets.partitions import MODEL_PARTITIONS
from verifily_assets.tracking import (
    mlflow_metadata,
    mlflow_run_fails_with_step,
    open_tracking,
    warn,
)


def run_ended(context: dg.AssetExecutionContext, run_id: str) -> bool:
    """Whether a Dagster run of this instance is over (an unknown run is never assumed so)."""
    run = context.instance.get_run_by_id(run_id)
    return run is not None and run.is_finished


@dg.asset(
    partitions_def=MODEL_PARTITIONS,
    group_name="training",
    kinds={"python"},
    owners=["team:ml-platform"],
    op_tags=RETRAIN_TAGS,
    retry_policy=HEAVY_RETRY_POLICY,
)
def retrain_run(
    context: dg.AssetExecutionContext,
    dataset_artifact: dict,
    contamination_report: dict,
    mlflow: MLflowTracker,
) -> dg.MaterializeResult:
    """A candidate model trained on the dataset, in a freshly allocated run directory."""
    req = RetrainRequest.from_dict(dataset_artifact["request"])
    state: dict = {}
    with verifily_failure():
        for gone in sweep_abandoned(req.output_dir, lambda run_id: run_ended(context, run_id)):
            context.log.info(f"removed {gone}: an earlier attempt's staging dir, its run ended")
        try:
            dataset = dict(dataset_artifact["dataset"])
            window = dataset.pop("window", None)
            state = steps.start(
                req, DatasetInfo(**dataset), run_id=context.run.run_id, window=window
            )
            # What the zombie reaper sweeps if this run's process dies before publishing.
            context.instance.add_run_tags(context.run.run_id, {STAGING_DIR: state["staging_dir"]})
            write_report(state["staging_dir"], contamination_report)
            state = open_tracking(context, mlflow, state)
            context.log.info(f"training ({req.mode}, seed {req.seed}) in {state['staging_dir']}")
            with mlflow_run_fails_with_step(context, mlflow, state):
                state = steps.train(state, progress=context.log.info)
        except BaseException:
            steps.abandon(state)
            raise
    return dg.MaterializeResult(
        value=state,
        metadata={
            "run_dir": dg.MetadataValue.path(state["final_dir"]),
            "mode": req.mode,
            "trainer": state["model"].get("trainer", req.mode),
            "seed": dg.MetadataValue.int(req.seed),
            "dataset_hash": state["dataset"]["dataset_hash"],
            "train_seconds": dg.MetadataValue.float(state["steps"]["train"]["wall_seconds"]),
            **mlflow_metadata(state),
        },
    )


def rescored_text(rescore: dict) -> str:
    """Whether real mode scored the baseline's model on these very records, and if not why."""
    if not rescore:
        return "no baseline"
    return f"yes: {rescore['run_dir']}" if rescore.get("rescored") else f"no: {rescore['why']}"


@dg.asset(
    partitions_def=MODEL_PARTITIONS,
    group_name="training",
    kinds={"python"},
    owners=["team:ml-platform"],
    metadata=column_schema(METRIC_COLUMNS),
)
def eval_results(
    context: dg.AssetExecutionContext, retrain_run: dict, mlflow: MLflowTracker
) -> dg.MaterializeResult:
    """The candidate's metrics on the evaluation split (eval/eval_results.json)."""
    with verifily_failure():
        try:
            with mlflow_run_fails_with_step(context, mlflow, retrain_run):
                state = steps.evaluate(retrain_run, progress=context.log.info)
                state = warn(context, log_evaluation(mlflow.settings(), state))
        except BaseException:
            steps.abandon(retrain_run)
            raise
    metrics = state["eval_results"]["metrics"]
    return dg.MaterializeResult(
        value=state,
        metadata={
            **{k: dg.MetadataValue.float(v) for k, v in metrics.items()},
            "n_eval": dg.MetadataValue.int(state["eval_results"]["n_eval"]),
            "metrics": metrics_table(metrics),
            **(
                {"baseline_rescored": rescored_text(state["rescore"])} if "rescore" in state else {}
            ),
            **mlflow_metadata(state),
        },
    )
