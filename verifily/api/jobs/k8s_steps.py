"""Where each step of a run ran on Kubernetes, read from the run's own event log: the step Jobs
dagster-k8s's executor created, in launch order."""

from __future__ import annotations

import dagster as dg

# The metadata key k8s_job_executor puts on each STEP_WORKER_STARTING event.
JOB_NAME_KEY = "Kubernetes Job name"


def step_k8s_jobs(instance: dg.DagsterInstance, run_id: str, namespace: str | None) -> list[dict]:
    """One entry per step attempt: step key, Kubernetes Job name and namespace.

    Empty for runs whose steps ran in-process. The executor does not record the namespace in
    the event; the run's K8S_NAMESPACE tag (written by the code location) supplies it.
    """
    jobs = []
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_WORKER_STARTING):
        event = record.dagster_event
        data = event.event_specific_data if event is not None else None
        name = (getattr(data, "metadata", None) or {}).get(JOB_NAME_KEY)
        if name is not None:
            jobs.append(
                {"step_key": record.step_key, "job_name": str(name.value), "namespace": namespace}
            )
    return jobs
