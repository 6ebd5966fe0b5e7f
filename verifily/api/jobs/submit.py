"""Starting retrain jobs: in this process (sync), or accepted for Dagster's run queue (queued).

A queued job is stored (verifily.jobstore.submissions) under the run id it will have, answered at
once, and put on the instance's run queue by a background thread (verifily.api.jobs.submitter);
the daemon launches it under its concurrency limits. Only the very first submission on an
instance goes through the Dagster webserver's GraphQL, to learn the code location's origin.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import uuid
from urllib.parse import urlparse

import dagster as dg
from dagster_graphql import DagsterGraphQLClient, DagsterGraphQLClientError

from verifily.api.jobs.statuses import IdempotencyConflict, JobNotDone, QueueUnavailable
from verifily.api.jobs.submitter import RunOrigins, RunSubmitter
from verifily.api.settings import ApiSettings
from verifily.errors import InputError
from verifily.jobstore.events import JobEventStore
from verifily.jobstore.submissions import SubmissionStore
from verifily.tags import (
    IDEMPOTENCY_KEY,
    PARTITION,
    REASON,
    REQUEST_SHA256,
    RETRAIN_JOB,
    SUBMISSION_ID,
    TRIGGER_API_SYNC,
)
from verifily_assets import launch

# The webserver plans each submission through its code server; more parallel submissions only
# queue up there and time out, so the API queues them itself (bootstrap submissions only).
SUBMIT_CONCURRENCY = 4
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")
RS = dg.DagsterRunStatus


def request_hash(fields: dict) -> str:
    """A digest of the resolved request, to tell a retry from a different request."""
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


class JobLauncher:
    """Starts jobs: runs them now, or accepts them for the run queue (idempotently)."""

    def __init__(
        self,
        instance: dg.DagsterInstance,
        settings: ApiSettings,
        events: JobEventStore,
        submissions: SubmissionStore,
    ):
        self.instance = instance
        self.settings = settings
        self.events = events
        self.submissions = submissions
        self._sync_lock = threading.Lock()
        # Striped locks: retries with one key serialize, memory stays bounded however many keys.
        self._key_locks = [threading.Lock() for _ in range(64)]
        self._submit_slots = threading.BoundedSemaphore(SUBMIT_CONCURRENCY)
        self._bootstrap_lock = threading.Lock()
        # Runs the API creates itself are only enqueued, and the daemon launches them; an
        # instance without a run queue launches at submission, which needs the webserver's
        # workspace, so there every job goes through the webserver.
        self._queued = isinstance(instance.run_coordinator, dg.QueuedRunCoordinator)
        self.origins = RunOrigins(instance, settings.dagster_location, settings.code_image)
        self.submitter = RunSubmitter(instance, submissions, events, self.origins)

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
        return {**resp, "job_id": resp["run_id"]}

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
        if busy_id is None and (pending := self.submissions.pending(model_id)):
            busy_id = pending[0]["job_id"]
        if busy_id:
            raise JobNotDone(
                f"model {model_id!r} has a retrain in progress (job {busy_id}); "
                "wait for it or queue this one with POST /v1/jobs/retrain"
            )

    def _graphql(self) -> DagsterGraphQLClient:
        url = self.settings.dagster_url
        if not url:
            raise QueueUnavailable(
                "queued jobs need a Dagster webserver for this instance: set "
                "VERIFILY_DAGSTER_URL (e.g. http://127.0.0.1:3000) and run dagster-daemon"
            )
        u = urlparse(url)
        # A client per call: the gql client it wraps is not safe to share between threads.
        return DagsterGraphQLClient(
            u.hostname or "127.0.0.1",
            port_number=u.port,
            use_https=u.scheme == "https",
            path_prefix=u.path.rstrip("/"),
            timeout=300,
        )

    def _key_lock(self, key: str) -> threading.Lock:
        return self._key_locks[int(hashlib.sha256(key.encode()).hexdigest(), 16) % 64]

    def submit(
        self, fields: dict, *, reason: str | None, trigger: str, idempotency_key: str | None
    ) -> str:
        """Accept a retrain for Dagster's run queue and return its job (run) id at once; a
        repeated Idempotency-Key returns the first job."""
        model_id = launch.model_of(fields)
        digest = request_hash({**fields, "reason": reason})
        tags = {REQUEST_SHA256: digest}
        if reason:
            tags[REASON] = reason
        if idempotency_key is not None:
            if not _IDEMPOTENCY_KEY.match(idempotency_key):
                raise InputError("Idempotency-Key must be 1-200 printable ASCII characters")
            tags[IDEMPOTENCY_KEY] = idempotency_key
            lock = self._key_lock(idempotency_key)
        else:
            lock = threading.Lock()
        scheduled = {"model_id": model_id, "reason": reason, "trigger": trigger}
        # Refused now, not after the 202: the background submission must not meet bad config.
        payload = launch.queued_run(fields, trigger=trigger, tags=tags)
        # A dead in-process run of any model would hold the queue's limits: fail it first.
        launch.reap_zombies(self.instance)
        with lock:
            if idempotency_key is not None:
                prior = self._prior_job(idempotency_key, digest)
                if prior is not None:
                    return prior
            run_id = None
            if not self._queued or (self.origins.cached() is None and self.origins.get() is None):
                run_id = self._bootstrap(payload, model_id, digest, idempotency_key)
            pending = run_id is None
            if pending:
                run_id = str(uuid.uuid4())
                row = self.submissions.add(
                    run_id,
                    model_id=model_id,
                    request_sha256=digest,
                    payload=payload,
                    idempotency_key=idempotency_key,
                    event={"status": "scheduled", "source": "api", "details": scheduled},
                )
                if row["job_id"] != run_id:  # another API process took the key meanwhile
                    return self._same_request(row["job_id"], row["request_sha256"], digest)
        if pending:
            self.submitter.enqueue(run_id)
        else:
            self.events.append(run_id, "scheduled", source="api", details=scheduled)
        return run_id

    @staticmethod
    def _same_request(job_id: str, prior_digest: str | None, digest: str) -> str:
        if prior_digest != digest:
            raise IdempotencyConflict(
                f"this Idempotency-Key was used for a different request (job {job_id})"
            )
        return job_id

    def _prior_job(self, idempotency_key: str, digest: str) -> str | None:
        """The job an earlier submission with this key created, if any."""
        row = self.submissions.by_key(idempotency_key)
        if row is not None:
            return self._same_request(row["job_id"], row["request_sha256"], digest)
        prior = self.instance.get_run_records(
            dg.RunsFilter(tags={IDEMPOTENCY_KEY: idempotency_key}), limit=1
        )
        if prior:
            run = prior[0].dagster_run
            return self._same_request(run.run_id, run.tags.get(REQUEST_SHA256), digest)
        return None

    def _bootstrap(
        self, payload: dict, model_id: str, digest: str, idempotency_key: str | None
    ) -> str | None:
        """A job submitted through the webserver: the instance's first queued job, whose run
        gets the code location's origin for later jobs to borrow (see run_submitter), or every
        job on an instance without a run queue. None if another request's bootstrap provided
        the origin meanwhile."""
        if not self._queued:
            return self._via_webserver(payload, model_id, digest, idempotency_key)
        with self._bootstrap_lock:
            if self.origins.get(refresh=True) is not None:
                return None
            run_id = self._via_webserver(payload, model_id, digest, idempotency_key)
            self.origins.get(refresh=True)
        return run_id

    def _via_webserver(
        self, payload: dict, model_id: str, digest: str, idempotency_key: str | None
    ) -> str:
        launch.ensure_model_partition(self.instance, model_id)
        tags = {**payload["tags"], SUBMISSION_ID: str(uuid.uuid4())}
        run_id = self._submit_once(payload["run_config"], tags)
        self.submissions.add(
            run_id,
            model_id=model_id,
            request_sha256=digest,
            payload={"via_webserver": True},
            idempotency_key=idempotency_key,
            submitted=True,
        )
        return run_id

    def _submit_once(self, run_config: dict, tags: dict) -> str:
        """Submit through GraphQL; after a transport error, look the submission up by its
        unique tag before trying again, so a lost answer never makes a second run."""
        loc = self.settings.dagster_location
        last: Exception | None = None
        for _attempt in range(3):
            try:
                with self._submit_slots:
                    return self._graphql().submit_job_execution(
                        RETRAIN_JOB,
                        repository_location_name=loc,
                        repository_name="__repository__" if loc else None,
                        run_config=run_config,
                        tags=tags,
                    )
            except DagsterGraphQLClientError as e:
                if e.__cause__ is None:  # Dagster answered, with an error: retrying won't help
                    detail = ": ".join(str(a) for a in e.args[:2])
                    raise QueueUnavailable(f"Dagster refused the submission: {detail}") from None
                last = e
            prior = self.instance.get_run_records(
                dg.RunsFilter(tags={SUBMISSION_ID: tags[SUBMISSION_ID]}), limit=1
            )
            if prior:
                return prior[0].dagster_run.run_id
        cause = last.__cause__ if last is not None and last.__cause__ else last
        raise QueueUnavailable(
            f"cannot submit to the Dagster webserver at {self.settings.dagster_url}: "
            f"{type(cause).__name__}: {str(cause)[:300]}"
        )
