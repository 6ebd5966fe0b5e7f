"""The real k8s_job_executor against the loopback Kubernetes stand-in: step Jobs as dagster-k8s
builds them from our configuration, run as local processes with the Jobs' environment."""

import dagster as dg
import pytest

from resources.k8s import CONTAMINATION_TAGS, LIGHT_STEP_RESOURCES, RETRAIN_TAGS
from tests.support.examples import IRIS
from tests.support.fake_k8s.harness import CLAIM, IMAGE, NAMESPACE, Standin
from tests.support.feeds import append_jsonl, records
from verifily.api.jobs.k8s_steps import step_k8s_jobs
from verifily.api.jobs.service import JobService
from verifily.api.settings import ApiSettings
from verifily.feeds.window import DataWindow
from verifily.jobstore.submissions import SubmissionStore
from verifily.rundir.contract import validate_run_contract
from verifily.tags import (
    DATA_WINDOW,
    ENV_DATA_WINDOW,
    ENV_MODEL_ID,
    JOB_ID,
    K8S_NAMESPACE,
    LABEL_DATA_WINDOW,
    LABEL_MODEL_ID,
    LABEL_WINDOW_END,
    LABEL_WINDOW_START,
    TRIGGER,
    TRIGGER_API,
    TRIGGER_RECORD_COUNT,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

STEPS = {
    "dataset_artifact",
    "dataset_artifact_dataset_integrity",
    "retrain_run",
    "eval_results",
    "decision",
    "decision_run_contract",
}


def _env(job: dict) -> dict:
    return {
        e["name"]: e.get("value") for e in job["spec"]["template"]["spec"]["containers"][0]["env"]
    }


def _messages(instance, run_id) -> str:
    return "\n".join(r.message or "" for r in instance.all_logs(run_id))


def test_retrain_runs_each_step_as_a_job_and_survives_an_eviction(tmp_path):
    standin = Standin(tmp_path, faults={"retrain_run": "evict"})
    instance, run, ticks = standin.run("iris", IRIS, timeout=480)

    assert run.status == dg.DagsterRunStatus.SUCCESS, _messages(instance, run.run_id)[-4000:]
    assert not standin.cluster.unhandled and not standin.cluster.rejected
    assert not standin.cluster.quota_rejections
    by_op = standin.jobs_by_op()
    assert STEPS <= set(by_op), by_op.keys()
    # The eviction was retried by Dagster as a new Job, not by Kubernetes (backoffLimit 0).
    assert len(by_op["retrain_run"]) == 2
    names = [j["metadata"]["name"] for j in standin.cluster.created_jobs]
    assert len(names) == len(set(names))
    # The jobs API's per-step record, read back from the run's events, names the same Jobs;
    # the namespace comes from the run's own tag, written by the code location.
    assert run.tags[K8S_NAMESPACE] == NAMESPACE
    records = step_k8s_jobs(instance, run.run_id, run.tags[K8S_NAMESPACE])
    assert [r["job_name"] for r in records] == names
    assert [r["step_key"] for r in records].count("retrain_run") == 2
    assert {r["namespace"] for r in records} == {NAMESPACE}
    assert {ns for ns, _ in standin.cluster.jobs} == {NAMESPACE}
    for op, jobs in by_op.items():
        for job in jobs:
            labels = job["metadata"]["labels"]
            assert labels["dagster/run-id"] == run.run_id
            assert labels[LABEL_MODEL_ID] == "iris"
            # A retrain on request has no feed window.
            assert LABEL_DATA_WINDOW not in labels
            spec = job["spec"]
            assert spec["backoffLimit"] == 0
            assert spec["activeDeadlineSeconds"] == 303
            pod = spec["template"]["spec"]
            assert pod["serviceAccountName"] == "verifily-retrain"
            assert pod["volumes"][0]["persistentVolumeClaim"]["claimName"] == CLAIM
            container = pod["containers"][0]
            assert container["image"] == IMAGE
            assert container["volumeMounts"][0]["mountPath"] == str(standin.shared)
            env = _env(job)
            assert env[ENV_MODEL_ID] == "iris"
            assert env[ENV_DATA_WINDOW] == ""
            assert "VERIFILY_DAGSTER_RUN_ID" in env
            heavy = {"retrain_run": RETRAIN_TAGS, "contamination_report": CONTAMINATION_TAGS}
            if op in heavy:
                expected = heavy[op]["dagster-k8s/config"]["container_config"]["resources"]
                assert container["resources"] == expected
            else:
                assert container["resources"] == LIGHT_STEP_RESOURCES
    # The run directory, written across several pods on the shared claim, is whole and valid.
    runs = sorted((standin.shared / "runs").glob("retrain_*"))
    assert len(runs) == 1, runs
    assert validate_run_contract(runs[0]) == []
    # Dagster saw the eviction: a retry, the reason in the log, and no step left in progress.
    retries = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_UP_FOR_RETRY)
    assert [r.step_key for r in retries] == ["retrain_run"]
    assert "Evicted" in _messages(instance, run.run_id), ticks
    stats = instance.get_run_step_stats(run.run_id)
    assert {s.step_key for s in stats} >= STEPS
    assert all(s.status.value == "SUCCESS" for s in stats), [(s.step_key, s.status) for s in stats]


@pytest.mark.parametrize(
    "image, faults, reason",
    [
        ("verifily/user-code:missing", {}, "ImagePullBackOff"),
        (IMAGE, {"dataset_artifact": "no_pod"}, "FailedCreate"),
    ],
    ids=["image-pull-error", "no-pod-over-quota"],
)
def test_a_step_that_never_starts_fails_the_run_within_the_start_timeout(
    tmp_path, image, faults, reason
):
    standin = Standin(tmp_path, faults=faults)
    instance, run, ticks = standin.run("iris", IRIS, image=image, timeout=300)

    assert run.status == dg.DagsterRunStatus.FAILURE
    text = _messages(instance, run.run_id)
    assert reason in text and "never started" in text, ticks
    # The first step's Job was the only one: nothing ran, nothing was left behind.
    assert list(standin.jobs_by_op()) == ["dataset_artifact"]
    assert not standin.cluster.jobs
    failures = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
    assert [f.step_key for f in failures] == ["dataset_artifact"]
    stats = instance.get_run_step_stats(run.run_id)
    assert all(s.status.value != "IN_PROGRESS" for s in stats)
    # Within the start timeout (3 s) plus the executor's 20 s health-check period, with slack
    # for a loaded CI machine; without the watchdog the step would wait forever.
    started = min(r.timestamp for r in instance.all_logs(run.run_id))
    ended = max(r.timestamp for r in failures)
    assert ended - started < 60


def test_container_exiting_non_zero_fails_with_logs_and_reason(tmp_path):
    standin = Standin(
        tmp_path,
        faults={"dataset_artifact": "crash"},
        # A misconfigured pod: its code location refuses an output root off the shared claim.
        env_overrides={"dataset_artifact": {"VERIFILY_OUTPUT_ROOT": "/elsewhere/runs"}},
    )
    instance, run, ticks = standin.run("iris", IRIS, timeout=300)

    assert run.status == dg.DagsterRunStatus.FAILURE
    failures = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
    assert [f.step_key for f in failures] == ["dataset_artifact"]
    text = _messages(instance, run.run_id)
    assert "failed (Error)" in text and "exit code" in text, ticks
    # The container's own last log lines, in the event log.
    assert "is outside the shared volume" in text
    assert "Last log lines:\nb'" not in text  # decoded text, not the repr of bytes
    assert not list((standin.shared / "runs").glob("retrain_[0-9]*"))


def test_feed_triggered_retrain_carries_model_and_window_into_every_step_job(tmp_path):
    """The record-count sensor of the code location (loaded with VERIFILY_EXECUTOR=k8s) requests
    the run; its run config and tags reach every step Job, nothing set by hand."""
    standin = Standin(tmp_path)
    feed = tmp_path / "feed"
    append_jsonl(feed / "part-0001.jsonl", records(0, 50))
    models = tmp_path / "models.yaml"
    models.write_text(
        f"snapshot_root: {standin.shared / 'snapshots'}\n"
        "models:\n"
        "  - id: churn\n"
        f"    feed: {{kind: jsonl, path: {feed}}}\n"
        "    min_records: 50\n"
        f"    eval_set: {IRIS}\n"
    )
    standin.extra_env = {"VERIFILY_MODELS_CONFIG": str(models)}
    instance, run, ticks = standin.run_sensor("record_count_churn", timeout=480)

    assert run.status == dg.DagsterRunStatus.SUCCESS, _messages(instance, run.run_id)[-4000:]
    assert run.tags[TRIGGER] == TRIGGER_RECORD_COUNT
    window = DataWindow.from_json(run.tags[DATA_WINDOW])
    assert window is not None and (window.first, window.last) == (0, 50)
    assert window.start and window.end and window.start <= window.end
    by_op = standin.jobs_by_op()
    assert STEPS <= set(by_op), by_op.keys()
    for jobs in by_op.values():
        for job in jobs:
            labels = job["metadata"]["labels"]
            assert labels[LABEL_MODEL_ID] == "churn"
            assert labels[LABEL_DATA_WINDOW] == "0-50"
            assert labels[LABEL_WINDOW_START] == window.start.replace("-", "").replace(":", "")
            assert labels[LABEL_WINDOW_END] == window.end.replace("-", "").replace(":", "")
            env = _env(job)
            assert env[ENV_MODEL_ID] == "churn"
            assert DataWindow.from_json(env[ENV_DATA_WINDOW]) == window
    runs = sorted((standin.shared / "runs").glob("retrain_*"))
    assert len(runs) == 1 and validate_run_contract(runs[0]) == []


def test_a_queued_api_job_record_names_its_step_jobs_and_namespace(tmp_path):
    """A job accepted by the API, started by the code location's api_jobs sensor with the
    Kubernetes executor: its record (GET /retraining/jobs/{id}) names every step Job."""
    standin = Standin(tmp_path)
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    standin.extra_env = {"VERIFILY_JOBS_DB_URL": url}
    job_id = "00000000-0000-4000-8000-0000000000c8"
    SubmissionStore(url).add(
        job_id,
        model_id="iris",
        request_sha256="d",
        payload={
            "fields": {"dataset_dir": str(IRIS), "project_id": "iris"},
            "trigger": TRIGGER_API,
            "tags": {},
        },
    )
    instance, run, ticks = standin.run_sensor("api_jobs_0", timeout=480)

    assert run.status == dg.DagsterRunStatus.SUCCESS, _messages(instance, run.run_id)[-4000:]
    assert run.tags[JOB_ID] == job_id and run.tags[K8S_NAMESPACE] == NAMESPACE
    names = [j["metadata"]["name"] for j in standin.cluster.created_jobs]
    assert len(names) >= len(STEPS)
    jobs = JobService(instance, ApiSettings(data_roots=[tmp_path], jobs_db_url=url))
    rec = jobs.record(job_id)
    assert rec["id"] == job_id and rec["dagsterRunId"] == run.run_id
    assert rec["status"] == "SUCCEEDED"
    assert [j["job_name"] for j in rec["k8sJobs"]] == names
    assert {j["namespace"] for j in rec["k8sJobs"]} == {NAMESPACE}
    assert rec["k8sJobName"] == names[-1] and rec["k8sNamespace"] == NAMESPACE
    # The same record by the run's own id.
    assert jobs.record(run.run_id) == rec
