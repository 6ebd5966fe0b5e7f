"""Reading retrain jobs: status, result and the IntelGraph job record, from the Dagster run,
its materializations and the job's reported events."""

from __future__ import annotations

import dagster as dg

from verifily.api.jobs.statuses import (
    NOT_SUBMITTED,
    RUN_ID,
    STATUS_MAP,
    WORKER_STATUS,
    JobNotDone,
    JobNotFound,
    iso,
)
from verifily.errors import InputError
from verifily.feeds.window import DataWindow
from verifily.jobstore.events import STATUSES, JobEventStore
from verifily.jobstore.submissions import SubmissionStore
from verifily.retrain.response import response
from verifily.tags import DATA_WINDOW, MLFLOW_RUN_ID, PARTITION, REASON, RETRAIN_JOB, TRIGGER


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


def window_record(window: DataWindow) -> dict:
    """A feed window as the job record shows it: record range, time span, the feed's words."""
    return {
        "from": window.first,
        "to": window.last,
        "start": window.start,
        "end": window.end,
        "feed": window.feed,
    }


class JobRecords:
    """Every read of a job the REST routes and GraphQL resolvers share, and worker reports."""

    def __init__(
        self, instance: dg.DagsterInstance, events: JobEventStore, submissions: SubmissionStore
    ):
        self.instance = instance
        self.events = events
        self.submissions = submissions

    def _record(self, job_id: str) -> dg.RunRecord | dict:
        """The job's Dagster run record, or its stored submission while Dagster has no run."""
        if not RUN_ID.match(job_id or ""):
            raise JobNotFound(f"no job {job_id!r}")
        rec = self.instance.get_run_record_by_id(job_id)
        if rec is None:
            sub = self.submissions.get(job_id)
            if sub is not None and not sub["submitted_at"]:
                return sub
            # Submitted in the meantime: the run exists now.
            rec = self.instance.get_run_record_by_id(job_id) if sub is not None else None
        if rec is None or rec.dagster_run.job_name != RETRAIN_JOB:
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
            "model_id": run.tags.get(PARTITION),
            "created_at": iso(rec.create_timestamp),
            "started_at": iso(rec.start_time),
            "completed_at": iso(rec.end_time),
            "error": err["message"] if err else None,
        }

    def result(self, job_id: str) -> dict:
        """The response object, read back from the published run directory."""
        st = self.status(job_id)
        if st["status"] != "SUCCEEDED":
            why = f": {st['error']}" if st["error"] else ""
            raise JobNotDone(f"job {job_id} is {st['status']}, no result{why}")
        decision = self._materializations(job_id).get("decision", {})
        run_dir = decision.get("run_dir")
        if not run_dir:
            raise JobNotDone(f"job {job_id} succeeded but recorded no run directory")
        resp = response(run_dir, job_id)
        signed = {k: decision.get(k) for k in ("attestation_digest", "signed_by")}
        return {**resp, **signed, "job_id": job_id}

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
        window = DataWindow.from_json(run.tags.get(DATA_WINDOW))
        err = self._error(job_id) if status == "FAILED" else None
        if err is None and details.get("error"):
            err = {"message": str(details["error"]), "step": None}
        return {
            "id": job_id,
            "modelId": run.tags.get(PARTITION),
            "reason": run.tags.get(REASON) or details.get("reason"),
            "status": status,
            "trigger": run.tags.get(TRIGGER),
            "dataWindow": window_record(window) if window else None,
            "recordCounts": counts,
            "k8sJobName": details.get("k8s_job_name"),
            "k8sNamespace": details.get("k8s_namespace"),
            "mlflowRunId": details.get("mlflow_run_id") or run.tags.get(MLFLOW_RUN_ID),
            "metrics": metrics or None,
            "scheduledAt": iso(rec.create_timestamp),
            "startedAt": iso(rec.start_time),
            "completedAt": iso(rec.end_time),
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
            "reason": tags.get(REASON) or details.get("reason"),
            "status": st["status"],
            "trigger": tags.get(TRIGGER),
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
            job_name=RETRAIN_JOB,
            tags={PARTITION: model_id} if model_id else {},
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
