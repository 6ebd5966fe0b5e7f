"""The daemon's drainer of the tracking outbox: MLflow receives every retrain's writes, late
when it was down, never twice; each MLflow run it opens is linked on its retrain's `decision`."""

import dagster as dg

from resources.jobs_db import JobsDatabase
from verifily.mirror.drain import DRAIN_WORKERS, drain
from verifily.tags import MLFLOW_MODEL_ID
from verifily.tracking.outbox import TrackingOutbox

TRACKING_OUTBOX_INTERVAL_SECONDS = 10
# Well inside the daemon's sensor timeout (60 s): what is left waits for the next tick.
TICK_BUDGET_SECONDS = 30.0


def link_events(opened: list[dict]) -> list[dg.AssetObservation]:
    """One observation per opened MLflow run on the decision of its model's partition."""
    events = []
    for run in opened:
        model = run["payload"]["tags"].get(MLFLOW_MODEL_ID)
        url = run["url"]
        link = dg.MetadataValue.url(url) if url.startswith("http") else dg.MetadataValue.text(url)
        events.append(
            dg.AssetObservation(
                asset_key="decision",
                partition=model,
                metadata={
                    "mlflow_run": link,
                    "mlflow_run_id": run["run_id"],
                    "dagster_run_id": run["key"],
                },
            )
        )
    return events


@dg.sensor(
    name="tracking_outbox",
    minimum_interval_seconds=TRACKING_OUTBOX_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Applies the tracking outbox to MLflow (runs, metrics, artifacts, registry).",
)
def tracking_outbox(context: dg.SensorEvaluationContext, jobs_db: JobsDatabase):
    """Drain the backlog for up to TICK_BUDGET_SECONDS; link the MLflow runs it opened."""
    report = drain(
        TrackingOutbox(jobs_db.url), budget_seconds=TICK_BUDGET_SECONDS, workers=DRAIN_WORKERS
    )
    if report.error:
        context.log.warning(f"MLflow tracking is behind: {report.error}")
    if not report.opened and not report.applied:
        return dg.SkipReason(report.error or "the tracking outbox is empty")
    context.log.info(f"applied {report.applied} tracking writes of {report.retrains} retrains")
    return dg.SensorResult(asset_events=link_events(report.opened))
