"""Retrain jobs as Dagster runs: sync in-process runs, queued submissions, status and results.

A job id is a Dagster run id. A queued job is stored (verifily.api.submissions) under the run id
it will have, answered at once, and put on the instance's run queue by a background thread
(verifily.api.run_submitter); the daemon launches it under its concurrency limits. Only the very
first submission on an instance goes through the Dagster webserver's GraphQL, to learn the code
location's origin. The API holds no state beyond the submission and job event tables.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import uuid
from datetime import UTC, datetime
from urllib.parse import urlparse

import dagster as dg
from dagster_graphql import DagsterGraphQLClient, DagsterGraphQLClientError

from verifily import retrain as core
from verifily.api.run_submitter import RunOrigins, RunSubmitter
from verifily.api.settings import ApiSettings
from verifily.api.submissions import SubmissionStore
from verifily.errors import InputError, VerifilyError
from verifily.job_events import STATUSES, JobEventStore

JOB_NAME = "retrain_job"
PARTITION_TAG = "dagster/partition"
IDEMPOTENCY_TAG = "verifily/idempotency_key"
REQUEST_HASH_TAG = "verifily/request_sha256"
SUBMISSION_TAG = "verifily/submission_id"
# The webserver plans each submission through its code server; more parallel submissions only
# queue up there and time out, so the API queues them itself (bootstrap submissions only).
SUBMIT_CONCURRENCY = 4
# Dagster status shown for a job the API accepted but has not yet put on Dagster's queue.
NOT_SUBMITTED = "NOT_SUBMITTED"
REASON_TAG = "verifily/reason"
TRIGGER_TAG = "verifily/trigger"
_RUN_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")

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
WORKER_STATUS = {
    "QUEUED": "queued",
    "RUNNING": "started",
    "SUCCEEDED": "completed",
    "FAILED": "failed",
    "CANCELED": "canceled",
}


class JobNotFound(VerifilyError):
    http_status = 404


class JobNotDone(VerifilyError):
    http_status = 409


class IdempotencyConflict(VerifilyError):
    http_status = 422


class QueueUnavailable(VerifilyError):
    http_status = 503


def _iso(ts: float | datetime | None) -> str | None:
    if ts is None:
        return None
    if isinstance(ts, datetime):
        return (ts if ts.tzinfo else ts.replace(tzinfo=UTC)).isoformat()
    return datetime.fromtimestamp(ts, UTC).isoformat()


def request_hash(fields: dict) -> str:
    """A digest of the resolved request, to tell a retry from a different request."""
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


def _event_list(events: list[dict]) -> list[dict]:
    """A job's events as its record shows them."""
    return [{k: ev[k] for k in ("ts", "status", "source", "details")} for ev in events]


def _fold(events: list[dict]) -> tuple[dict, dict]:
    """(latest value of every reported detail, merged metrics) over a job's events."""
    details: dict = {}
    metrics: dict = {}
    for ev in events:
        d = ev["details"] or {}
        metrics.update(d.get("metrics") or {})
        details.update({k: v for k, v in d.items() if v is not None and k != "metrics"})
    return details, metrics


class JobService:
    """Every job operation the REST routes and GraphQL resolvers share."""

    def __init__(self, instance: dg.DagsterInstance, settings: ApiSettings):
        self.instance = instance
        self.settings = settings
        self.events = JobEventStore(settings.jobs_db_url)
        self._sync_lock = threading.Lock()
        # Striped locks: retries with one key serialize, memory stays bounded however many keys.
        self._key_locks = [threading.Lock() for _ in range(64)]
        self._submit_slots = threading.BoundedSemaphore(SUBMIT_CONCURRENCY)
        self._bootstrap_lock = threading.Lock()
        # Runs the API creates itself are only enqueued, and the daemon launches them; an
        # instance without a run queue launches at submission, which needs the webserver's
        # workspace, so there every job goes through the webserver.
        self._queued = isinstance(instance.run_coordinator, dg.QueuedRunCoordinator)
        self.submissions = SubmissionStore(settings.jobs_db_url)
        self.origins = RunOrigins(instance, settings.dagster_location, settings.code_image)
        self.submitter = RunSubmitter(instance, self.submissions, self.events, self.origins)

    def start(self) -> None:
        """Start putting accepted jobs on Dagster's queue, those of earlier processes first."""
        self.submitter.start()

    # -- running -----------------------------------------------------------------------------

    def run_sync(self, fields: dict, tags: dict | None = None) -> dict:
        """Execute the retrain in this process; one at a time, since in-process runs share
        this process's stdout capture and the SQLite instance (use queued jobs for throughput)."""
        from verifily_assets.runner import run_retrain

        self._refuse_if_in_flight(fields.get("project_id") or "default")
        with self._sync_lock:
            resp = run_retrain(
                fields,
                tags={TRIGGER_TAG: "api-sync", **(tags or {})},
                instance=self.instance,
                log_level="CRITICAL",
            )
        return {**resp, "job_id": resp["run_id"]}

    def _refuse_if_in_flight(self, model_id: str) -> None:
        """Runs of one model share the IO manager's per-partition storage, so a sync run must
        not overlap a queued run of the same model (the queue serializes the queued ones)."""
        busy = self.instance.get_run_records(
            dg.RunsFilter(
                job_name=JOB_NAME,
                tags={PARTITION_TAG: model_id},
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
        from verifily_assets.definitions import defs
        from verifily_assets.runner import run_config_for

        model_id = fields.get("project_id") or "default"
        digest = request_hash({**fields, "reason": reason})
        tags = {
            PARTITION_TAG: model_id,
            "verifily/model_id": model_id,
            TRIGGER_TAG: trigger,
            REQUEST_HASH_TAG: digest,
        }
        if reason:
            tags[REASON_TAG] = reason
        if idempotency_key is not None:
            if not _IDEMPOTENCY_KEY.match(idempotency_key):
                raise InputError("Idempotency-Key must be 1-200 printable ASCII characters")
            tags[IDEMPOTENCY_TAG] = idempotency_key
            lock = self._key_lock(idempotency_key)
        else:
            lock = threading.Lock()
        scheduled = {"model_id": model_id, "reason": reason, "trigger": trigger}
        run_config = run_config_for(fields)
        # Refused now, not after the 202: the background submission must not meet bad config.
        try:
            dg.validate_run_config(defs.resolve_job_def(JOB_NAME), run_config)
        except dg.DagsterInvalidConfigError as e:
            raise InputError(f"invalid retrain request: {e}") from None
        with lock:
            if idempotency_key is not None:
                prior = self._prior_job(idempotency_key, digest)
                if prior is not None:
                    return prior
            run_id = None
            if not self._queued or (self.origins.cached() is None and self.origins.get() is None):
                run_id = self._bootstrap(fields, tags, model_id, digest, idempotency_key)
            pending = run_id is None
            if pending:
                run_id = str(uuid.uuid4())
                row = self.submissions.add(
                    run_id,
                    model_id=model_id,
                    request_sha256=digest,
                    payload={"run_config": run_config, "tags": tags},
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
            dg.RunsFilter(tags={IDEMPOTENCY_TAG: idempotency_key}), limit=1
        )
        if prior:
            run = prior[0].dagster_run
            return self._same_request(run.run_id, run.tags.get(REQUEST_HASH_TAG), digest)
        return None

    def _bootstrap(
        self,
        fields: dict,
        tags: dict,
        model_id: str,
        digest: str,
        idempotency_key: str | None,
    ) -> str | None:
        """A job submitted through the webserver: the instance's first queued job, whose run
        gets the code location's origin for later jobs to borrow (see run_submitter), or every
        job on an instance without a run queue. None if another request's bootstrap provided
        the origin meanwhile."""
        if not self._queued:
            return self._via_webserver(fields, tags, model_id, digest, idempotency_key)
        with self._bootstrap_lock:
            if self.origins.get(refresh=True) is not None:
                return None
            run_id = self._via_webserver(fields, tags, model_id, digest, idempotency_key)
            self.origins.get(refresh=True)
        return run_id

    def _via_webserver(
        self, fields: dict, tags: dict, model_id: str, digest: str, idempotency_key: str | None
    ) -> str:
        from verifily_assets.partitions import ensure_model_partition

        ensure_model_partition(self.instance, model_id)
        run_id = self._submit_once(fields, {**tags, SUBMISSION_TAG: str(uuid.uuid4())})
        self.submissions.add(
            run_id,
            model_id=model_id,
            request_sha256=digest,
            payload={"via_webserver": True},
            idempotency_key=idempotency_key,
            submitted=True,
        )
        return run_id

    def _submit_once(self, fields: dict, tags: dict) -> str:
        """Submit through GraphQL; after a transport error, look the submission up by its
        unique tag before trying again, so a lost answer never makes a second run."""
        from verifily_assets.runner import run_config_for

        loc = self.settings.dagster_location
        last: Exception | None = None
        for _attempt in range(3):
            try:
                with self._submit_slots:
                    return self._graphql().submit_job_execution(
                        JOB_NAME,
                        repository_location_name=loc,
                        repository_name="__repository__" if loc else None,
                        run_config=run_config_for(fields),
                        tags=tags,
                    )
            except DagsterGraphQLClientError as e:
                if e.__cause__ is None:  # Dagster answered, with an error: retrying won't help
                    detail = ": ".join(str(a) for a in e.args[:2])
                    raise QueueUnavailable(f"Dagster refused the submission: {detail}") from None
                last = e
            prior = self.instance.get_run_records(
                dg.RunsFilter(tags={SUBMISSION_TAG: tags[SUBMISSION_TAG]}), limit=1
            )
            if prior:
                return prior[0].dagster_run.run_id
        cause = last.__cause__ if last is not None and last.__cause__ else last
        raise QueueUnavailable(
            f"cannot submit to the Dagster webserver at {self.settings.dagster_url}: "
            f"{type(cause).__name__}: {str(cause)[:300]}"
        )

    # -- reading -----------------------------------------------------------------------------

    def _record(self, job_id: str) -> dg.RunRecord | dict:
        """The job's Dagster run record, or its stored submission while Dagster has no run."""
        if not _RUN_ID.match(job_id or ""):
            raise JobNotFound(f"no job {job_id!r}")
        rec = self.instance.get_run_record_by_id(job_id)
        if rec is None:
            sub = self.submissions.get(job_id)
            if sub is not None and not sub["submitted_at"]:
                return sub
            # Submitted in the meantime: the run exists now.
            rec = self.instance.get_run_record_by_id(job_id) if sub is not None else None
        if rec is None or rec.dagster_run.job_name != JOB_NAME:
            raise JobNotFound(f"no job {job_id!r}")
        return rec

    @staticmethod
    def _not_submitted(sub: dict) -> dict:
        """Status fields of an accepted job that is not on Dagster's queue yet (or never will
        be: the submission failed)."""
        failed = sub["error"] is not None
        return {
            "status": "FAILED" if failed else "QUEUED",
            "dagster_status": NOT_SUBMITTED,
            "model_id": sub["model_id"],
            "created_at": sub["created_at"],
            "error": f"not submitted to Dagster: {sub['error']}" if failed else None,
        }

    def _materializations(self, job_id: str) -> dict[str, dict]:
        """Asset key -> metadata values of what the run materialized."""
        out: dict[str, dict] = {}
        for entry in self.instance.all_logs(
            job_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
        ):
            mat = entry.asset_materialization
            if mat is not None:
                out[mat.asset_key.to_user_string()] = {
                    k: v.value for k, v in (mat.metadata or {}).items()
                }
        return out

    def _error(self, job_id: str) -> dict | None:
        for entry in self.instance.all_logs(job_id, of_type=dg.DagsterEventType.STEP_FAILURE):
            data = entry.dagster_event.step_failure_data if entry.dagster_event else None
            if data is None:
                continue
            ufd = data.user_failure_data
            msg = (ufd.description if ufd else None) or (
                data.error.message.strip() if data.error else "step failed"
            )
            return {"message": msg, "step": entry.step_key}
        for entry in self.instance.all_logs(job_id, of_type=dg.DagsterEventType.RUN_FAILURE):
            return {"message": entry.message or "run failed", "step": None}
        return None

    def status(self, job_id: str) -> dict:
        rec = self._record(job_id)
        if isinstance(rec, dict):
            return {"job_id": job_id, "started_at": None, "completed_at": None} | (
                self._not_submitted(rec)
            )
        run = rec.dagster_run
        status = STATUS_MAP.get(run.status, "RUNNING")
        err = self._error(job_id) if status == "FAILED" else None
        return {
            "job_id": job_id,
            "status": status,
            "dagster_status": run.status.value,
            "model_id": run.tags.get(PARTITION_TAG),
            "created_at": _iso(rec.create_timestamp),
            "started_at": _iso(rec.start_time),
            "completed_at": _iso(rec.end_time),
            "error": err["message"] if err else None,
        }

    def result(self, job_id: str) -> dict:
        """The response object, read back from the published run directory."""
        st = self.status(job_id)
        if st["status"] != "SUCCEEDED":
            why = f": {st['error']}" if st["error"] else ""
            raise JobNotDone(f"job {job_id} is {st['status']}, no result{why}")
        run_dir = self._materializations(job_id).get("decision", {}).get("run_dir")
        if not run_dir:
            raise JobNotDone(f"job {job_id} succeeded but recorded no run directory")
        resp = core.response(run_dir, job_id)
        return {**resp, "job_id": job_id}

    def record(self, job_id: str) -> dict:
        """The IntelGraph job record: the Dagster run, its materializations and its events."""
        return self._build_record(self._record(job_id))

    def _build_record(self, rec: dg.RunRecord | dict) -> dict:
        if isinstance(rec, dict):
            return self._pending_record(rec)
        run = rec.dagster_run
        job_id = run.run_id
        status = STATUS_MAP.get(run.status, "RUNNING")
        mats = self._materializations(job_id)
        events = self.events.events(job_id)
        details, metrics = _fold(events)
        ds = mats.get("dataset_artifact", {})
        counts = (
            {
                "total": int(ds["record_count"]),
                "train": int(ds.get("train_records", 0)),
                "eval": int(ds.get("eval_records", 0)),
            }
            if "record_count" in ds
            else None
        )
        window = {
            k: run.tags.get(f"verifily/data_window_{k}") or ds.get(f"window_{k}")
            for k in ("start", "end")
        }
        err = self._error(job_id) if status == "FAILED" else None
        if err is None and details.get("error"):
            err = {"message": str(details["error"]), "step": None}
        return {
            "id": job_id,
            "modelId": run.tags.get(PARTITION_TAG),
            "reason": run.tags.get(REASON_TAG) or details.get("reason"),
            "status": status,
            "trigger": run.tags.get(TRIGGER_TAG),
            "dataWindow": window if any(window.values()) else None,
            "recordCounts": counts,
            "k8sJobName": details.get("k8s_job_name") or run.tags.get("verifily/k8s_job_name"),
            "k8sNamespace": details.get("k8s_namespace") or run.tags.get("verifily/k8s_namespace"),
            "mlflowRunId": details.get("mlflow_run_id") or run.tags.get("verifily/mlflow_run_id"),
            "metrics": metrics or None,
            "scheduledAt": _iso(rec.create_timestamp),
            "startedAt": _iso(rec.start_time),
            "completedAt": _iso(rec.end_time),
            "error": err,
            "runDir": mats.get("decision", {}).get("run_dir"),
            "events": _event_list(events),
        }

    def _pending_record(self, sub: dict) -> dict:
        """The record of a job not on Dagster's queue yet: the request and worker reports."""
        st = self._not_submitted(sub)
        tags = sub["payload"].get("tags", {})
        events = self.events.events(sub["job_id"])
        details, metrics = _fold(events)
        err = st["error"] or details.get("error")
        return {
            "id": sub["job_id"],
            "modelId": sub["model_id"],
            "reason": tags.get(REASON_TAG) or details.get("reason"),
            "status": st["status"],
            "trigger": tags.get(TRIGGER_TAG),
            "k8sJobName": details.get("k8s_job_name"),
            "k8sNamespace": details.get("k8s_namespace"),
            "mlflowRunId": details.get("mlflow_run_id"),
            "metrics": metrics or None,
            "scheduledAt": sub["created_at"],
            "error": {"message": str(err), "step": None} if err else None,
            "events": _event_list(events),
        }

    def list_records(
        self, model_id: str | None, status: str | None, limit: int, offset: int
    ) -> dict:
        """Newest first; filtered by model (partition) and by mapped status."""
        statuses = None
        if status is not None:
            statuses = [s for s, mapped in STATUS_MAP.items() if mapped == status]
            if not statuses:
                raise InputError(f"unknown status {status!r}")
        filters = dg.RunsFilter(
            job_name=JOB_NAME,
            tags={PARTITION_TAG: model_id} if model_id else {},
            statuses=statuses or [],
        )
        total = self.instance.get_runs_count(filters)
        recs = self.instance.get_run_records(filters, limit=offset + limit)[offset:]
        return {
            "jobs": [self._build_record(r) for r in recs],
            "total": total,
            "limit": limit,
            "offset": offset,
        }

    def add_event(self, job_id: str, body: dict) -> dict:
        """Record a worker's report (status transition and/or metrics) for an existing job."""
        self._record(job_id)
        raw = body["status"]
        status = WORKER_STATUS.get(raw.upper(), raw.lower())
        if status not in STATUSES:
            raise InputError(
                f"unknown status {raw!r}; expected one of {', '.join([*WORKER_STATUS, *STATUSES])}"
            )
        details = {
            **(body.get("details") or {}),
            "message": body.get("message"),
            "metrics": body.get("metrics"),
            "k8s_job_name": body.get("k8sJobName"),
            "k8s_namespace": body.get("k8sNamespace"),
            "mlflow_run_id": body.get("mlflowRunId"),
        }
        details = {k: v for k, v in details.items() if v is not None}
        return self.events.append(job_id, status, source="worker", details=details)
