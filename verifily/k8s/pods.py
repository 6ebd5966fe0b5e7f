"""Why a step pod is not doing its work: classification of Kubernetes pod status for the step
watchdog. Plain data in (the pod as a dict, snake_case as the kubernetes client gives it), a
verdict out; no cluster access here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# Waiting reasons that mean the container never started (not just "slow to schedule").
START_FAILURES = frozenset(
    {
        "ErrImagePull",
        "ImagePullBackOff",
        "InvalidImageName",
        "CreateContainerConfigError",
        "CreateContainerError",
        "ContainerCreating",
        "PodInitializing",
    }
)


@dataclass(frozen=True)
class PodVerdict:
    """A pod that needs reporting: `never_started` (delete its Job) or `failed` (report only)."""

    kind: str
    pod_name: str
    job_name: str
    step_key: str
    reason: str
    message: str


def _waiting(pod: dict) -> tuple[str, str]:
    for cs in (pod.get("status") or {}).get("container_statuses") or []:
        waiting = (cs.get("state") or {}).get("waiting")
        if waiting:
            return waiting.get("reason") or "Waiting", waiting.get("message") or ""
    return "", ""


def _terminated(pod: dict) -> tuple[str, str, int | None]:
    for cs in (pod.get("status") or {}).get("container_statuses") or []:
        term = (cs.get("state") or {}).get("terminated")
        if term:
            return term.get("reason") or "", term.get("message") or "", term.get("exit_code")
    return "", "", None


def classify_pod(pod: dict, now: datetime, start_timeout_seconds: float) -> PodVerdict | None:
    """A verdict for a step pod that failed or has not started within the start timeout."""
    meta = pod.get("metadata") or {}
    labels = meta.get("labels") or {}
    status = pod.get("status") or {}
    phase = status.get("phase") or "Pending"
    name = meta.get("name") or "?"
    job = labels.get("job-name") or labels.get("batch.kubernetes.io/job-name") or name
    step = labels.get("dagster/op") or "?"

    if phase == "Failed":
        reason, message, code = _terminated(pod)
        # Pod-level reasons (Evicted, DeadlineExceeded) win over the container's.
        pod_reason = status.get("reason")
        reason = pod_reason or reason or "Failed"
        message = status.get("message") or message
        if code is not None:
            message = f"{message} (exit code {code})".strip()
        return PodVerdict("failed", name, job, step, reason, message)

    if phase == "Pending":
        age = _age_seconds(meta, now)
        if age is None or age < start_timeout_seconds:
            return None
        reason, message = _waiting(pod)
        if not reason:
            # Unschedulable pods carry the reason in a PodScheduled condition.
            for cond in status.get("conditions") or []:
                if cond.get("type") == "PodScheduled" and cond.get("status") == "False":
                    reason, message = cond.get("reason") or "", cond.get("message") or ""
        return PodVerdict(
            "never_started",
            name,
            job,
            step,
            reason or "Pending",
            f"not running after {age:.0f}s (start timeout {start_timeout_seconds:g}s)"
            + (f": {message}" if message else ""),
        )
    return None


def _age_seconds(meta: dict, now: datetime) -> float | None:
    """Seconds since an object's creation_timestamp (a datetime or an RFC 3339 string)."""
    created = meta.get("creation_timestamp")
    if created is None:
        return None
    if isinstance(created, str):
        created = datetime.fromisoformat(created.replace("Z", "+00:00"))
    return (now - created).total_seconds()


def classify_podless_job(
    job: dict, has_pods: bool, now: datetime, start_timeout_seconds: float
) -> PodVerdict | None:
    """A step Job that has no pod past the start timeout (quota, admission webhook, bad spec):
    the Job controller could not create one, so no pod will ever report why."""
    if has_pods:
        return None
    meta = job.get("metadata") or {}
    status = job.get("status") or {}
    if status.get("succeeded") or status.get("failed") or status.get("conditions"):
        return None
    age = _age_seconds(meta, now)
    if age is None or age < start_timeout_seconds:
        return None
    name = meta.get("name") or "?"
    step = (meta.get("labels") or {}).get("dagster/op") or "?"
    return PodVerdict(
        "never_started",
        f"(no pod of {name})",
        name,
        step,
        "FailedCreate",
        f"no pod created after {age:.0f}s (start timeout {start_timeout_seconds:g}s); "
        "check the namespace's ResourceQuota and admission webhooks (kubectl describe job)",
    )
