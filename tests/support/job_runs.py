"""What counts as a queued job running once, for the tests that crash the way to its run.

A job may have more than one Dagster run, but only one that ran: a daemon killed while
launching a run leaves it STARTING with no worker; run monitoring fails it for never starting
(START_TIMEOUT) and Dagster's run retries make the next run of the job, its child.
"""

import itertools

import dagster as dg

from verifily.tags import FAILURE_REASON, PARENT_RUN_ID, SENSOR_NAME


def ran_more_than_once(instance: dg.DagsterInstance, runs: list[dg.DagsterRun]) -> bool:
    """Whether more than one of a job's runs (newest first) ran: every run but the newest must
    have failed without starting (no run start, no step), and be retried by the next."""
    for run, retry in itertools.pairwise(reversed(runs)):
        rec = instance.get_run_record_by_id(run.run_id)
        steps = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_START)
        never_started = (
            run.status == dg.DagsterRunStatus.FAILURE
            and rec is not None
            and rec.start_time is None
            and not steps
        )
        if not never_started or retry.tags.get(PARENT_RUN_ID) != run.run_id:
            return True
    return False


def shown(instance: dg.DagsterInstance, run: dg.DagsterRun) -> dict:
    """A run as a failure message shows it: status, start, and who made it and why it failed."""
    rec = instance.get_run_record_by_id(run.run_id)
    started = rec.start_time if rec else None
    return {"run": run.run_id, "status": run.status.value, "started": started} | {
        k: run.tags[k] for k in (SENSOR_NAME, FAILURE_REASON, PARENT_RUN_ID) if k in run.tags
    }
