"""Where each step of a run ran on Kubernetes, read from the run's own event log (what the jobs
API reports per step)."""

import dagster as dg

JOB_NAME_KEY = "Kubernetes Job name"  # metadata k8s_job_executor puts on STEP_WORKER_STARTING


def step_k8s_jobs(instance: dg.DagsterInstance, run_id: str, namespace: str) -> list[dict]:
    """One entry per step attempt, in launch order: step key, Kubernetes job name, namespace.

    Empty for runs executed in-process. `namespace` is the deployment's RETRAINING_NAMESPACE:
    the executor does not record it in the event.
    """
    records = instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_WORKER_STARTING)
    jobs = []
    for record in records:
        event = record.dagster_event
        metadata = getattr(event.event_specific_data, "metadata", None) or {}
        name = metadata.get(JOB_NAME_KEY)
        if name is None:
            continue
        jobs.append(
            {"step_key": record.step_key, "job_name": str(name.value), "namespace": namespace}
        )
    return jobs
