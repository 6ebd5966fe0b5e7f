"""Reading retrain jobs: status, result and the IntelGraph job record, from the stored
submission, the Dagster run, its materializations and event log, the published run directory and
the job's reported events."""

from __future__ import annotations

import dagster as dg

from verifily.api.jobs.job_events import event_list, fold
from verifily.api.jobs.k8s_steps import step_k8s_jobs
from verifily.api.jobs.lookup import JobRef, find_job, ref_of_run, run_of_submission
from verifily.api.jobs.run_facts import materializations, run_error, window_record
from verifily.api.jobs.statuses import (
    NOT_SUBMITTED,
    STATUS_MAP,
    WORKER_STATUS,
    JobNotDone,
    iso,
    job_status,
)
from verifily.errors import InputError
from verifily.feeds.window import DataWindow
from verifily.jobstore.events import STATUSES, JobEventStore
from verifily.jobstore.submissions import SubmissionStore, queued_request
from verifily.retrain.response import response, run_outcome
from verifily.tags import (
    DATA_WINDOW,
    K8S_NAMESPACE,
    MLFLOW_RUN_ID,
    PARTITION,
    REASON,
    RETRAIN_JOB,
    TRIGGER,
)
from verifily.tracking.outbox import tracked_run_id


class JobRecords:
    """Every read of a job the REST routes and GraphQL resolvers share, and worker reports."""

    def __init__(
        self, instance: dg.DagsterInstance, events: JobEventStore, submissions: SubmissionStore
    ):
        self.instance = instance
        self.events = events
        self.submissions = submissions

    def find(self, any_id: str) -> JobRef:
        """The job with this job id or Dagster run id (404 otherwise)."""
        return find_job(self.instance, self.submissions, any_id)

    @staticmethod
    def _pending_status(sub: dict) -> dict:
        """Status fields of an accepted job Dagster has no run for yet (or never will: its
        request failed to become one)."""
        failed = sub["error"] is not None
        return {
            "status": "FAILED" if failed else "QUEUED",
            "dagster_status": NOT_SUBMITTED,
            "error": f"not run: {sub['error']}" if failed else None,
        }

    def status(self, any_id: str) -> dict:
        """QUEUED/RUNNING/SUCCEEDED/FAILED/CANCELED with Dagster's own status and times."""
        ref = self.find(any_id)
        sub, rec = ref.submission, ref.run
        created = sub["created_at"] if sub else None
        if rec is None:
            assert sub is not None  # find() returns a run or a submission
            return {
                "job_id": ref.job_id,
                "dagster_run_id": None,
                "model_id": sub["model_id"],
                "created_at": created,
                "started_at": None,
                "completed_at": None,
                **self._pending_status(sub),
            }
        run = rec.dagster_run
        status = job_status(run, self.instance.run_retries_enabled)
        err = run_error(self.instance, run.run_id) if status == "FAILED" else None
        return {
            "job_id": ref.job_id,
            "dagster_run_id": run.run_id,
            "status": status,
            "dagster_status": run.status.value,
            "model_id": run.tags.get(PARTITION),
            "created_at": created or iso(rec.create_timestamp),
            "started_at": iso(rec.start_time),
            "completed_at": iso(rec.end_time),
            "error": err["message"] if err else None,
        }

    def result(self, any_id: str) -> dict:
        """The response object, read back from the published run directory."""
        st = self.status(any_id)
        if st["status"] != "SUCCEEDED":
            why = f": {st['error']}" if st["error"] else ""
            raise JobNotDone(f"job {st['job_id']} is {st['status']}, no result{why}")
        run_id = st["dagster_run_id"]
        decision = materializations(self.instance, run_id).get("decision", {})
        run_dir = decision.get("run_dir")
        if not run_dir:
            raise JobNotDone(f"job {st['job_id']} succeeded but recorded no run directory")
        signed = {k: decision.get(k) for k in ("attestation_digest", "signed_by")}
        return {
            **response(run_dir, run_id),
            **signed,
            "job_id": st["job_id"],
            "dagster_run_id": run_id,
        }

    def record(self, any_id: str) -> dict:
        """The IntelGraph job record of the job with this job id or Dagster run id."""
        return self._build_record(self.find(any_id))

    def _build_record(self, ref: JobRef) -> dict:
        if ref.run is None:
            assert ref.submission is not None
            return self._pending_record(ref.job_id, ref.submission)
        rec, sub = ref.run, ref.submission
        run = rec.dagster_run
        status = job_status(run, self.instance.run_retries_enabled)
        mats = materializations(self.instance, run.run_id)
        events = self.events.events(ref.job_id)
        details, metrics = fold(events)
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
        window = DataWindow.from_json(run.tags.get(DATA_WINDOW))
        err = run_error(self.instance, run.run_id) if status == "FAILED" else None
        if err is None and status == "FAILED" and details.get("error"):
            err = {"message": str(details["error"]), "step": None}
        run_dir = mats.get("decision", {}).get("run_dir")
        outcome = self._outcome(run_dir) if status == "SUCCEEDED" and run_dir else None
        k8s = step_k8s_jobs(self.instance, run.run_id, run.tags.get(K8S_NAMESPACE))
        return {
            "id": ref.job_id,
            "dagsterRunId": run.run_id,
            "modelId": run.tags.get(PARTITION),
            "reason": run.tags.get(REASON) or details.get("reason"),
            "status": status,
            "trigger": run.tags.get(TRIGGER),
            "dataWindow": window_record(window) if window else None,
            "recordCounts": counts,
            # The step Job running now (or last); every one in k8sJobs.
            "k8sJobName": k8s[-1]["job_name"] if k8s else details.get("k8s_job_name"),
            "k8sNamespace": k8s[-1]["namespace"] if k8s else details.get("k8s_namespace"),
            "k8sJobs": k8s,
            # The run's own MLflow run (opened at request, or later by the tracking outbox's
            # drainer) over a worker's report.
            "mlflowRunId": run.tags.get(MLFLOW_RUN_ID)
            or tracked_run_id(run.run_id)
            or details.get("mlflow_run_id"),
            # A completed job's own evaluation; worker reports until then.
            "metrics": (outcome["metrics"] if outcome else metrics) or None,
            "decision": outcome["decision"] if outcome else None,
            "scheduledAt": sub["created_at"] if sub else iso(rec.create_timestamp),
            "startedAt": iso(rec.start_time),
            "completedAt": iso(rec.end_time),
            "error": err,
            "runDir": run_dir,
            "events": event_list(events),
        }

    @staticmethod
    def _outcome(run_dir: str) -> dict | None:
        try:
            return run_outcome(run_dir)
        except (OSError, ValueError, KeyError):
            return None  # not readable from this host: the record still shows the rest

    def _pending_record(self, job_id: str, sub: dict) -> dict:
        """The record of a job Dagster has no run for yet: the request and worker reports."""
        st = self._pending_status(sub)
        _fields, trigger, tags = queued_request(sub)
        events = self.events.events(job_id)
        details, metrics = fold(events)
        return {
            "id": job_id,
            "dagsterRunId": None,
            "modelId": sub["model_id"],
            "reason": tags.get(REASON) or details.get("reason"),
            "status": st["status"],
            "trigger": trigger,
            "k8sJobName": details.get("k8s_job_name"),
            "k8sNamespace": details.get("k8s_namespace"),
            "k8sJobs": [],
            "mlflowRunId": details.get("mlflow_run_id"),
            "metrics": metrics or None,
            "scheduledAt": sub["created_at"],
            "error": {"message": st["error"], "step": None} if st["error"] else None,
            "events": event_list(events),
        }

    def _without_run(self, model_id: str | None, status: str | None) -> list[JobRef]:
        """Accepted jobs Dagster has no run for (yet, or ever: FAILED), newest first, filtered
        like runs."""
        if status not in (None, "QUEUED", "FAILED"):
            return []
        refs = []
        for row in self.submissions.without_run(model_id):
            if status is not None and self._pending_status(row)["status"] != status:
                continue
            if run_of_submission(self.instance, self.submissions, row) is None:
                refs.append(JobRef(row["job_id"], row, None))
        return refs[::-1]

    def list_records(
        self, model_id: str | None, status: str | None, limit: int, offset: int
    ) -> dict:
        """Newest first: jobs still waiting for their run, then runs; filtered by model
        (partition) and by mapped status."""
        statuses = None
        if status is not None:
            statuses = [s for s, mapped in STATUS_MAP.items() if mapped == status]
            if not statuses:
                raise InputError(f"unknown status {status!r}")
        waiting = self._without_run(model_id, status)
        filters = dg.RunsFilter(
            job_name=RETRAIN_JOB,
            tags={PARTITION: model_id} if model_id else {},
            statuses=statuses or [],
        )
        total = len(waiting) + self.instance.get_runs_count(filters)
        page = waiting[offset : offset + limit]
        run_offset = max(0, offset - len(waiting))
        if len(page) < limit:
            recs = self.instance.get_run_records(filters, limit=run_offset + limit - len(page))
            page += [ref_of_run(self.submissions, r) for r in recs[run_offset:]]
        # A job whose first run never started and was retried by Dagster has two runs: show
        # it once, by its newest run (runs come newest first).
        seen: set[str] = set()
        page = [ref for ref in page if not (ref.job_id in seen or seen.add(ref.job_id))]
        return {
            "jobs": [self._build_record(ref) for ref in page],
            "total": total,
            "limit": limit,
            "offset": offset,
        }

    def add_event(self, any_id: str, body: dict) -> dict:
        """Record a worker's report (status transition and/or metrics) for an existing job."""
        ref = self.find(any_id)
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
        return self.events.append(ref.job_id, status, source="worker", details=details)
