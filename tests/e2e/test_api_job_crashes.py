"""Crash injection for queued API jobs: the API and the daemon each killed (SIGKILL) or stopped
(SIGTERM) at every point between accepting a job, storing it, creating its run and launching
it. After a restart every accepted job runs exactly once: none is lost, none runs twice.

The crash is injected by tests.support.crashing_servers (the real server, with one call wrapped to
signal its own process once). A client whose request got no answer retries it with the same
Idempotency-Key, as the SDK does. Each case uses its own model, on one stack.
"""

import signal
import time

import dagster as dg
import pytest
import requests

from tests.support.api_servers import make_stack
from tests.support.daemon import wait_for
from tests.support.job_runs import ran_more_than_once, shown
from verifily.tags import JOB_ID, PARTITION

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
TERMINAL = ("SUCCEEDED", "FAILED", "CANCELED")
API_POINTS = ("accepted", "stored")
DAEMON_POINTS = ("claimed", "created", "queued", "launching", "launched")
SIGNALS = ("KILL", "TERM")


@pytest.fixture(scope="module")
def stack(tmp_path_factory, postgres_url):
    s = make_stack(
        tmp_path_factory.mktemp("api_crashes"),
        # Production storage: the instance and the jobs database on PostgreSQL.
        postgres=postgres_url,
        max_runs=4,
        # One event database for all runs, as PostgreSQL is in production: Dagster's run
        # retries read run failures across runs from it.
        consolidated_events=True,
        # Crashes are about the way to the run, not what it tracks (MLflow has its own tests).
        extra_env={"VERIFILY_MLFLOW_ENABLED": "0"},
    )
    yield s
    s.stop()


def submit(stack, model: str, *, retry_until: float) -> str:
    """POST the job with its key until an answer comes (a crash may cut a request off)."""
    body = {"dataset_dir": "iris", "project_id": model}
    while True:
        try:
            r = requests.post(
                f"{stack.api_url}/v1/jobs/retrain",
                json=body,
                headers={"Idempotency-Key": f"key-{model}"},
                timeout=30,
            )
            assert r.status_code == 202, r.text
            return r.json()["job_id"]
        except requests.RequestException:
            assert time.monotonic() < retry_until, f"no answer for {model}"
            time.sleep(0.5)


def exited(stack, name: str, timeout: float) -> None:
    proc = stack.proc(name)
    wait_for(lambda: proc.poll() is not None, timeout, f"{name} to crash", poll=0.2)
    stack.kill(name, group=False)  # already gone: forget it, keep what it started running


def runs_of_model(stack, model: str) -> list[dg.DagsterRun]:
    with dg.DagsterInstance.from_config(str(stack.home)) as instance:
        recs = instance.get_run_records(dg.RunsFilter(tags={PARTITION: model}))
        return [r.dagster_run for r in recs]


def wait_job(stack, job_id: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = requests.get(f"{stack.api_url}/v1/jobs/{job_id}", timeout=30).json()
        if st["status"] in TERMINAL:
            return st
        time.sleep(1)
    raise AssertionError(f"job {job_id} not finished after {timeout}s: {st}")


def check_exactly_once(stack, model: str, job_id: str, st: dict) -> None:
    assert st["status"] == "SUCCEEDED", (
        st,
        [(r.run_id, r.status, dict(r.tags)) for r in runs_of_model(stack, model)],
    )
    runs = runs_of_model(stack, model)
    assert {r.tags.get(JOB_ID) for r in runs} == {job_id}, "a second job for one key"
    executed = [r for r in runs if r.status == dg.DagsterRunStatus.SUCCESS]
    assert [r.run_id for r in executed] == [st["dagster_run_id"]], [
        (r.run_id, r.status) for r in runs
    ]
    # Any other run of the job never started: a launch cut off by the crash, failed by run
    # monitoring and retried.
    with dg.DagsterInstance.from_config(str(stack.home)) as instance:
        assert not ran_more_than_once(instance, runs), [shown(instance, r) for r in runs]
    listed = requests.get(
        f"{stack.api_url}/retraining/jobs", params={"modelId": model}, timeout=30
    ).json()
    assert [j["id"] for j in listed["jobs"]] == [job_id]
    run_dirs = sorted((stack.root / "runs").glob("retrain_*"))
    assert sum(1 for d in run_dirs if (d / "config.yaml").read_text().count(model)) == 1


@pytest.mark.parametrize("sig", SIGNALS)
@pytest.mark.parametrize("point", API_POINTS)
def test_api_crash(stack, point, sig):
    model = f"api-{point}-{sig}".lower()
    stack.kill("api", signal.SIGTERM)
    stack.start_api(crash=(f"api:{point}", sig))
    # The crash happens inside this request; its answer may be lost.
    first = None
    try:
        first = requests.post(
            f"{stack.api_url}/v1/jobs/retrain",
            json={"dataset_dir": "iris", "project_id": model},
            headers={"Idempotency-Key": f"key-{model}"},
            timeout=30,
        )
    except requests.RequestException:
        pass
    exited(stack, "api", 30)
    stack.start_api()
    job_id = submit(stack, model, retry_until=time.monotonic() + 60)
    if first is not None and first.status_code == 202:  # SIGTERM lets the answer out
        assert first.json()["job_id"] == job_id
    st = wait_job(stack, job_id, 240)
    check_exactly_once(stack, model, job_id, st)


@pytest.mark.parametrize("sig", SIGNALS)
@pytest.mark.parametrize("point", DAEMON_POINTS)
def test_daemon_crash(stack, point, sig):
    model = f"daemon-{point}-{sig}".lower()
    stack.kill("daemon", signal.SIGTERM)
    stack.start_daemon(crash=(f"daemon:{point}", sig))
    job_id = submit(stack, model, retry_until=time.monotonic() + 60)
    exited(stack, "daemon", 180)
    stack.start_daemon()
    # A launch cut off mid-way is failed by run monitoring (60 s start timeout) and retried.
    st = wait_job(stack, job_id, 420)
    check_exactly_once(stack, model, job_id, st)
