"""Fixtures and checks shared by the MLflow tests: a clean tracking environment, a real server."""

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from tests.support.examples import IRIS
from verifily.mirror.drain import DrainReport, drain
from verifily.rundir.validation import verify_run_dir
from verifily.signing.keystore import trusted_keys
from verifily.tracking.store import mlflow_client, resolve_tracking_settings
from verifily_assets.launch import run_retrain

MLFLOW_ENV = (
    "MLFLOW_TRACKING_URI",
    "MLFLOW_ARTIFACT_URI",
    "MLFLOW_EXPERIMENT_NAME",
    "VERIFILY_MLFLOW_ENABLED",
    "VERIFILY_MLFLOW_CONFIG",
    "VERIFILY_STATE_DIR",
)


@pytest.fixture(scope="session")
def mlflow_template_db(tmp_path_factory) -> Path:
    """An empty MLflow SQLite store, migrated once per worker (migrations take ~10 s)."""
    from mlflow import MlflowClient

    path = tmp_path_factory.mktemp("mlflow_template") / "mlflow.db"
    MlflowClient(f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture
def mlflow_env(dagster_home, monkeypatch, mlflow_template_db) -> Path:
    """No MLflow settings from the outside: the embedded SQLite default under the test's dir."""
    for key in MLFLOW_ENV:
        monkeypatch.delenv(key, raising=False)
    shutil.copy(mlflow_template_db, dagster_home.parent / "mlflow.db")
    return dagster_home.parent


# Tracking only: without this the server also starts 7 background job consumers, which
# compete for the 2 CPUs the suite runs on.
SERVER_ENV = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_mlflow_server(
    tmp_path: Path, server_db: Path, port: int, workers: int = 1
) -> Iterator[str]:
    """A real `mlflow server` on 127.0.0.1:`port` (SQLite backend, proxied artifacts) until
    the block ends; yields its URL once it answers /health."""
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path / f"mlflow_server_{port}.log"
    log = open(log_path, "ab")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--backend-store-uri",
            f"sqlite:///{server_db}",
            "--artifacts-destination",
            str(tmp_path / "server_artifacts"),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=SERVER_ENV,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"mlflow server did not start: {log_path.read_text()}")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture
def mlflow_server(tmp_path, mlflow_env, monkeypatch):
    """A real `mlflow server` on a free loopback port (SQLite backend, proxied artifacts)."""
    server_db = shutil.copy(mlflow_env / "mlflow.db", tmp_path / "server.db")
    with running_mlflow_server(tmp_path, Path(server_db), free_port()) as url:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
        yield url


def retrain(instance: dg.DagsterInstance, out: Path, **fields) -> dict:
    """One retrain of the iris example through the real job, on the test's instance."""
    return run_retrain(
        {"dataset_dir": str(IRIS), "output_dir": str(out), "project_id": "iris", **fields},
        instance=instance,
    )


def drained() -> DrainReport:
    """Drain the tracking outbox in this process, as the daemon's sensor would; no error."""
    report = drain()
    assert report.error is None, report.error
    return report


def mlflow_runs_of(dagster_run_id: str) -> list:
    """Every MLflow run tagged with a Verifily (Dagster) run's id."""
    client = mlflow_client(resolve_tracking_settings())
    exp = client.get_experiment_by_name("intelgraph-retraining")
    if exp is None:
        return []
    return client.search_runs(
        [exp.experiment_id], filter_string=f"tags.`verifily.dagster_run_id` = '{dagster_run_id}'"
    )


def assert_tracked(instance: dg.DagsterInstance, response: dict, *, drain_first=True) -> None:
    """The retrain left exactly one finished MLflow run that matches its run directory, once
    the tracking outbox is drained."""
    if drain_first:
        drained()
    run_dir = Path(response["run_dir"])
    meta = json.loads((run_dir / "run_meta.json").read_text())
    results = json.loads((run_dir / "eval" / "eval_results.json").read_text())
    settings = resolve_tracking_settings()
    client = mlflow_client(settings)
    assert meta["tracking_key"] == response["run_id"]
    runs = mlflow_runs_of(response["run_id"])
    assert len(runs) == 1, [r.info.run_id for r in runs]
    run = runs[0]
    assert run.info.status == "FINISHED"
    # Every eval metric, exactly; nothing else but the deltas against the baseline.
    eval_part = {k: v for k, v in run.data.metrics.items() if not k.startswith("delta_")}
    assert eval_part == results["metrics"]
    assert run.data.tags["verifily.dagster_run_id"] == response["run_id"]
    assert run.data.tags["verifily.decision"] == response["decision"]
    assert run.data.params["seed"] == str(meta["seed"])
    assert run.data.params["threshold.min_metric"] == "0.5"
    (ds_input,) = run.inputs.dataset_inputs
    assert ds_input.dataset.digest == meta["dataset_hash"][:36]
    assert json.loads(ds_input.dataset.profile)["dataset_hash"] == meta["dataset_hash"]
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "run_dir")}
    assert "run_dir/hashes.json" in artifacts
    dst = run_dir.parent.parent / "downloaded"
    dst.mkdir(exist_ok=True)
    local = client.download_artifacts(run.info.run_id, "run_dir/hashes.json", str(dst))
    assert Path(local).read_bytes() == (run_dir / "hashes.json").read_bytes()
    # The decision's metadata names the outbox key the run was found by.
    mat = instance.get_latest_materialization_event(dg.AssetKey("decision"))
    assert mat.asset_materialization.metadata["tracking_key"].value == response["run_id"]
    # The signed attestation's digest is anchored in MLflow and in the event log.
    digest = verify_run_dir(run_dir, trusted_keys()).digest
    assert digest and run.data.tags["verifily.attestation_digest"] == digest
    assert mat.asset_materialization.metadata["attestation_digest"].value == digest
