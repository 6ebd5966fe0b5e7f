"""Step watchdog for runs on Kubernetes: a step pod that never starts is failed within the start
timeout, and every failed step pod's reason and last log lines reach the run's event log.

dagster-k8s only notices a step Job once it has *failed*; a pod stuck in ImagePullBackOff never
fails (dagster#24595), and Evicted/OOMKilled reasons never reach the event log (dagster#13593).
"""

import json
from datetime import UTC, datetime, timedelta

import dagster as dg
import kubernetes

from resources.k8s import K8sStepSettings
from verifily.k8s.pods import PodVerdict, classify_pod, classify_podless_job

LOG_TAIL_LINES = 30
SEEN_KEEP = 2000
# Failed runs stay watched a while so a reason found after Dagster marked the run failed still
# lands in its event log.
RECENT = timedelta(minutes=10)


def _clients(settings: K8sStepSettings) -> tuple:
    cfg = kubernetes.client.Configuration()
    if settings.kubeconfig_file:
        kubernetes.config.load_kube_config(
            config_file=settings.kubeconfig_file, client_configuration=cfg
        )
    else:
        kubernetes.config.load_incluster_config(client_configuration=cfg)
    api = kubernetes.client.ApiClient(cfg)
    return kubernetes.client.CoreV1Api(api), kubernetes.client.BatchV1Api(api)


def watch_step_pods(
    instance: dg.DagsterInstance, settings: K8sStepSettings, seen: list[str]
) -> list[PodVerdict]:
    """Report (and, for never-started pods, delete the Job of) every step pod needing it.

    `seen` holds pod (and pod-less Job) uids already reported; it is extended in place.
    """
    core, batch = _clients(settings)
    now = datetime.now(UTC)
    runs = list(instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])))
    runs += instance.get_runs(
        filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE], updated_after=now - RECENT)
    )
    found = []
    for run in runs:
        selector = f"dagster/run-id={run.run_id}"
        pods = core.list_namespaced_pod(settings.namespace, label_selector=selector).items
        verdicts = [
            (pod.metadata.uid, classify_pod(pod.to_dict(), now, settings.pod_start_timeout_seconds))
            for pod in pods
        ]
        with_pods = {(pod.metadata.labels or {}).get("job-name") for pod in pods}
        for job in batch.list_namespaced_job(settings.namespace, label_selector=selector).items:
            has_pods = job.metadata.name in with_pods
            verdict = classify_podless_job(
                job.to_dict(), has_pods, now, settings.pod_start_timeout_seconds
            )
            verdicts.append((job.metadata.uid, verdict))
        for uid, verdict in verdicts:
            if verdict is None or uid in seen:
                continue
            seen.append(uid)
            found.append(verdict)
            _report(instance, run, verdict, core, batch, settings)
    return found


def _report(instance, run, verdict: PodVerdict, core, batch, settings: K8sStepSettings) -> None:
    if verdict.kind == "never_started":
        if run.status == dg.DagsterRunStatus.STARTED:
            # The executor's health check then finds the Job gone and fails (or retries) the
            # step instead of waiting forever.
            batch.delete_namespaced_job(
                verdict.job_name, settings.namespace, propagation_policy="Background"
            )
        message = (
            f"Step {verdict.step_key}: pod {verdict.pod_name} never started "
            f"({verdict.reason}): {verdict.message}. Deleted Kubernetes job "
            f"{verdict.job_name} in namespace {settings.namespace}."
        )
    else:
        message = (
            f"Step {verdict.step_key}: pod {verdict.pod_name} of Kubernetes job "
            f"{verdict.job_name} failed ({verdict.reason}): {verdict.message}"
            + _log_tail(core, verdict.pod_name, settings.namespace)
        )
    instance.report_engine_event(message, run, step_key=verdict.step_key)


def _log_tail(core, pod_name: str, namespace: str) -> str:
    try:
        # Raw bytes, decoded here: kubernetes-client 36 hands `str` responses back as the repr
        # of the bytes ("b'...'") when it preloads them.
        resp = core.read_namespaced_pod_log(
            pod_name, namespace, tail_lines=LOG_TAIL_LINES, _preload_content=False
        )
        text = resp.data.decode("utf-8", errors="replace")
    except kubernetes.client.ApiException as e:
        return f"\n(logs unavailable: {e.reason})"
    return f"\nLast log lines:\n{text.rstrip()}" if text and text.strip() else "\n(no logs)"


@dg.sensor(
    minimum_interval_seconds=15,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Fails step pods that never start and records why step pods failed.",
)
def k8s_step_watch(context: dg.SensorEvaluationContext, k8s: K8sStepSettings) -> dg.SensorResult:
    """Tick: look at the pods of in-progress (and recently failed) runs."""
    try:
        seen = [str(u) for u in json.loads(context.cursor or "[]")]
    except (ValueError, TypeError):
        seen = []
    found = watch_step_pods(context.instance, k8s, seen)
    summary = ", ".join(f"{v.step_key}: {v.reason}" for v in found) or "all step pods healthy"
    return dg.SensorResult(skip_reason=summary, cursor=json.dumps(seen[-SEEN_KEEP:]))
