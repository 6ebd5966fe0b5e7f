"""Verifily's own endpoints: sync retrain, queued jobs, job status and results."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request

from verifily.api.resolve import resolve_request
from verifily.api.schemas import (
    JobStatusResponse,
    JobSubmitted,
    RetrainRequestBody,
    RetrainResponse,
)
from verifily.tags import TRIGGER_API

router = APIRouter(prefix="/v1", tags=["verifily"])


def _fields(request: Request, body: RetrainRequestBody) -> dict:
    s = request.app.state.settings
    return resolve_request(body.model_dump(), s.data_roots, s.output_root)


@router.post("/retrain", response_model=RetrainResponse)
def retrain(body: RetrainRequestBody, request: Request) -> dict:
    """Run a retrain now and answer its decision (blocks until the run finishes)."""
    return request.app.state.jobs.run_sync(_fields(request, body))


@router.post("/jobs/retrain", response_model=JobSubmitted, status_code=202)
def submit_retrain(
    body: RetrainRequestBody,
    request: Request,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> dict:
    """Accept a retrain; answers at once with its job id (a retry with the same
    Idempotency-Key: the same job, with its current status)."""
    jobs = request.app.state.jobs
    job_id = jobs.submit(
        _fields(request, body), reason=None, trigger=TRIGGER_API, idempotency_key=idempotency_key
    )
    st = jobs.status(job_id)
    return {k: st[k] for k in ("job_id", "status", "dagster_run_id")}


@router.get("/jobs/{job_id}", response_model=JobStatusResponse)
def job_status(job_id: str, request: Request) -> dict:
    """QUEUED, RUNNING, SUCCEEDED, FAILED or CANCELED; `job_id` may be the job id or the
    Dagster run id."""
    return request.app.state.jobs.status(job_id)


@router.get("/jobs/{job_id}/result", response_model=RetrainResponse)
def job_result(job_id: str, request: Request) -> dict:
    """The response object of a finished job (409 while it is not finished)."""
    return request.app.state.jobs.result(job_id)
