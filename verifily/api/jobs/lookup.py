"""Finding a job by any of its ids: the job id given at submission, or its Dagster run id.

A queued job is stored under its job id before Dagster has a run for it; the run, once a sensor
of the code location has made it, carries the job id as a tag (and as its run_key). Every other
retrain run (sync API, CLI, sensors, the UI) is a job whose id is its run id.
"""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg

from verifily.api.jobs.statuses import RUN_ID, JobNotFound
from verifily.jobstore.submissions import SubmissionStore
from verifily.tags import JOB_ID, RETRAIN_JOB


@dataclass(frozen=True)
class JobRef:
    """A job: its id for good, its stored submission (queued jobs), its run once it exists."""

    job_id: str
    submission: dict | None
    run: dg.RunRecord | None


def latest_run(instance: dg.DagsterInstance, job_id: str) -> dg.RunRecord | None:
    """The newest run made for a queued job: usually its only one, or the retry Dagster made
    after the first was failed for never starting (run monitoring and run retries)."""
    recs = instance.get_run_records(dg.RunsFilter(tags={JOB_ID: job_id}), limit=1)
    return recs[0] if recs else None


def run_of_submission(
    instance: dg.DagsterInstance, store: SubmissionStore, row: dict
) -> dg.RunRecord | None:
    """The run of a stored submission; its id is recorded on the row the first time."""
    rec = latest_run(instance, row["job_id"])
    if rec is not None:
        if row["run_id"] is None:
            store.mark_run(row["job_id"], rec.dagster_run.run_id)
        return rec
    # Rows of an earlier release: their run has the job id as its run id and no job id tag.
    return instance.get_run_record_by_id(row["run_id"]) if row["run_id"] else None


def ref_of_run(store: SubmissionStore, rec: dg.RunRecord) -> JobRef:
    """The job a retrain run belongs to (as this run shows it)."""
    job_id = rec.dagster_run.tags.get(JOB_ID) or rec.dagster_run.run_id
    row = store.get(job_id) if job_id != rec.dagster_run.run_id else None
    return JobRef(job_id, row, rec)


def find_job(instance: dg.DagsterInstance, store: SubmissionStore, any_id: str) -> JobRef:
    """The job with this job id or the id of one of its Dagster runs; JobNotFound (404)
    otherwise. A queued job is shown with its newest run."""
    if not RUN_ID.match(any_id or ""):
        raise JobNotFound(f"no job {any_id!r}")
    row = store.get(any_id)
    if row is not None:
        return JobRef(any_id, row, run_of_submission(instance, store, row))
    rec = instance.get_run_record_by_id(any_id)
    if rec is None or rec.dagster_run.job_name != RETRAIN_JOB:
        raise JobNotFound(f"no job {any_id!r}")
    job_id = rec.dagster_run.tags.get(JOB_ID)
    if job_id is None:
        return JobRef(any_id, None, rec)
    return JobRef(job_id, store.get(job_id), latest_run(instance, job_id) or rec)
