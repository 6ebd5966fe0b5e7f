"""No zombie runs: a run executed in-process (CLI, API sync) whose owner process is gone is
failed with the reason, its MLflow run closed and its staging directory swept, so the run queue
and the per-model limit move on. Runs launched by the daemon are watched by Dagster's own run
monitoring instead; they carry no owner tags.
"""

from pathlib import Path

import dagster as dg

from resources.mlflow_tracker import MLflowTracker
from verifily.retrain.owner import owner_gone
from verifily.rundir.sweep import sweep_abandoned
from verifily.tags import (
    JOB_ID,
    OWNER_HOST,
    OWNER_PID,
    OWNER_STARTED,
    PARTITION,
    RETRAIN_JOB,
    STAGING_DIR,
)
from verifily.tracking.outbox import TrackingOutbox
from verifily.tracking.record import has_start, record_failed
from verifily.tracking.store import TrackingSettings
from verifily.webhooks.emit import notify

RS = dg.DagsterRunStatus
REAPER_INTERVAL_SECONDS = 10


def _ended(instance: dg.DagsterInstance, run_id: str) -> bool:
    run = instance.get_run_by_id(run_id)
    return run is not None and run.is_finished


def reap_zombie_runs(
    instance: dg.DagsterInstance, settings: TrackingSettings | None
) -> list[tuple[str, str]]:
    """Fail every started retrain whose owner process on this host is gone; returns
    [(run id, reason)]. Closing MLflow runs and sweeping are best effort, never a failure."""
    reaped = []
    records = instance.get_run_records(
        dg.RunsFilter(job_name=RETRAIN_JOB, statuses=[RS.STARTING, RS.STARTED])
    )
    for record in records:
        tags = record.dagster_run.tags
        if OWNER_PID not in tags:
            continue
        reason = owner_gone(tags.get(OWNER_HOST), tags.get(OWNER_PID), tags.get(OWNER_STARTED))
        run = instance.get_run_by_id(record.dagster_run.run_id)
        if reason is None or run is None or run.is_finished:
            continue
        instance.report_run_failed(run, message=f"{reason}; the run was marked failed")
        reaped.append((run.run_id, reason))
        # An in-process run: the run-status sensors never see it, so its failure is sent here.
        notify(
            "run_failed",
            {"model": tags.get(PARTITION), "job_id": tags.get(JOB_ID) or run.run_id,
             "dagster_run_id": run.run_id, "error": reason},
        )  # fmt: skip
        staging = tags.get(STAGING_DIR)
        if staging:
            sweep_abandoned(Path(staging).parent, lambda run_id: _ended(instance, run_id))
        if settings is not None and settings.enabled:
            try:
                outbox = TrackingOutbox()
                if has_start(outbox, run.run_id):
                    record_failed(settings, run.run_id, f"dagster run failed: {reason}", outbox)
            except Exception:  # the jobs database may be down; the run is failed regardless
                pass
    return reaped


@dg.sensor(
    name="zombie_run_reaper",
    minimum_interval_seconds=REAPER_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Fail in-process retrains whose owner process is gone (a killed CLI or API).",
)
def zombie_run_reaper(context: dg.SensorEvaluationContext, mlflow: MLflowTracker):
    """Fail STARTED runs whose owner is gone, close their MLflow runs, sweep their staging."""
    reaped = reap_zombie_runs(context.instance, mlflow.settings())
    if not reaped:
        return dg.SkipReason("no started in-process run whose owner process is gone")
    for run_id, reason in reaped:
        context.log.warning(f"run {run_id}: {reason}; marked failed")
    return dg.SkipReason("; ".join(f"failed run {run_id}: {reason}" for run_id, reason in reaped))
