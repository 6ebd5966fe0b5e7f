"""Request and response models shared by the API server and the SDK (pydantic, no FastAPI)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# Model ids are Dagster partition keys and appear in run tags: keep them to a safe alphabet.
MODEL_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
JobStatus = Literal["QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELED"]


class RetrainRequestBody(BaseModel):
    """The seed's retrain request; paths must lie inside the server's data roots."""

    model_config = ConfigDict(extra="forbid")

    dataset_dir: str = Field(description="Dataset artifact directory (dataset.jsonl + hashes.json)")
    output_dir: str | None = Field(None, description="Where run directories go")
    project_id: str = Field("default", pattern=MODEL_ID_PATTERN, description="Model/project id")
    base_run_dir: str | None = Field(None, description="Baseline run directory")
    contaminated_run_dir: str | None = Field(None, description="Run whose contamination gates")
    mode: str = Field("mock", max_length=16, description="mock, or real (needs enabling)")
    seed: int = Field(42, ge=0, le=2**31 - 1)
    metric: str = Field("f1", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    notes: str = Field("", max_length=10_000)


class RetrainResponse(BaseModel):
    """A finished retrain: where its run directory is and what it decided."""

    run_dir: str
    decision: str
    exit_code: int
    eval_summary: dict[str, Any]
    artifacts: dict[str, str]
    job_id: str | None = None
    dagster_run_id: str | None = None
    reasons: list[str] = []


class JobSubmitted(BaseModel):
    """An accepted job: its id for good, its current status (a retry shows how far it got)."""

    job_id: str
    status: JobStatus
    dagster_run_id: str | None = None


class JobStatusResponse(BaseModel):
    """A job's state. job_id never changes; dagster_run_id is null until Dagster has the run."""

    job_id: str
    status: JobStatus
    dagster_status: str
    dagster_run_id: str | None = None
    model_id: str | None = None
    created_at: str | None = None
    started_at: str | None = None
    completed_at: str | None = None
    error: str | None = None


class ModelRetrainBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(None, max_length=2000)


class WorkerEventBody(BaseModel):
    """A worker's report: a status transition and/or evaluation metrics."""

    model_config = ConfigDict(extra="forbid")

    status: str = Field(description="RUNNING/SUCCEEDED/FAILED/CANCELED/QUEUED, or metrics/info")
    message: str | None = Field(None, max_length=10_000)
    metrics: dict[str, float] | None = None
    k8sJobName: str | None = Field(None, max_length=253)
    k8sNamespace: str | None = Field(None, max_length=63)
    mlflowRunId: str | None = Field(None, max_length=64)
    details: dict[str, Any] | None = None


class K8sStepJob(BaseModel):
    """One step attempt that ran as a Kubernetes Job."""

    step_key: str | None = None
    job_name: str
    namespace: str | None = None


class JobRecord(BaseModel):
    """An IntelGraph ML retraining job record: the Dagster run plus its reported events."""

    id: str
    dagsterRunId: str | None = None
    modelId: str | None = None
    reason: str | None = None
    status: JobStatus
    trigger: str | None = None
    dataWindow: dict[str, Any] | None = None
    recordCounts: dict[str, int] | None = None
    k8sJobName: str | None = None
    k8sNamespace: str | None = None
    k8sJobs: list[K8sStepJob] = []
    mlflowRunId: str | None = None
    metrics: dict[str, float] | None = None
    decision: str | None = None
    scheduledAt: str | None = None
    startedAt: str | None = None
    completedAt: str | None = None
    error: dict[str, Any] | None = None
    runDir: str | None = None
    events: list[dict[str, Any]] = []


class JobList(BaseModel):
    jobs: list[JobRecord]
    total: int
    limit: int
    offset: int
