"""The tracking outbox: durable rows, leases, and applying them to MLflow idempotently."""

import os
import subprocess
import sys

from tests.support.examples import IRIS, REPO
from tests.support.mlflow_server import drained, mlflow_runs_of, retrain
from tests.support.outbox import jobs_db_of, wait_drained_or_failed, wait_no_drainer
from verifily.mirror.apply import apply_row
from verifily.mirror.drain import MAX_BATCH_PARAMS_OR_TAGS, drain, units
from verifily.tracking.outbox import TrackingOutbox
from verifily.tracking.record import START
from verifily.tracking.store import mlflow_client, resolve_tracking_settings


def test_a_retry_after_a_crash_between_create_and_mark_makes_no_second_run(
    instance, mlflow_env, tmp_path
):
    """The drainer died after MLflow created the run and before the row was marked applied:
    the next drainer finds the run by the Verifily run's id instead of creating another."""
    response = retrain(instance, tmp_path / "runs", seed=38)
    outbox = TrackingOutbox()
    (start,) = [r for r in outbox.rows(response["run_id"]) if r["op"] == START]
    outbox.mark_attempt([start["seq"]])  # as the drainer counts an attempt before sending it
    first = apply_row(start, outbox)  # applied, never marked: the crash
    report = drained()
    assert report.applied == len(outbox.rows(response["run_id"]))
    (run,) = mlflow_runs_of(response["run_id"])
    assert run.info.run_id == first["run_id"] and run.info.status == "FINISHED"
    # Applying every row again changes nothing: same run, same single metric points.
    for row in outbox.rows(response["run_id"]):
        apply_row(row, outbox)
    (again,) = mlflow_runs_of(response["run_id"])
    client = mlflow_client(resolve_tracking_settings())
    assert len(client.get_metric_history(again.info.run_id, "f1")) == 1
    assert again.data.params == run.data.params


def test_a_retrains_run_writes_are_sent_together_within_mlflows_batch_limits():
    def row(seq, op, tags=1, target="a"):
        payload = {"metrics": {"m": 1.0}, "tags": {f"t{i}": "v" for i in range(tags)}, "ts": 1}
        return {"seq": seq, "op": op, "payload": {**payload, "params": {}}, "target": target}

    rows = [row(1, "start"), row(2, "log"), row(3, "log"), row(4, "finish"), row(5, "register")]
    rows += [row(6, "log"), row(7, "log", target="b"), row(8, "log", tags=MAX_BATCH_PARAMS_OR_TAGS)]
    rows += [row(9, "alias"), row(10, "finish"), row(11, "log")]
    assert [[r["seq"] for r in u] for u in units(rows)] == [
        [1, 2, 3, 4], [5], [6], [7], [8], [9], [10], [11]
    ]  # fmt: skip


def test_a_lease_gives_one_drainer_a_retrain_until_it_expires(dagster_home):
    a, b = TrackingOutbox(), TrackingOutbox()
    assert a.claim("k1") and a.claim("k1")  # renewing its own lease
    assert not b.claim("k1")
    a.release("k1")
    assert b.claim("k1")
    assert not a.claim("k1")
    assert b.claim("k2", seconds=-1)  # already expired: anyone may take it over
    assert a.claim("k2")


def test_status_shows_the_backlog_and_the_last_error(instance, mlflow_env, tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:1")
    first = retrain(instance, tmp_path / "runs", seed=38)
    retrain(instance, tmp_path / "runs", seed=39)
    outbox = TrackingOutbox()
    status = outbox.status()
    assert status["pending_retrains"] == 2 and status["last_error"] is None
    report = drain()
    # The pass stops at the first failure instead of paying the timeout once per retrain.
    assert report.applied == 0 and report.error.startswith(f"retrain {first['run_id']}, start")
    status = outbox.status()
    assert status["pending_retrains"] == 2
    assert status["last_error"]["retrain"] == first["run_id"]
    p = subprocess.run(
        [sys.executable, "-m", "verifily", "tracking", "status"],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    assert f"pending:  {status['pending_writes']} writes of 2 retrains" in p.stdout
    assert f"last error: retrain {first['run_id']}, start: " in p.stdout


def test_no_mlflow_import_on_the_decision_path(dagster_home, tmp_path):
    """A CLI retrain decides and promotes with MLflow unimportable: nothing on its path
    imports or calls MLflow (the detached drainer, a process of its own, does)."""
    code = (
        "import sys; sys.modules['mlflow'] = None\n"
        "from verifily.cli.main import main\n"
        f"sys.argv = ['verifily', 'retrain', '--dataset', {str(IRIS)!r}, '--out', "
        f"{str(tmp_path / 'runs')!r}, '--project', 'iris']\n"
        "main()\n"
    )
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home), "PYTHONPATH": str(REPO)}
    p = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env
    )
    assert p.returncode == 0 and "Decision: SHIP" in p.stdout, p.stderr
    assert "MLflow run: queued" in p.stdout and p.stderr == ""
    # The ledger promoted it without MLflow.
    p = subprocess.run(
        [sys.executable, "-m", "verifily", "promotions", "iris", "--json"],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert '"to_version": "1"' in p.stdout, p.stdout + p.stderr
    wait_drained_or_failed(jobs_db_of(dagster_home))
    wait_no_drainer(dagster_home.parent)
