"""The jobs API end to end on what a service deployment runs: `verifily serve` and
`dagster-daemon`, nothing else (no webserver, no VERIFILY_DAGSTER_URL). Sync retrains, queued
ones, IntelGraph's POST /models/{id}/retrain and GraphQL's triggerMLRetraining all complete,
and every job record tells the truth about its run."""

import json
import time
from pathlib import Path

import dagster as dg
import pytest
import requests

from tests.support.api_servers import make_stack
from tests.support.examples import IRIS
from verifily.rundir.contract import validate_run_contract
from verifily.tags import JOB_ID
from verifily.tracking.outbox import tracked_run_id
from verifily_sdk import VerifilyAPIError, VerifilyClient

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
TERMINAL = ("SUCCEEDED", "FAILED", "CANCELED")


@pytest.fixture(scope="module")
def stack(tmp_path_factory, postgres_url):
    tmp = tmp_path_factory.mktemp("jobs_api")
    models = tmp / "models.yaml"
    # The one models file serves the IntelGraph routes (the model's dataset_dir) and the code
    # location (run-status sensors every second, so job events arrive while the test waits).
    models.write_text(
        "sensor_interval_seconds: 1\nmodels:\n  - id: iris-model\n    dataset_dir: data/iris\n"
    )
    s = make_stack(tmp, extra_env={"VERIFILY_MODELS_CONFIG": str(models)}, postgres=postgres_url)
    assert not s.env.get("VERIFILY_DAGSTER_URL") and [p[0] for p in s.procs] == ["daemon", "api"]
    yield s
    s.stop()


def wait_done(url: str, job_id: str, timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = requests.get(f"{url}/v1/jobs/{job_id}", timeout=30).json()
        if st["status"] in TERMINAL:
            return st
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} not done after {timeout}s: {st}")


def wait_events(url: str, job_id: str, statuses: set[str], timeout: float = 60) -> dict:
    """The job record once its events include `statuses` (run-status sensors record them)."""
    deadline = time.monotonic() + timeout
    while True:
        rec = requests.get(f"{url}/retraining/jobs/{job_id}", timeout=30).json()
        if statuses <= {e["status"] for e in rec["events"]} or time.monotonic() > deadline:
            return rec
        time.sleep(0.5)


def files_response(run_dir: Path) -> dict:
    """What the result must say, read straight from the run directory's files."""
    decision = json.loads((run_dir / "decision" / "decision.json").read_text())
    evals = json.loads((run_dir / "eval" / "eval_results.json").read_text())
    hashes = json.loads((run_dir / "hashes.json").read_text())
    return {
        "decision": decision["recommendation"],
        "exit_code": decision["exit_code"],
        "eval_summary": {**evals["metrics"], "primary_metric": decision["primary_metric"]},
        "artifacts": sorted([*hashes["files"], "hashes.json", "attestation.json"]),
        "metrics": evals["metrics"],
    }


def runs_of_job(stack, job_id: str) -> list:
    with dg.DagsterInstance.from_config(str(stack.home)) as instance:
        return list(instance.get_run_records(dg.RunsFilter(tags={JOB_ID: job_id})))


def retrain_run_count(stack) -> int:
    with dg.DagsterInstance.from_config(str(stack.home)) as instance:
        return instance.get_runs_count(dg.RunsFilter(job_name="retrain_job"))


def test_sync_retrain(stack):
    r = requests.post(
        f"{stack.api_url}/v1/retrain",
        json={"dataset_dir": "iris", "project_id": "sync-model"},
        timeout=120,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    run_dir = Path(body["run_dir"])
    assert run_dir.parent == stack.root / "runs"
    assert validate_run_contract(run_dir) == []
    expect = files_response(run_dir)
    assert {k: body[k] for k in ("decision", "exit_code", "eval_summary")} == {
        k: expect[k] for k in ("decision", "exit_code", "eval_summary")
    }
    assert sorted(body["artifacts"]) == expect["artifacts"]
    assert all(Path(p).is_file() for p in body["artifacts"].values())
    # A sync job's id is its Dagster run id.
    assert body["job_id"] == body["dagster_run_id"]
    st = requests.get(f"{stack.api_url}/v1/jobs/{body['job_id']}", timeout=30).json()
    assert st["status"] == "SUCCEEDED" and st["dagster_status"] == "SUCCESS"
    meta = json.loads((run_dir / "run_meta.json").read_text())
    assert meta["dagster_run_id"] == body["job_id"]
    rec = requests.get(f"{stack.api_url}/retraining/jobs/{body['job_id']}", timeout=30).json()
    assert rec["decision"] == expect["decision"] and rec["metrics"] == expect["metrics"]


def test_a_refused_request_is_not_a_job(stack):
    before = retrain_run_count(stack)
    for path in ("/v1/retrain", "/v1/jobs/retrain"):
        r = requests.post(
            f"{stack.api_url}{path}",
            json={"dataset_dir": "no_such_dir", "project_id": "refused"},
            timeout=60,
        )
        assert r.status_code == 400 and "no_such_dir" in r.json()["detail"], r.text
    listed = requests.get(
        f"{stack.api_url}/retraining/jobs", params={"modelId": "refused"}, timeout=30
    ).json()
    assert listed == {"jobs": [], "total": 0, "limit": 20, "offset": 0}
    assert retrain_run_count(stack) == before


def test_queued_job_keeps_its_id_and_its_record_tells_the_truth(stack):
    t0 = time.monotonic()
    r = requests.post(
        f"{stack.api_url}/v1/jobs/retrain", json={"dataset_dir": "iris", "seed": 3}, timeout=60
    )
    assert r.status_code == 202, r.text
    assert time.monotonic() - t0 < 10, "submission must answer at once, not run the job"
    job = r.json()
    job_id = job["job_id"]
    assert job["status"] == "QUEUED"
    early = requests.get(f"{stack.api_url}/v1/jobs/{job_id}/result", timeout=30)
    if early.status_code != 200:  # the daemon may in theory finish first; usually not
        assert early.status_code == 409 and "no result" in early.json()["detail"]
    st = wait_done(stack.api_url, job_id)
    assert st["status"] == "SUCCEEDED", st
    # The job id stays; the run has its own id, and either finds the same job.
    run_id = st["dagster_run_id"]
    assert st["job_id"] == job_id and run_id and run_id != job_id
    assert [r.dagster_run.run_id for r in runs_of_job(stack, job_id)] == [run_id]
    by_run = requests.get(f"{stack.api_url}/v1/jobs/{run_id}", timeout=30).json()
    assert by_run == st
    res = requests.get(f"{stack.api_url}/v1/jobs/{run_id}/result", timeout=30).json()
    assert res["job_id"] == job_id and res["dagster_run_id"] == run_id
    run_dir = Path(res["run_dir"])
    assert validate_run_contract(run_dir) == []
    expect = files_response(run_dir)
    assert {k: res[k] for k in ("decision", "exit_code", "eval_summary")} == {
        k: expect[k] for k in ("decision", "exit_code", "eval_summary")
    }
    assert sorted(res["artifacts"]) == expect["artifacts"]
    assert json.loads((run_dir / "run_meta.json").read_text())["dagster_run_id"] == run_id
    assert yaml_seed(run_dir) == 3

    rec = wait_events(stack.api_url, job_id, {"scheduled", "queued", "started", "completed"})
    assert rec == requests.get(f"{stack.api_url}/retraining/jobs/{run_id}", timeout=30).json()
    counts = json.loads((IRIS / "hashes.json").read_text())["split_counts"]
    assert rec["id"] == job_id and rec["dagsterRunId"] == run_id
    assert rec["recordCounts"] == {"total": 150, **counts}
    assert rec["runDir"] == str(run_dir) and rec["status"] == "SUCCEEDED"
    assert rec["metrics"] == expect["metrics"] and rec["decision"] == expect["decision"]
    assert rec["scheduledAt"] <= rec["startedAt"] <= rec["completedAt"]
    events = rec["events"]
    assert [e["status"] for e in events] == ["scheduled", "queued", "started", "completed"]
    stamps = [e["ts"] for e in events]
    assert stamps == sorted(stamps), events
    assert stamps[0] == rec["scheduledAt"] and stamps[-1] <= rec["completedAt"]
    assert events[-1]["details"]["run_dir"] == str(run_dir)


def yaml_seed(run_dir: Path) -> int:
    import yaml

    return yaml.safe_load((run_dir / "config.yaml").read_text())["request"]["seed"]


def test_idempotency_key_returns_the_same_job_with_its_current_status(stack):
    url = f"{stack.api_url}/v1/jobs/retrain"
    hdr = {"Idempotency-Key": "retry-me-1"}
    body = {"dataset_dir": "iris", "project_id": "retry-model"}
    a = requests.post(url, json=body, headers=hdr, timeout=60).json()
    b = requests.post(url, json=body, headers=hdr, timeout=60).json()
    assert a["job_id"] == b["job_id"]
    c = requests.post(url, json={**body, "seed": 1}, headers=hdr, timeout=60)
    assert c.status_code == 422 and a["job_id"] in c.json()["detail"]
    d = requests.post(url, json=body, timeout=60).json()
    assert d["job_id"] != a["job_id"]
    # A sync retrain of a model with a queued job is refused rather than run alongside it.
    busy = requests.post(f"{stack.api_url}/v1/retrain", json=body, timeout=60)
    assert busy.status_code == 409 and "in progress" in busy.json()["detail"]
    bad = requests.post(url, json=body, headers={"Idempotency-Key": "a b"})
    assert bad.status_code == 400
    done = wait_done(stack.api_url, a["job_id"])
    again = requests.post(url, json=body, headers=hdr, timeout=60)
    assert again.status_code == 202
    assert again.json() == {
        "job_id": a["job_id"],
        "status": done["status"],
        "dagster_run_id": done["dagster_run_id"],
    }
    assert len(runs_of_job(stack, a["job_id"])) == 1
    wait_done(stack.api_url, d["job_id"])


def gql(stack, query: str, **variables) -> dict:
    r = requests.post(
        f"{stack.api_url}/graphql", json={"query": query, "variables": variables}, timeout=60
    )
    return r.json()


JOB_FIELDS = (
    "id dagsterRunId modelId reason status recordCounts runDir decision metrics scheduledAt "
    "completedAt error"
)


def test_graphql_mutation_and_queries(stack):
    out = gql(
        stack,
        "mutation($m: String!, $r: String) { triggerMLRetraining(modelId: $m, reason: $r) "
        f"{{ {JOB_FIELDS} }} }}",
        m="iris-model",
        r="drift detected",
    )
    job = out["data"]["triggerMLRetraining"]
    assert job["modelId"] == "iris-model" and job["reason"] == "drift detected"
    assert job["status"] in ("QUEUED", "RUNNING")
    st = wait_done(stack.api_url, job["id"])
    assert st["status"] == "SUCCEEDED", st
    one = gql(
        stack, f"query($j: ID!) {{ mlRetrainingJob(jobId: $j) {{ {JOB_FIELDS} }} }}", j=job["id"]
    )
    got = one["data"]["mlRetrainingJob"]
    assert got["id"] == job["id"] and got["dagsterRunId"] == st["dagster_run_id"]
    assert got["status"] == "SUCCEEDED" and got["recordCounts"]["total"] == 150
    assert Path(got["runDir"]).parent == stack.root / "runs"
    assert got["metrics"] == files_response(Path(got["runDir"]))["metrics"]
    many = gql(
        stack,
        "query($m: String) { mlRetrainingJobs(modelId: $m, limit: 50) { id modelId status } }",
        m="iris-model",
    )
    jobs = many["data"]["mlRetrainingJobs"]
    assert job["id"] in [j["id"] for j in jobs]
    assert {j["modelId"] for j in jobs} == {"iris-model"}
    missing = gql(stack, '{ mlRetrainingJob(jobId: "nope") { id } }')
    assert missing["data"] == {"mlRetrainingJob": None}
    unknown = gql(stack, 'mutation { triggerMLRetraining(modelId: "ghost") { id } }')
    assert "not configured" in unknown["errors"][0]["message"]
    syntax = requests.post(f"{stack.api_url}/graphql", json={"query": "{ nope"}, timeout=30)
    assert syntax.status_code == 400 and syntax.json()["errors"]


def test_intelgraph_rest_records_and_worker_events(stack):
    r = requests.post(
        f"{stack.api_url}/models/iris-model/retrain",
        json={"reason": "weekly"},
        headers={"Idempotency-Key": "weekly-1"},
        timeout=60,
    )
    assert r.status_code == 202, r.text
    rec = r.json()
    assert rec["modelId"] == "iris-model" and rec["reason"] == "weekly"
    jid = rec["id"]
    ev = requests.post(
        f"{stack.api_url}/retraining/jobs/{jid}/events",
        json={
            "status": "RUNNING",
            "k8sJobName": "dagster-run-abc",
            "k8sNamespace": "ml",
            "mlflowRunId": "0123abcd",
        },
        timeout=30,
    )
    assert ev.status_code == 201, ev.text
    requests.post(
        f"{stack.api_url}/retraining/jobs/{jid}/events",
        json={"status": "metrics", "metrics": {"f1": 0.91, "exact_match": 0.5}},
        timeout=30,
    ).raise_for_status()
    running = requests.get(f"{stack.api_url}/retraining/jobs/{jid}", timeout=30).json()
    if running["status"] != "SUCCEEDED":  # until it completes, the worker's figures
        assert running["metrics"] == {"f1": 0.91, "exact_match": 0.5}
    wait_done(stack.api_url, jid)
    rec = wait_events(stack.api_url, jid, {"completed"})
    assert rec["k8sJobName"] == "dagster-run-abc" and rec["k8sNamespace"] == "ml"
    # The run's own MLflow run, once the daemon's tracking_outbox sensor has opened it, over
    # the worker's report.
    meta = json.loads((Path(rec["runDir"]) / "run_meta.json").read_text())
    assert meta["tracking_key"] == rec["dagsterRunId"]
    deadline = time.monotonic() + 120
    while True:
        tracked = tracked_run_id(rec["dagsterRunId"], stack.env["VERIFILY_JOBS_DB_URL"])
        if tracked:
            break
        assert time.monotonic() < deadline, "the tracking outbox never opened the MLflow run"
        time.sleep(1)
    rec = requests.get(f"{stack.api_url}/retraining/jobs/{jid}", timeout=30).json()
    assert rec["mlflowRunId"] == tracked != "0123abcd"
    # Completed: the job's own evaluation, from its eval_results.json.
    assert rec["metrics"] == files_response(Path(rec["runDir"]))["metrics"]
    assert rec["metrics"] != {"f1": 0.91, "exact_match": 0.5}
    # In the order of the job's life, whoever reported them: the API's, then the worker's
    # (reported while the run was queued or running), then Dagster's completion.
    seen = [(e["source"], e["status"]) for e in rec["events"]]
    assert seen[0] == ("api", "scheduled") and seen[-1] == ("dagster", "completed"), seen
    assert seen.index(("worker", "started")) < seen.index(("worker", "metrics")), seen
    # A retry with the key: the same job, as it is now.
    again = requests.post(
        f"{stack.api_url}/models/iris-model/retrain",
        json={"reason": "weekly"},
        headers={"Idempotency-Key": "weekly-1"},
        timeout=60,
    ).json()
    assert again["id"] == jid and again["status"] == "SUCCEEDED"
    assert again["dagsterRunId"] == rec["dagsterRunId"]
    # Filters and pagination.
    page = requests.get(
        f"{stack.api_url}/retraining/jobs",
        params={"modelId": "iris-model", "status": "SUCCEEDED", "limit": 1},
        timeout=30,
    ).json()
    assert page["total"] >= 1 and len(page["jobs"]) == 1 and page["limit"] == 1
    page2 = requests.get(
        f"{stack.api_url}/retraining/jobs",
        params={"modelId": "iris-model", "limit": 1, "offset": 1},
        timeout=30,
    ).json()
    if page2["total"] > 1:
        assert page2["jobs"][0]["id"] != page["jobs"][0]["id"]
    none = requests.get(
        f"{stack.api_url}/retraining/jobs", params={"modelId": "no-such-model"}, timeout=30
    ).json()
    assert none == {"jobs": [], "total": 0, "limit": 20, "offset": 0}
    # Bad inputs on these routes.
    missing = "00000000-0000-0000-0000-000000000000"
    assert requests.get(f"{stack.api_url}/retraining/jobs/{missing}").status_code == 404
    assert (
        requests.post(
            f"{stack.api_url}/retraining/jobs/{missing}/events", json={"status": "RUNNING"}
        ).status_code
        == 404
    )
    bad = requests.post(f"{stack.api_url}/retraining/jobs/{jid}/events", json={"status": "WAT"})
    assert bad.status_code == 400 and "unknown status" in bad.json()["detail"]
    assert requests.post(f"{stack.api_url}/models/ghost/retrain").status_code == 404
    assert requests.post(f"{stack.api_url}/models/..%2f..%2fx/retrain").status_code in (404, 422)


def test_sdk_against_the_same_server(stack):
    client = VerifilyClient(base_url=stack.api_url)
    sync = client.retrain("iris", seed=11, project_id="sdk-sync")
    assert sync.decision in ("SHIP", "DONT_SHIP", "INVESTIGATE")
    assert Path(sync.run_dir).is_dir() and sync.job_id
    sub = client.submit_retrain_job(dataset_dir="iris", seed=11, idempotency_key="sdk-1")
    again = client.submit_retrain_job(dataset_dir="iris", seed=11, idempotency_key="sdk-1")
    assert sub.job_id == again.job_id and sub.status == "QUEUED"
    done = client.wait_for_job(sub.job_id, timeout=180, poll_interval=0.5)
    assert done.status == "SUCCEEDED" and done.dagster_run_id
    res = client.get_job_result(sub.job_id)
    # Same dataset and seed in mock mode: the same metrics and decision as the sync run.
    assert res.eval_summary == sync.eval_summary and res.decision == sync.decision
    assert res.run_dir != sync.run_dir
    listed = client.list_jobs(limit=100)
    assert sub.job_id in [j.id for j in listed.jobs]
    rec = client.trigger_model_retrain("iris-model", reason="sdk")
    assert rec.reason == "sdk"
    ev = client.post_job_event(rec.id, "metrics", metrics={"f1": 0.5})
    assert ev["status"] == "metrics"
    waiting = client.get_job_record(rec.id)
    assert waiting.metrics == {"f1": 0.5} or waiting.status == "SUCCEEDED"
    client.wait_for_job(rec.id, timeout=180, poll_interval=0.5)
    with pytest.raises(VerifilyAPIError) as e:
        client.get_job("not-a-job")
    assert e.value.status_code == 404 and "no job" in e.value.message
    with pytest.raises(VerifilyAPIError) as e:
        client.retrain("../etc")
    assert e.value.status_code == 400 and "'..'" in e.value.message
