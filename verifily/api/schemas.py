"""Request and response models shared by the API server and the SDK (pydantic, no FastAPI)."""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from verifily.model_ids import MODEL_ID_PATTERN

JobStatus = Literal["QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELED"]
# The error type the API answers with 400 (not 422): text that is not text at all.
INVALID_TEXT = "invalid_text"


def _bad_value(value: Any) -> str | None:
    """Why a request value cannot be stored or echoed: a lone surrogate (from a `\\ud800`
    JSON escape) cannot be encoded, and NaN or infinity is not JSON; None when it is fine."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            try:
                v.encode("utf-8")
            except UnicodeEncodeError:
                return "not valid Unicode (a lone surrogate escape)"
        elif isinstance(v, float) and not math.isfinite(v):
            return "not a finite number (JSON has no NaN or infinity)"
        elif isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, list | tuple):
            stack.extend(v)
    return None


class StrictBody(BaseModel):
    """A request body: unknown fields refused, and no field may hold text that is not valid
    Unicode or a number JSON cannot carry (both would fail later, when stored or echoed)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _valid_text(cls, value: Any, info: ValidationInfo) -> Any:
        why = _bad_value(value)
        if why:
            raise PydanticCustomError(
                INVALID_TEXT, "{field}: {why}", {"field": info.field_name, "why": why}
            )
        return value


class RetrainRequestBody(StrictBody):
    """The seed's retrain request; paths must lie inside the server's data roots."""

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
    # The SHA-256 of the run's signed in-toto Statement, and the key id that signed it.
    attestation_digest: str | None = None
    signed_by: str | None = None


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


class ModelRetrainBody(StrictBody):
    reason: str | None = Field(None, max_length=2000)


class WorkerEventBody(StrictBody):
    """A worker's report: a status transition and/or evaluation metrics."""

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


ApprovalState = Literal["pending", "approved", "rejected", "expired"]


class ApprovalVerdictBody(StrictBody):
    """A person's verdict on a pending approval: who takes it and why (both recorded in the
    signed ledger)."""

    reason: str = Field(min_length=1, max_length=2000, description="Why; required")
    actor: str = Field(min_length=1, max_length=200, description="Who takes the decision")


class ApprovalReason(BaseModel):
    """One rule of the decision that asked for a person (whatever decision.json lists)."""

    rule: str
    outcome: str
    message: str


class Approval(BaseModel):
    """A decision that waits for a person, or what they decided."""

    approval_id: str
    model: str
    state: ApprovalState
    recommendation: str
    reasons: list[ApprovalReason]
    run_dir: str
    attestation_digest: str
    champion: dict[str, Any] | None = None
    dagster_run_id: str | None = None
    opened_at: str
    expires_at: str
    closed_at: str | None = None
    actor: str | None = None
    reason: str | None = None
    outcome: dict[str, Any] | None = None


class ApprovalList(BaseModel):
    approvals: list[Approval]
