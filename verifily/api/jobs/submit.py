"""Starting retrain jobs: in this process (sync), or accepted for the code location (queued).

A queued job is checked, stored under a new job id (verifily.jobstore.submissions) with its first
event, and answered at once. A sensor of the code location (sensors/api_jobs.py) turns it into
exactly one run, built by the code location's own run config builder; `dagster-daemon` is the
only process that needs to run for it, and no webserver is involved.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import uuid

import dagster as dg

from verifily.api.jobs.lookup import run_of_submission
from verifily.api.jobs.statuses import IdempotencyConflict, JobNotDone
from verifily.errors import InputError
from verifily.jobstore.submissions import SubmissionStore
from verifily.tags import (
    IDEMPOTENCY_KEY,
    PARTITION,
    REASON,
    REQUEST_SHA256,
    RETRAIN_JOB,
    TRIGGER_API_SYNC,
)
from verifily_assets import launch

_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")
RS = dg.DagsterRunStatus


def request_hash(fields: dict) -> str:
    """A digest of the resolved request, to tell a retry from a different request."""
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


class JobLauncher:
    """Starts jobs: runs them now, or accepts them for the code location (idempotently)."""

    def __init__(self, instance: dg.DagsterInstance, submissions: SubmissionStore):
        self.instance = instance
        self.submissions = submissions
        self._sync_lock = threading.Lock()

    def run_sync(self, fields: dict, tags: dict | None = None) -> dict:
        """Execute the retrain in this process; one at a time, since in-process runs share
        this process's stdout capture and the SQLite instance (use queued jobs for throughput).
        A run whose owner process is gone is failed first, so it never answers 409."""
        launch.reap_zombies(self.instance)
        self._refuse_if_in_flight(launch.model_of(fields))
        with self._sync_lock:
            resp = launch.run_retrain(
                fields,
                trigger=TRIGGER_API_SYNC,
                tags=tags,
                instance=self.instance,
                log_level="CRITICAL",
            )
        return {**resp, "job_id": resp["run_id"], "dagster_run_id": resp["run_id"]}

    def _refuse_if_in_flight(self, model_id: str) -> None:
        """Runs of one model share the IO manager's per-partition storage, so a sync run must
        not overlap a queued run of the same model (the queue serializes the queued ones)."""
        busy = self.instance.get_run_records(
            dg.RunsFilter(
                job_name=RETRAIN_JOB,
                tags={PARTITION: model_id},
                statuses=[RS.QUEUED, RS.NOT_STARTED, RS.STARTING, RS.STARTED],
            ),
            limit=1,
        )
        busy_id = busy[0].dagster_run.run_id if busy else None
        for row in [] if busy_id else self.submissions.pending(model_id):
            # A row whose run exists is covered by the statuses above.
            if run_of_submission(self.instance, self.submissions, row) is None:
                busy_id = row["job_id"]
                break
        if busy_id:
            raise JobNotDone(
                f"model {model_id!r} has a retrain in progress (job {busy_id}); "
                "wait for it or queue this one with POST /v1/jobs/retrain"
            )

    def submit(
        self, fields: dict, *, reason: str | None, trigger: str, idempotency_key: str | None
    ) -> str:
        """Accept a retrain and return its job id at once; a repeated Idempotency-Key with the
        same request returns the job it first created (422 for a different request)."""
        model_id = launch.model_of(fields)
        digest = request_hash({**fields, "reason": reason})
        tags = {REQUEST_SHA256: digest}
        if reason:
            tags[REASON] = reason
        if idempotency_key is not None:
            if not _IDEMPOTENCY_KEY.match(idempotency_key):
                raise InputError("Idempotency-Key must be 1-200 printable ASCII characters")
            tags[IDEMPOTENCY_KEY] = idempotency_key
            prior = self.submissions.by_key(idempotency_key)
            if prior is not None:
                return self._same_request(prior["job_id"], prior["request_sha256"], digest)
        # Refused now, not after the 202: the sensor must not meet a request that cannot run.
        launch.check_queued(fields)
        payload = {"fields": fields, "trigger": trigger, "tags": tags}
        scheduled = {"model_id": model_id, "reason": reason, "trigger": trigger}
        job_id = str(uuid.uuid4())
        row = self.submissions.add(
            job_id,
            model_id=model_id,
            request_sha256=digest,
            payload=payload,
            idempotency_key=idempotency_key,
            event={"status": "scheduled", "source": "api", "details": scheduled},
        )
        if row["job_id"] != job_id:  # a concurrent request with this key stored its job first
            return self._same_request(row["job_id"], row["request_sha256"], digest)
        return job_id

    @staticmethod
    def _same_request(job_id: str, prior_digest: str | None, digest: str) -> str:
        if prior_digest != digest:
            raise IdempotencyConflict(
                f"this Idempotency-Key was used for a different request (job {job_id})"
            )
        return job_id
