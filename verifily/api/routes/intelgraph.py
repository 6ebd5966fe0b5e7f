"""The IntelGraph ML service's endpoints, over the same Dagster runs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Header, Path, Query, Request

from verifily.api.resolve import load_model_sources, resolve_request
from verifily.api.schemas import (
    MODEL_ID_PATTERN,
    JobList,
    JobRecord,
    JobStatus,
    ModelRetrainBody,
    WorkerEventBody,
)
from verifily.errors import VerifilyError
from verifily.tags import TRIGGER_INTELGRAPH

router = APIRouter(tags=["intelgraph"])


class ModelNotFound(VerifilyError):
    http_status = 404


def trigger_model_retrain(
    app, model_id: str, reason: str | None, idempotency_key: str | None = None
) -> dict:
    """Queue a retrain of a model of the models file (its `dataset_dir`); the new job's record."""
    s = app.state.settings
    sources = load_model_sources(s.models_file)
    if model_id not in sources:
        raise ModelNotFound(
            f"model {model_id!r} is not configured: it has no dataset_dir in the models file "
            f"({s.models_source}); add "
            "`dataset_dir:` under its entry in `models:`"
        )
    fields = resolve_request(
        {**sources[model_id], "project_id": model_id}, s.data_roots, s.output_root
    )
    job_id = app.state.jobs.submit(
        fields, reason=reason, trigger=TRIGGER_INTELGRAPH, idempotency_key=idempotency_key
    )
    return app.state.jobs.record(job_id)


@router.post("/models/{modelId}/retrain", response_model=JobRecord, status_code=202)
def model_retrain(
    request: Request,
    modelId: Annotated[str, Path(pattern=MODEL_ID_PATTERN)],
    body: Annotated[ModelRetrainBody | None, Body()] = None,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> dict:
    """Queue a retrain of a configured model, with an optional reason."""
    reason = body.reason if body else None
    return trigger_model_retrain(request.app, modelId, reason, idempotency_key)


@router.get("/retraining/jobs", response_model=JobList)
def list_jobs(
    request: Request,
    modelId: Annotated[str | None, Query(pattern=MODEL_ID_PATTERN)] = None,
    status: JobStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> dict:
    """Retraining jobs, newest first, filtered by model and status."""
    return request.app.state.jobs.list_records(modelId, status, limit, offset)


@router.get("/retraining/jobs/{jobId}", response_model=JobRecord)
def get_job(request: Request, jobId: str) -> dict:
    """One job record: model, reason, data window, record counts, k8s job, MLflow run, times."""
    return request.app.state.jobs.record(jobId)


@router.post("/retraining/jobs/{jobId}/events", status_code=201)
def post_event(request: Request, jobId: str, body: WorkerEventBody) -> dict:
    """A worker reports a status transition and/or evaluation metrics for a job."""
    return request.app.state.jobs.add_event(jobId, body.model_dump())
