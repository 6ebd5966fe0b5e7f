"""A burst of queued submissions with the API and the daemon both crashing mid-burst: every
accepted job runs exactly once, none is lost, none runs twice, no run directory is shared.

A job may have more than one Dagster run, but only one that ran (tests/support/job_runs.py).

Clients send their submissions with an Idempotency-Key and retry until answered, as the SDK
does. Mid-burst the API is SIGKILLed and started again (its clients see refused connections and
retry), and the daemon is SIGKILLed alone, as a crashed process, while it is turning jobs into
runs, and started again. Runs are spread over four models because the run queue allows one run
per model at a time (config/dagster-api.yaml). VERIFILY_E2E_JOBS overrides the count.
"""

import os
import statistics
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import dagster as dg
import pytest
import requests
import sqlalchemy as sa

from tests.support.api_servers import make_stack
from tests.support.daemon import wait_for
from tests.support.job_runs import ran_more_than_once, shown
from verifily.api.jobs.statuses import job_status
from verifily.jobstore.submissions import SubmissionStore
from verifily.rundir.contract import validate_run_contract
from verifily.tags import JOB_ID

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
N = int(os.environ.get("VERIFILY_E2E_JOBS", "100"))
CLIENTS = 10
TERMINAL = ("SUCCEEDED", "FAILED", "CANCELED")
MAX_RUNS = int(os.environ.get("VERIFILY_E2E_MAX_RUNS", "2"))
CONSOLIDATED = os.environ.get("VERIFILY_E2E_CONSOLIDATED", "1") == "1"


@pytest.fixture(scope="module")
def stack(tmp_path_factory, postgres_url):
    s = make_stack(
        tmp_path_factory.mktemp("api_load"),
        # Production storage: the instance and the jobs database on PostgreSQL.
        postgres=postgres_url,
        max_runs=MAX_RUNS,
        consolidated_events=CONSOLIDATED,
        # This test is about the queue: every run still executes the whole retrain graph, but
        # without MLflow, whose SQLite store costs each new run worker ~2-3 s (importing
        # mlflow, creating and migrating the store); MLflow tracking has its own tests.
        extra_env={"VERIFILY_MLFLOW_ENABLED": "0"},
    )
    yield s
    s.stop()


def job_runs(instance: dg.DagsterInstance) -> dict[str, list[dg.DagsterRun]]:
    """Every run made for an API job, by job id."""
    for _attempt in range(5):
        try:
            recs = instance.get_run_records(dg.RunsFilter(job_name="retrain_job"))
            break
        except sa.exc.OperationalError:  # SQLite under a killed writer and a loaded machine
            time.sleep(1)
    out: dict[str, list[dg.DagsterRun]] = {}
    for rec in recs:
        job_id = rec.dagster_run.tags.get(JOB_ID)
        if job_id:
            out.setdefault(job_id, []).append(rec.dagster_run)
    return out


def test_api_and_daemon_restarted_mid_burst_lose_no_job_and_run_none_twice(stack):
    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=CLIENTS))
    answered: dict[int, dict] = {}
    latencies: list[float] = []
    refused = [0]
    lock = threading.Lock()

    def submit(i: int) -> None:
        body = {"dataset_dir": "iris", "project_id": f"load-{i % 4}", "seed": i}
        while True:
            t0 = time.perf_counter()
            try:
                r = session.post(
                    f"{stack.api_url}/v1/jobs/retrain",
                    json=body,
                    headers={"Idempotency-Key": f"burst-{i}"},
                    timeout=60,
                )
            except requests.RequestException:  # refused, or cut off mid-answer by the kill
                with lock:
                    refused[0] += 1
                time.sleep(0.2)
                continue
            assert r.status_code == 202, r.text
            with lock:
                answered[i] = r.json()
                latencies.append(time.perf_counter() - t0)
            return

    def client(c: int) -> None:
        for i in range(c, N, CLIENTS):
            submit(i)
            time.sleep(0.05)  # a steady stream rather than one instant burst

    t0 = time.monotonic()
    instance = dg.DagsterInstance.from_config(str(stack.home))
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        futures = [pool.submit(client, c) for c in range(CLIENTS)]
        wait_for(lambda: len(answered) >= N // 3, 120, "a third of the burst answered")
        stack.kill("api")  # SIGKILL mid-burst: clients see refused connections and retry
        api_down_at = len(answered)
        stack.start_api()
        wait_for(lambda: len(job_runs(instance)) >= 5, 120, "the daemon making runs", poll=1)
        stack.kill("daemon", group=False)  # a crashed daemon; its run workers live on
        runs_at_daemon_kill = len(job_runs(instance))
        stack.start_daemon()
        for f in futures:
            f.result()
    submitted = time.monotonic() - t0
    ids = [answered[i]["job_id"] for i in range(N)]
    assert len(set(ids)) == N, "two submissions share a job id"
    assert refused[0] > 0, "no client saw the API down: the restart was not mid-burst"

    def states() -> Counter:
        return Counter(r.status.value for rs in job_runs(instance).values() for r in rs)

    def all_done() -> bool:
        runs = job_runs(instance)
        # As the API reports a job: by its newest run, and not finished while a retry is due.
        return len(runs) >= N and all(
            job_status(rs[0], retries_enabled=True) in TERMINAL for rs in runs.values()
        )

    try:
        wait_for(all_done, 120 + 10 * N, f"{N} jobs finished", poll=3)
    except AssertionError as e:
        pending = SubmissionStore(f"sqlite:///{stack.home / 'verifily_jobs.db'}").pending()
        raise AssertionError(f"{e}: runs {dict(states())}, {len(pending)} without a run") from e
    elapsed = time.monotonic() - t0
    lat = sorted(latencies)
    print(
        f"\n{N} jobs from {CLIENTS} clients: answered in {submitted:.1f}s (median "
        f"{statistics.median(lat) * 1000:.0f} ms, max {lat[-1] * 1000:.0f} ms); API killed "
        f"after {api_down_at} answers ({refused[0]} refused attempts retried), daemon killed "
        f"with {runs_at_daemon_kill} runs made; all done in {elapsed:.1f}s"
    )
    runs = job_runs(instance)
    assert sorted(runs) == sorted(ids), "a run belongs to no accepted job, or a job has none"
    twice = {
        j: [shown(instance, r) for r in rs]
        for j, rs in runs.items()
        if ran_more_than_once(instance, rs)
    }
    assert not twice, f"jobs that ran more than once: {twice}"
    retried = sum(len(rs) > 1 for rs in runs.values())
    print(f"{retried} job(s) retried after a launch cut off by the daemon's kill")
    failed = {j: rs[0].status for j, rs in runs.items() if rs[0].status.value != "SUCCESS"}
    assert not failed, failed

    run_dirs = []
    for jid in ids:
        res = session.get(f"{stack.api_url}/v1/jobs/{jid}/result", timeout=60).json()
        assert res["job_id"] == jid and res["dagster_run_id"] == runs[jid][0].run_id
        run_dirs.append(res["run_dir"])
    assert len(set(run_dirs)) == N, "two jobs share a run directory"
    on_disk = sorted(p for p in (stack.root / "runs").iterdir() if p.name.startswith("retrain_"))
    assert sorted(map(Path, run_dirs)) == on_disk, "a run directory is missing or extra"
    assert not list((stack.root / "runs").glob(".retrain_*")), "a staging directory was left"
    bad = {d: p for d in run_dirs if (p := validate_run_contract(d))}
    assert not bad, bad
    store = SubmissionStore(f"sqlite:///{stack.home / 'verifily_jobs.db'}")
    assert [r["job_id"] for r in store.pending()] == [], "a job never got its run recorded"
    instance.dispose()
