"""Glue between retrain assets and MLflow: warnings into run events, failed steps into FAILED."""

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

from resources.mlflow_tracker import MLflowTracker
from verifily.tags import MLFLOW_EXPERIMENT_ID, MLFLOW_RUN_ID, TRIGGER
from verifily.tracking.runs import fail_if_running, open_retrain_run


def warn(context: dg.AssetExecutionContext, result: tuple[dict, str | None]) -> dict:
    """Surface a tracking failure in the run's events; return the state."""
    state, warning = result
    if warning:
        context.log.warning(warning)
    return state


def open_tracking(context: dg.AssetExecutionContext, tracker: MLflowTracker, state: dict) -> dict:
    """Open the retrain's MLflow run and tag the Dagster run with its id."""
    run = context.run
    state = warn(
        context,
        open_retrain_run(
            tracker.settings(),
            state,
            dagster_run_id=run.run_id,
            trigger=run.tags.get(TRIGGER, "unknown"),
        ),
    )
    info = state["mlflow"]
    if info.get("run_id"):
        context.instance.add_run_tags(
            run.run_id, {MLFLOW_RUN_ID: info["run_id"], MLFLOW_EXPERIMENT_ID: info["experiment_id"]}
        )
        context.log.info(f"MLflow run {info['run_id']}: {info['url']}")
    return state


def mlflow_metadata(state: dict) -> dict:
    """Asset metadata linking the MLflow run (or saying why there is none)."""
    info = state.get("mlflow") or {}
    if not info.get("run_id"):
        return {"mlflow_run": info.get("error") or "tracking disabled"}
    url = info["url"]
    link = dg.MetadataValue.url(url) if url.startswith("http") else dg.MetadataValue.text(url)
    return {"mlflow_run": link, "mlflow_run_id": info["run_id"]}


@contextmanager
def mlflow_run_fails_with_step(
    context: dg.AssetExecutionContext, tracker: MLflowTracker, state: dict
) -> Iterator[None]:
    """A step that raises closes the retrain's MLflow run as FAILED with the error."""
    try:
        yield
    except BaseException as e:
        run_id = (state.get("mlflow") or {}).get("run_id")
        if run_id:
            error = f"step {context.op_def.name} failed: {type(e).__name__}: {e}"
            try:
                fail_if_running(tracker.settings(), run_id, error)
            except Exception as e2:
                context.log.warning(f"could not mark MLflow run {run_id} FAILED: {e2}")
        raise
