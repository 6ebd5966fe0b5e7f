"""The MLflow run opened when a retrain is requested (Kubernetes): its id reaches every step
Job; an outage costs a bounded wait, says `pending`, and never makes a second run."""

import time

from resources.k8s import K8sStepSettings
from tests.support.examples import IRIS
from tests.support.mlflow_server import drained, mlflow_runs_of
from tests.support.silent_server import SilentServer
from verifily.dataset.verify import verify_artifact
from verifily.retrain import steps
from verifily.retrain.request import RetrainRequest
from verifily.tags import LABEL_MLFLOW_RUN_ID, MLFLOW_RUN_ID, RESERVATION_ID
from verifily.tracking import reserve
from verifily.tracking.record import open_retrain_run
from verifily.tracking.store import mlflow_client, resolve_tracking_settings
from verifily_assets.run_config import retrain_run_request

K8S = {"VERIFILY_EXECUTOR": "k8s", "RETRAINING_IMAGE": "reg.example/verifily:1"}


def queued_start(tmp_path, key: str, **reserved) -> None:
    req = RetrainRequest(dataset_dir=str(IRIS), output_dir=str(tmp_path / "runs"))
    state = steps.start(req, verify_artifact(IRIS), run_id=key)
    open_retrain_run(
        resolve_tracking_settings(), state, dagster_run_id=key, trigger="test", **reserved
    )


def test_a_k8s_run_request_carries_the_reserved_run_to_every_step_job(
    mlflow_env, tmp_path, monkeypatch
):
    for k, v in K8S.items():
        monkeypatch.setenv(k, v)
    request = retrain_run_request(
        {"dataset_dir": str(IRIS)}, model_id="iris", trigger="test", run_key="k1"
    )
    run_id = request.tags[MLFLOW_RUN_ID]
    config = request.run_config["execution"]["config"]
    assert config["mlflow_run_id"] == run_id
    executor = K8sStepSettings.from_env(K8S).executor_config(
        model_id="iris", mlflow_run_id=config["mlflow_run_id"], env=K8S
    )
    assert executor["labels"][LABEL_MLFLOW_RUN_ID] == run_id
    assert f"VERIFILY_MLFLOW_RUN_ID={run_id}" in executor["env_vars"]
    # The retrain's writes go to that very run: no second one.
    queued_start(
        tmp_path, "dagster-run-1", mlflow_run_id=run_id, reservation=request.tags[RESERVATION_ID]
    )
    drained()
    (run,) = mlflow_runs_of("dagster-run-1")
    assert run.info.run_id == run_id
    assert run.data.params["model_id"] == "default"


def test_a_hanging_server_costs_the_request_at_most_the_reservation_timeout(
    mlflow_env, monkeypatch
):
    server = SilentServer().start()
    monkeypatch.setattr(reserve, "_failed_at", 0.0)
    try:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", server.url)
        t0 = time.monotonic()
        first = reserve.reserve_run(resolve_tracking_settings(), "iris", timeout_seconds=1.0)
        assert time.monotonic() - t0 < 2.0
        assert first.mlflow_run_id is None and first.label == "pending"
        assert "did not answer within 1 s" in (first.error or "")
        t0 = time.monotonic()
        second = reserve.reserve_run(resolve_tracking_settings(), "iris")
        assert time.monotonic() - t0 < 0.5 and "failed recently" in (second.error or "")
    finally:
        server.stop()


def test_a_reservation_that_landed_late_is_found_not_duplicated(mlflow_env, tmp_path):
    """The request stopped waiting, but the run was created after all: the drainer finds it by
    the reservation id."""
    settings = resolve_tracking_settings()
    late = reserve._create(settings, "default", "resv-1")
    queued_start(tmp_path, "dagster-run-2", reservation="resv-1")
    drained()
    (run,) = mlflow_runs_of("dagster-run-2")
    assert run.info.run_id == late
    assert run.data.tags["mlflow.runName"].startswith("retrain_")
    client = mlflow_client(settings)
    exp = client.get_experiment_by_name("intelgraph-retraining")
    assert len(client.search_runs([exp.experiment_id])) == 1
