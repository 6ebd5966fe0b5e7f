"""Step pod classification for the watchdog: what counts as never started, failed or fine."""

from datetime import UTC, datetime, timedelta

import pytest

from verifily.k8s.pods import classify_pod, classify_podless_job

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def pod(phase="Pending", age=10.0, waiting=None, terminated=None, reason=None, conditions=None):
    status = {"phase": phase, "conditions": conditions or []}
    state = {}
    if waiting:
        state["waiting"] = {"reason": waiting, "message": f"{waiting} detail"}
    if terminated:
        state["terminated"] = terminated
    status["container_statuses"] = [{"state": state}] if state else None
    if reason:
        status.update(reason=reason, message="The node was low on resource: memory.")
    return {
        "metadata": {
            "name": "dagster-step-abc-x1y2z",
            "creation_timestamp": NOW - timedelta(seconds=age),
            "labels": {"job-name": "dagster-step-abc", "dagster/op": "retrain_run"},
        },
        "status": status,
    }


@pytest.mark.parametrize("reason", ["ImagePullBackOff", "ErrImagePull", "CreateContainerError"])
def test_pending_past_the_start_timeout_never_started_with_its_reason(reason):
    v = classify_pod(pod(age=301, waiting=reason), NOW, 300)
    assert v is not None and v.kind == "never_started"
    assert (v.reason, v.job_name, v.step_key) == (reason, "dagster-step-abc", "retrain_run")
    assert "start timeout 300s" in v.message and f"{reason} detail" in v.message


def test_pending_within_the_start_timeout_is_left_alone():
    assert classify_pod(pod(age=299, waiting="ImagePullBackOff"), NOW, 300) is None


def test_unschedulable_pod_reports_the_scheduler_reason():
    cond = [
        {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/3"}
    ]
    v = classify_pod(pod(age=400, conditions=cond), NOW, 300)
    assert v.reason == "Unschedulable" and "0/3" in v.message


def test_string_timestamps_are_parsed():
    p = pod(age=0, waiting="ErrImagePull")
    p["metadata"]["creation_timestamp"] = (NOW - timedelta(seconds=500)).isoformat()
    assert classify_pod(p, NOW, 300).kind == "never_started"


def test_evicted_pod_reason_wins_over_the_container_reason():
    term = {"reason": "Error", "exit_code": 137}
    v = classify_pod(pod("Failed", terminated=term, reason="Evicted"), NOW, 300)
    assert v.kind == "failed" and v.reason == "Evicted"
    assert "low on resource" in v.message and "exit code 137" in v.message


def test_container_exit_is_reported_with_code():
    v = classify_pod(pod("Failed", terminated={"reason": "OOMKilled", "exit_code": 137}), NOW, 300)
    assert (v.kind, v.reason) == ("failed", "OOMKilled") and "exit code 137" in v.message


@pytest.mark.parametrize("phase", ["Running", "Succeeded"])
def test_running_and_succeeded_pods_need_nothing(phase):
    assert classify_pod(pod(phase, age=10_000), NOW, 300) is None


def job(age: float, status: dict | None = None) -> dict:
    return {
        "metadata": {
            "name": "dagster-step-abc",
            "creation_timestamp": NOW - timedelta(seconds=age),
            "labels": {"dagster/op": "retrain_run"},
        },
        "status": status or {"active": 1},
    }


def test_podless_job_past_the_start_timeout_never_started():
    v = classify_podless_job(job(301), has_pods=False, now=NOW, start_timeout_seconds=300)
    assert (v.kind, v.reason, v.job_name, v.step_key) == (
        "never_started",
        "FailedCreate",
        "dagster-step-abc",
        "retrain_run",
    )
    assert "ResourceQuota" in v.message


@pytest.mark.parametrize(
    "age, has_pods, status",
    [
        (299, False, None),
        (301, True, None),
        (301, False, {"failed": 1}),
        (301, False, {"succeeded": 1}),
    ],
)
def test_podless_job_left_alone_when_young_has_pods_or_is_finished(age, has_pods, status):
    assert classify_podless_job(job(age, status), has_pods, NOW, 300) is None
