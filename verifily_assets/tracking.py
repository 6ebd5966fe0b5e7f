"""Glue between retrain assets and the tracking outbox: warnings into run events, failed steps
into a queued FAILED close. No MLflow call is made from a retrain's steps."""

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

from resources.mlflow_tracker import MLflowTracker
from verifily.tags import MLFLOW_RUN_ID, RESERVATION_ID, TRIGGER
from verifily.tracking.record import open_retrain_run, record_failed, tracking_key


def warn(context: dg.AssetExecutionContext, result: tuple[dict, str | None]) -> dict:
    """Surface a tracking failure in the run's events; return the state."""
    state, warning = result
    if warning:
        context.log.warning(warning)
    return state


def open_tracking(context: dg.AssetExecutionContext, tracker: MLflowTracker, state: dict) -> dict:
    """Queue the retrain's MLflow run under the Dagster run's id (the run opened when the
    retrain was requested, if any, is found by the same id)."""
    run = context.run
    state = warn(
        context,
        open_retrain_run(
            tracker.settings(),
            state,
            dagster_run_id=run.run_id,
            trigger=run.tags.get(TRIGGER, "unknown"),
            mlflow_run_id=run.tags.get(MLFLOW_RUN_ID) or None,
            reservation=run.tags.get(RESERVATION_ID) or None,
        ),
    )
    if tracking_key(state):
        context.log.info(f"MLflow run queued in the tracking outbox under {run.run_id}")
    return state


def mlflow_metadata(state: dict) -> dict:
    """Asset metadata saying where the MLflow run is (or why there is none). The run is opened
    by the drainer after the step; the drainer then links it on the decision (an observation)."""
    info = state.get("mlflow") or {}
    if info.get("error") or not info.get("enabled", True) or not info.get("key"):
        return {"mlflow_run": info.get("error") or "tracking disabled"}
    return {
        "mlflow_run": str(info.get("run_id") or "queued (verifily tracking status)"),
        "tracking_key": str(info["key"]),
    }


@contextmanager
def mlflow_run_fails_with_step(
    context: dg.AssetExecutionContext, tracker: MLflowTracker, state: dict
) -> Iterator[None]:
    """A step that raises queues the close of the retrain's MLflow run as FAILED."""
    try:
        yield
    except BaseException as e:
        key = tracking_key(state)
        if key:
            error = f"step {context.op_def.name} failed: {type(e).__name__}: {e}"
            try:
                record_failed(tracker.settings(), key, error)
            except Exception as e2:
                context.log.warning(f"could not queue the FAILED close of MLflow run {key}: {e2}")
        raise
