"""Queued jobs of the jobs API: every accepted submission becomes exactly one run.

The API stores an accepted request (verifily/jobstore/submissions.py) and answers at once. These
sensors claim pending rows and request one run per row, with the job id as run_key, through the
one builder of run requests the composition root hands them; the run carries the job id as a
tag. Exactly once: a row is claimed by one sensor only (a conditional update), and Dagster
creates at most one run per run_key of a sensor, across daemon crashes (a tick reserves its run
ids before creating any run, and an interrupted tick is resumed). A sensor re-requests what it
claimed and no run exists for, so a tick lost in a crash loses no job.

Latency: the daemon starts sensor ticks on a fixed 5 s loop, so each tick watches the table (one
indexed query every WATCH_POLL_SECONDS) for most of that loop and returns as soon as it has
claimed rows. Two sensors watch at once, so a job arriving after one of them returned in a loop
is taken by the other instead of waiting for the next loop. A watching tick holds a daemon
thread, so ticks watch only when the instance evaluates sensors in threads
(`sensors: use_threads: true` in dagster.yaml); otherwise they look once per loop.
"""

import time
from collections.abc import Callable

import dagster as dg

from resources.jobs_db import JobsDatabase
from sensors.target import RetrainTarget, add_model_partitions
from verifily.jobstore.events import JobEventStore
from verifily.jobstore.submissions import SubmissionStore, queued_request
from verifily.tags import JOB_ID

SENSOR_COUNT = 2
# A tick still running when the daemon's next 5 s loop starts misses that loop altogether; one
# second of margin covers the loop's own work and a busy machine.
WATCH_SECONDS = 4.0
WATCH_POLL_SECONDS = 0.1
MAX_JOBS_PER_TICK = 100
SOURCE = "sensor"


def sensor_names(count: int = SENSOR_COUNT) -> list[str]:
    """The names of the API job sensors (each holds its own claims)."""
    return [f"api_jobs_{i}" for i in range(count)]


def run_of_job(instance: dg.DagsterInstance, job_id: str) -> str | None:
    """The Dagster run id of a queued job, once its run exists."""
    recs = instance.get_run_records(dg.RunsFilter(tags={JOB_ID: job_id}), limit=1)
    return recs[0].dagster_run.run_id if recs else None


def job_run_request(row: dict, target: RetrainTarget) -> dg.RunRequest:
    """The run request of one stored submission (run_key and JOB_ID tag = its job id)."""
    fields, trigger, tags = queued_request(row)
    return target.run_request(
        fields,
        model_id=row["model_id"],
        trigger=trigger,
        run_key=row["job_id"],
        extra_tags={**tags, JOB_ID: row["job_id"]},
    )


def _held_without_run(
    instance: dg.DagsterInstance, store: SubmissionStore, name: str
) -> list[dict]:
    """Rows this sensor claimed earlier: those whose run exists are marked with its id, the
    others (a tick interrupted before its runs were created) are returned to request again."""
    held = []
    for row in store.claimed(name):
        run_id = run_of_job(instance, row["job_id"])
        if run_id:
            store.mark_run(row["job_id"], run_id)
        else:
            held.append(row)
    return held


def _claim_when_ready(
    store: SubmissionStore, name: str, watch_seconds: float, clock: Callable[[], float]
) -> list[dict]:
    """Claim pending rows as soon as there are any, for up to `watch_seconds`."""
    deadline = clock() + watch_seconds
    while True:
        if store.has_unclaimed():
            rows = store.claim(name, MAX_JOBS_PER_TICK)
            if rows:
                return rows
        if clock() >= deadline:
            return []
        time.sleep(WATCH_POLL_SECONDS)


def api_job_requests(
    instance: dg.DagsterInstance,
    store: SubmissionStore,
    events: JobEventStore,
    target: RetrainTarget,
    name: str,
    watch_seconds: float,
    clock: Callable[[], float] = time.monotonic,
) -> dg.SensorResult:
    """One tick of the sensor `name`: run requests for its held and newly claimed rows."""
    rows = _held_without_run(instance, store, name) or _claim_when_ready(
        store, name, watch_seconds, clock
    )
    if not rows:
        return dg.SensorResult(
            skip_reason=dg.SkipReason(f"no queued API job waiting (watched {watch_seconds:g} s)")
        )
    requests, models = [], set()
    for row in rows:
        try:
            requests.append(job_run_request(row, target))
        except Exception as e:  # noqa: BLE001 - one bad row must not hold back the others
            message = f"{type(e).__name__}: {e}"
            store.mark_failed(row["job_id"], message)
            events.append(
                row["job_id"], "failed", source=SOURCE, details={"error": f"not run: {message}"}
            )
            continue
        models.add(row["model_id"])
    return dg.SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[add_model_partitions(sorted(models))] if models else [],
    )


def watch_for(instance: dg.DagsterInstance) -> float:
    """How long a tick may watch: only where each sensor has its own daemon thread."""
    threaded = bool((instance.get_settings("sensors") or {}).get("use_threads"))
    return WATCH_SECONDS if threaded else 0.0


def build_api_job_sensors(
    target: RetrainTarget, count: int = SENSOR_COUNT, watch_seconds: float | None = None
) -> list[dg.SensorDefinition]:
    """The sensors that start queued API jobs; RUNNING by default (queued jobs need them).
    `watch_seconds` None: as the instance allows (watch_for)."""

    def build(name: str) -> dg.SensorDefinition:
        @dg.sensor(
            name=name,
            job=target.job,
            minimum_interval_seconds=1,
            default_status=dg.DefaultSensorStatus.RUNNING,
            description=(
                "Start the retrains queued through the jobs API (POST /v1/jobs/retrain, "
                "POST /models/{id}/retrain, GraphQL): one run per job, run_key = job id."
            ),
        )
        def _sensor(context: dg.SensorEvaluationContext, jobs_db: JobsDatabase):
            return api_job_requests(
                context.instance,
                jobs_db.submissions(),
                jobs_db.events(),
                target,
                name,
                watch_for(context.instance) if watch_seconds is None else watch_seconds,
            )

        return _sensor

    return [build(name) for name in sensor_names(count)]
