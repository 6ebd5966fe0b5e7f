"""The tracking outbox against a real `mlflow server` on loopback: an outage loses nothing, and
a drainer killed mid-drain makes no duplicate run or version when it starts again."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.examples import REPO
from tests.support.mlflow_server import (
    free_port,
    mlflow_runs_of,
    retrain,
    running_mlflow_server,
)
from verifily.mirror.drain import drain
from verifily.registry.champion import ledger_aliases
from verifily.tracking.outbox import TrackingOutbox
from verifily.tracking.record import REGISTER
from verifily.tracking.store import mlflow_client, resolve_tracking_settings
from verifily.tracking.versions import aliases

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SEEDS = (38, 3, 41, 7, 12)


def assert_one_finished_run(response: dict) -> None:
    """Exactly one FINISHED MLflow run for the retrain, with its metrics and artifacts."""
    run_dir = Path(response["run_dir"])
    results = json.loads((run_dir / "eval" / "eval_results.json").read_text())
    (run,) = mlflow_runs_of(response["run_id"])
    assert run.info.status == "FINISHED"
    eval_part = {k: v for k, v in run.data.metrics.items() if not k.startswith("delta_")}
    assert eval_part == results["metrics"]
    client = mlflow_client(resolve_tracking_settings())
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "run_dir")}
    assert {"run_dir/hashes.json", "run_dir/attestation.json"} <= artifacts


def assert_registry_mirrors_ledger(model: str) -> None:
    """MLflow's aliases name the versions the ledger names, one version per registration."""
    settings = resolve_tracking_settings()
    client = mlflow_client(settings)
    in_ledger = ledger_aliases(model, "real")
    in_mlflow = aliases(settings, model)
    assert set(in_mlflow) == set(in_ledger)
    for alias, version in in_mlflow.items():
        mv = client.get_model_version(model, version)
        assert mv.tags["verifily.ledger_version"] == in_ledger[alias]
    versions = client.search_model_versions(f"name = '{model}'")
    ledger_numbers = [v.tags["verifily.ledger_version"] for v in versions]
    assert sorted(ledger_numbers) == sorted(set(ledger_numbers))  # no duplicate version
    assert TrackingOutbox().pending_keys() == []  # nothing left pending


def test_mlflow_down_during_five_retrains_then_started(instance, mlflow_env, tmp_path, monkeypatch):
    monkeypatch.setenv("VERIFILY_ENABLE_REAL_TRAIN", "1")
    port = free_port()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{port}")
    responses = [retrain(instance, tmp_path / "runs", seed=s, mode="real") for s in SEEDS]
    assert all("tracking_error" not in r for r in responses)
    report = drain()
    assert report.applied == 0 and "Connection refused" in (report.error or "")
    assert TrackingOutbox().status()["pending_retrains"] == len(SEEDS)

    server_db = shutil.copy(mlflow_env / "mlflow.db", tmp_path / "server.db")
    with running_mlflow_server(tmp_path, Path(server_db), port):
        report = drain()
        assert report.error is None and report.retrains == len(SEEDS)
        for response in responses:
            assert_one_finished_run(response)
        assert ledger_aliases("iris", "real")  # the ledger promoted something to mirror
        assert_registry_mirrors_ledger("iris")
        assert TrackingOutbox().status()["pending_writes"] == 0


def _drainer(env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "verifily", "tracking", "drain"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def test_a_drainer_killed_mid_drain_and_restarted_duplicates_nothing(
    instance, mlflow_server, dagster_home, tmp_path, monkeypatch
):
    monkeypatch.setenv("VERIFILY_ENABLE_REAL_TRAIN", "1")
    responses = [retrain(instance, tmp_path / "runs", seed=s, mode="real") for s in SEEDS]
    outbox = TrackingOutbox()
    total = outbox.status()["pending_writes"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = _drainer(env)
    try:
        deadline = time.monotonic() + 120
        while outbox.status()["applied_writes"] < 3:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "the drainer applied nothing"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    applied = outbox.status()["applied_writes"]
    assert 0 < applied < total, (applied, total)

    # Its lease would hold the retrain it was in for LEASE_SECONDS; a restart after a crash is
    # what matters here, so the lease is let go as its expiry would.
    with outbox.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM verifily_tracking_leases")
    proc = _drainer(env)
    assert proc.wait(timeout=300) == 0, proc.stderr.read() if proc.stderr else ""
    for response in responses:
        assert_one_finished_run(response)
    registered = sum(
        1 for r in responses for row in outbox.rows(r["run_id"]) if row["op"] == REGISTER
    )
    client = mlflow_client(resolve_tracking_settings())
    assert len(client.search_model_versions("name = 'iris'")) == registered
    assert_registry_mirrors_ledger("iris")
