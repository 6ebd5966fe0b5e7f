"""What a job's state is called: Dagster run statuses as the API reports them, worker report
statuses, and the errors a job operation answers with."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import dagster as dg

from verifily.errors import VerifilyError
from verifily.tags import WILL_RETRY

# Dagster status shown for a job the API accepted and Dagster has no run for yet.
NOT_SUBMITTED = "NOT_SUBMITTED"
RUN_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

RS = dg.DagsterRunStatus
STATUS_MAP = {
    RS.QUEUED: "QUEUED",
    RS.NOT_STARTED: "QUEUED",
    RS.MANAGED: "RUNNING",
    RS.STARTING: "RUNNING",
    RS.STARTED: "RUNNING",
    RS.CANCELING: "RUNNING",
    RS.SUCCESS: "SUCCEEDED",
    RS.FAILURE: "FAILED",
    RS.CANCELED: "CANCELED",
    # Paused, not finished: it can resume, so callers should keep waiting.
    RS.SUSPENDED: "RUNNING",
}


def job_status(run: dg.DagsterRun, retries_enabled: bool = False) -> str:
    """The job's state as its newest run shows it. A run that failed and that Dagster's run
    retries will run again (it never started) leaves its job QUEUED, not FAILED; with run
    retries on, Dagster tags a failed run with its verdict just after the failure, and until
    then the job is not reported finished (a client stops polling at a finished state)."""
    if run.status == RS.FAILURE:
        verdict = run.tags.get(WILL_RETRY)
        if verdict == "true":
            return "QUEUED"
        if verdict is None and retries_enabled:
            return "RUNNING"
    return STATUS_MAP.get(run.status, "RUNNING")


WORKER_STATUS = {
    "QUEUED": "queued",
    "RUNNING": "started",
    "SUCCEEDED": "completed",
    "FAILED": "failed",
    "CANCELED": "canceled",
}


class JobNotFound(VerifilyError):
    """No job with this id (404)."""

    http_status = 404


class JobNotDone(VerifilyError):
    """The job (or its model) is not finished yet (409)."""

    http_status = 409


class IdempotencyConflict(VerifilyError):
    """An Idempotency-Key reused for a different request (422)."""

    http_status = 422


def iso(ts: float | datetime | None) -> str | None:
    """A timestamp (epoch seconds or datetime) as ISO-8601 UTC."""
    if ts is None:
        return None
    if isinstance(ts, datetime):
        return (ts if ts.tzinfo else ts.replace(tzinfo=UTC)).isoformat()
    return datetime.fromtimestamp(ts, UTC).isoformat()
