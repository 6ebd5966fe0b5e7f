"""Backstop for crashed retrains: a failed Dagster run never leaves its MLflow run RUNNING.

Steps queue the close themselves when they raise; this catches what they cannot (a killed
process, a failed blocking check, an input that would not load). It queues a FAILED close in
the tracking outbox, which the drainer applies (a no-op when the run already ended).
"""

import dagster as dg

from resources.jobs_db import JobsDatabase
from resources.mlflow_tracker import MLflowTracker
from verifily.tracking.outbox import TrackingOutbox
from verifily.tracking.record import has_start, record_failed


@dg.run_failure_sensor(
    name="mlflow_run_failures",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Queues the FAILED close of a failed retrain's MLflow run with the run's error.",
)
def mlflow_run_failures(
    context: dg.RunFailureSensorContext, mlflow: MLflowTracker, jobs_db: JobsDatabase
) -> None:
    """Queue the failed Dagster run's MLflow run's close as FAILED."""
    key = context.dagster_run.run_id
    outbox = TrackingOutbox(jobs_db.url)
    if not has_start(outbox, key):
        return
    message = context.failure_event.message or "the retrain run failed"
    record_failed(mlflow.settings(), key, f"dagster run failed: {message}", outbox)
    context.log.info(f"queued the FAILED close of the MLflow run of {key}")
