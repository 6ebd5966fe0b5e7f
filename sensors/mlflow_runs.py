"""Backstop for crashed retrains: a failed Dagster run never leaves its MLflow run RUNNING.

Steps close the MLflow run themselves when they raise; this catches what they cannot (a
killed process, a failed blocking check, an input that would not load).
"""

import dagster as dg

from resources.mlflow_tracker import MLflowTracker
from verifily.tags import MLFLOW_RUN_ID
from verifily.tracking.runs import fail_if_running


@dg.run_failure_sensor(
    name="mlflow_run_failures",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Marks the MLflow run of a failed retrain FAILED with the run's error.",
)
def mlflow_run_failures(context: dg.RunFailureSensorContext, mlflow: MLflowTracker) -> None:
    """Close the failed Dagster run's MLflow run as FAILED (no-op when it already ended)."""
    run_id = context.dagster_run.tags.get(MLFLOW_RUN_ID)
    if not run_id:
        return
    message = context.failure_event.message or "the retrain run failed"
    if fail_if_running(mlflow.settings(), run_id, f"dagster run failed: {message}"):
        context.log.info(f"marked MLflow run {run_id} FAILED")
