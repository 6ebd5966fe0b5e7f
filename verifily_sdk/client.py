"""VerifilyClient: the REST API as typed methods (requests; models shared with the server)."""

from __future__ import annotations

import getpass
import os
import time
import uuid
from typing import Any
from urllib.parse import quote

import requests

from verifily.api.schemas import (
    Approval,
    JobList,
    JobRecord,
    JobStatusResponse,
    JobSubmitted,
    RetrainResponse,
)

TERMINAL = ("SUCCEEDED", "FAILED", "CANCELED")


class VerifilyAPIError(Exception):
    """An HTTP error from the API, carrying its status code and the server's message."""

    def __init__(self, status_code: int, message: str, method: str, url: str):
        super().__init__(f"{method} {url} -> {status_code}: {message}")
        self.status_code = status_code
        self.message = message


class VerifilyClient:
    """Client for `verifily serve`. Defaults: VERIFILY_URL (else http://127.0.0.1:8080) and
    VERIFILY_API_KEY."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 300.0,
        session: requests.Session | None = None,
    ):
        self.base_url = base_url or os.environ.get("VERIFILY_URL") or "http://127.0.0.1:8080"
        self.base_url = self.base_url.rstrip("/")
        self.api_key = api_key if api_key is not None else os.environ.get("VERIFILY_API_KEY")
        self.timeout = timeout
        self.session = session or requests.Session()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        url = self.base_url + path
        headers = kwargs.pop("headers", {}) or {}
        if self.api_key:
            headers["X-API-Key"] = self.api_key
        resp = self.session.request(method, url, headers=headers, timeout=self.timeout, **kwargs)
        if resp.status_code >= 400:
            try:
                detail = resp.json().get("detail", resp.text)
            except ValueError:
                detail = resp.text
            raise VerifilyAPIError(resp.status_code, str(detail), method, url)
        return resp.json()

    @staticmethod
    def _request(dataset_dir: str, **fields: Any) -> dict:
        return {"dataset_dir": dataset_dir, **{k: v for k, v in fields.items() if v is not None}}

    def retrain(self, dataset_dir: str, **fields: Any) -> RetrainResponse:
        """Run a retrain and wait for its decision (POST /v1/retrain)."""
        body = self._request(dataset_dir, **fields)
        return RetrainResponse(**self._call("POST", "/v1/retrain", json=body))

    def submit_retrain_job(
        self, dataset_dir: str, idempotency_key: str | None = None, **fields: Any
    ) -> JobSubmitted:
        """Queue a retrain; a retried call with the same idempotency key gets the same job.

        A key is generated when none is given, so this call's own retries are safe too.
        """
        key = idempotency_key or str(uuid.uuid4())
        body = self._request(dataset_dir, **fields)
        data = self._call("POST", "/v1/jobs/retrain", json=body, headers={"Idempotency-Key": key})
        return JobSubmitted(**data)

    def get_job(self, job_id: str) -> JobStatusResponse:
        return JobStatusResponse(**self._call("GET", f"/v1/jobs/{quote(job_id, safe='')}"))

    def get_job_result(self, job_id: str) -> RetrainResponse:
        return RetrainResponse(**self._call("GET", f"/v1/jobs/{quote(job_id, safe='')}/result"))

    def wait_for_job(
        self, job_id: str, timeout: float = 600.0, poll_interval: float = 0.5
    ) -> JobStatusResponse:
        """Poll until the job is SUCCEEDED, FAILED or CANCELED; TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.get_job(job_id)
            if job.status in TERMINAL:
                return job
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {job.status} after {timeout:.0f}s")
            time.sleep(poll_interval)

    def list_jobs(
        self,
        model_id: str | None = None,
        status: str | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> JobList:
        params = {"modelId": model_id, "status": status, "limit": limit, "offset": offset}
        params = {k: v for k, v in params.items() if v is not None}
        return JobList(**self._call("GET", "/retraining/jobs", params=params))

    def get_job_record(self, job_id: str) -> JobRecord:
        return JobRecord(**self._call("GET", f"/retraining/jobs/{quote(job_id, safe='')}"))

    def trigger_model_retrain(
        self, model_id: str, reason: str | None = None, idempotency_key: str | None = None
    ) -> JobRecord:
        """Queue a retrain of a model configured on the server (IntelGraph's route)."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        data = self._call(
            "POST",
            f"/models/{quote(model_id, safe='')}/retrain",
            json={"reason": reason},
            headers=headers,
        )
        return JobRecord(**data)

    def post_job_event(self, job_id: str, status: str, **fields: Any) -> dict:
        """Report a worker's status transition and/or metrics for a job."""
        body = {"status": status, **{k: v for k, v in fields.items() if v is not None}}
        return self._call("POST", f"/retraining/jobs/{quote(job_id, safe='')}/events", json=body)

    def list_approvals(self, model: str | None = None, state: str | None = None) -> list[Approval]:
        """Approvals, oldest first, of a model and/or in a state (pending, approved, ...)."""
        params = {k: v for k, v in {"model": model, "state": state}.items() if v is not None}
        data = self._call("GET", "/v1/approvals", params=params)
        return [Approval(**a) for a in data["approvals"]]

    @staticmethod
    def _actor(actor: str | None) -> str:
        return actor or os.environ.get("VERIFILY_ACTOR") or getpass.getuser()

    def approve(self, approval_id: str, reason: str, actor: str | None = None) -> Approval:
        """Approve a pending approval: `champion` moves to its run (VerifilyAPIError 409 when
        the champion moved since the decision, or it is no longer pending). Actor: `actor`,
        else VERIFILY_ACTOR, else the OS user."""
        body = {"reason": reason, "actor": self._actor(actor)}
        path = f"/v1/approvals/{quote(approval_id, safe='')}/approve"
        return Approval(**self._call("POST", path, json=body))

    def reject(self, approval_id: str, reason: str, actor: str | None = None) -> Approval:
        """Reject a pending approval: nothing moves; the ledger records who and why."""
        body = {"reason": reason, "actor": self._actor(actor)}
        path = f"/v1/approvals/{quote(approval_id, safe='')}/reject"
        return Approval(**self._call("POST", path, json=body))
