"""Run-status bookkeeping: every retrain's lifecycle goes into the one job event store, under its
job id and stamped with Dagster's own time of each transition (not when a tick noticed it), so
a job's events are in causal order however late the daemon records them."""

from typing import Any

import dagster as dg

from verifily.jobstore.events import JobEventStore, event_time
from verifily.rundir.audit import utc_now
from verifily.tags import JOB_ID, MONITOR_ID, PARTITION, PREFIX, RUN_KEY, TRIGGER, TRIGGER_MONITOR
from verifily.webhooks.emit import notify

SOURCE = "dagster"
# Dagster run status -> the job event status the jobs API reports. A queued instance passes
# QUEUED then STARTING, a direct-launch one only STARTING; "queued" (Dagster has the run) is
# recorded once.
STATUS_MAP = {
    dg.DagsterRunStatus.QUEUED: "queued",
    dg.DagsterRunStatus.STARTING: "queued",
    dg.DagsterRunStatus.STARTED: "started",
    dg.DagsterRunStatus.SUCCESS: "completed",
    dg.DagsterRunStatus.CANCELED: "canceled",
}


def run_details(run: dg.DagsterRun, **extra) -> dict:
    """What the jobs API shows about a run: its model, trigger, window and the Dagster status."""
    tags = run.tags or {}
    details = {
        "job_name": run.job_name,
        "partition": tags.get(PARTITION),
        "run_key": tags.get(RUN_KEY),
        "dagster_status": run.status.value,
    }
    details.update({k.removeprefix(PREFIX): v for k, v in tags.items() if k.startswith(PREFIX)})
    details.update(extra)
    return {k: v for k, v in details.items() if v is not None}


def published_run_dir(instance: dg.DagsterInstance, run_id: str) -> str | None:
    """The run directory the run's `decision` published, from its materialization metadata."""
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION):
        mat = entry.asset_materialization
        if mat and mat.asset_key == dg.AssetKey("decision") and "run_dir" in mat.metadata:
            return str(mat.metadata["run_dir"].value)
    return None


def report_monitor_retrain(instance: dg.DagsterInstance, run: dg.DagsterRun, run_dir) -> None:
    """For a monitor-requested retrain, show its published run directory on `decision`.

    The monitor's tick can only say where the run will land; once it has published, this
    observation names the exact directory next to the decision that triggered it.
    """
    tags = run.tags or {}
    if tags.get(TRIGGER) != TRIGGER_MONITOR or not run_dir:
        return
    instance.report_runless_asset_event(
        dg.AssetObservation(
            asset_key=dg.AssetKey("decision"),
            partition=tags.get(PARTITION),
            metadata={
                "monitor_id": tags.get(MONITOR_ID, ""),
                "retrain_submitted": True,
                "retrain_run_id": run.run_id,
                "retrain_run_dir": dg.MetadataValue.path(run_dir),
            },
        )
    )


def job_id_of(run: dg.DagsterRun) -> str:
    """The job id a run is known by: the jobs API's id of a queued job, else the run id."""
    return (run.tags or {}).get(JOB_ID) or run.run_id


def transition_time(instance: dg.DagsterInstance, run: dg.DagsterRun, status: str) -> str:
    """When Dagster says the run reached `status` (created, started, ended)."""
    rec = instance.get_run_record_by_id(run.run_id)
    if rec is not None:
        if status == "queued":
            return event_time(rec.create_timestamp)
        when = rec.start_time if status == "started" else rec.end_time
        if when is not None:
            return event_time(when)
    return utc_now()


def _record(instance: dg.DagsterInstance, run: dg.DagsterRun, status: str, **extra):
    return JobEventStore().append_once(
        job_id_of(run),
        status,
        source=SOURCE,
        details=run_details(run, run_id=run.run_id, **extra),
        ts=transition_time(instance, run, status),
    )


def build_run_status_sensors(interval: int, job: Any) -> list[dg.SensorDefinition]:
    """One sensor per lifecycle status of retrain_job runs, all RUNNING by default."""
    sensors = []
    for run_status, status in STATUS_MAP.items():

        def fn(context: dg.RunStatusSensorContext, status=status):
            extra = {}
            if status == "completed":
                extra["run_dir"] = published_run_dir(context.instance, context.dagster_run.run_id)
            # Only a first delivery reports, so a redelivered event adds no second observation.
            if _record(context.instance, context.dagster_run, status, **extra) and (
                status == "completed"
            ):
                report_monitor_retrain(context.instance, context.dagster_run, extra["run_dir"])

        sensors.append(
            dg.run_status_sensor(
                run_status=run_status,
                name=f"job_events_{run_status.value.lower()}",
                monitored_jobs=[job],
                minimum_interval_seconds=interval,
                default_status=dg.DefaultSensorStatus.RUNNING,
                description=f"Record retrain runs that are {status} in the job event store.",
            )(fn)
        )

    @dg.run_failure_sensor(
        name="job_events_failed",
        monitored_jobs=[job],
        minimum_interval_seconds=interval,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Record failed retrain runs, with the error, in the job event store.",
    )
    def failed(context: dg.RunFailureSensorContext):
        steps = context.get_step_failure_events()
        errors = [
            f"{e.step_key}: {e.step_failure_data.error.message.strip()}"
            for e in steps
            if e.step_failure_data.error
        ]
        error = "\n".join(errors) or context.failure_event.message or "run failed"
        # Only a first delivery notifies: a redelivered failure sends no second webhook.
        if _record(context.instance, context.dagster_run, "failed", error=error):
            run = context.dagster_run
            notify(
                "run_failed",
                {
                    "model": (run.tags or {}).get(PARTITION),
                    "job_id": job_id_of(run),
                    "dagster_run_id": run.run_id,
                    "error": error,
                },
            )

    return [*sensors, failed]
