"""One MLflow run per retrain on the embedded SQLite store: logged, closed, and failure-safe."""

import json
from pathlib import Path

import dagster as dg
import pytest

from resources.jobs_db import JobsDatabase
from resources.mlflow_tracker import MLflowTracker
from sensors.mlflow_runs import mlflow_run_failures
from tests.support.mlflow_server import (
    assert_tracked,
    drained,
    free_port,
    mlflow_runs_of,
    retrain,
)
from verifily.errors import InputError
from verifily.mirror.drain import drain
from verifily.retrain import steps
from verifily.rundir.contract import validate_run_contract
from verifily.tracking.outbox import TrackingOutbox
from verifily.tracking.store import mlflow_client, resolve_tracking_settings
from verifily_assets.launch import RunFailedError


def test_retrain_is_one_finished_mlflow_run(instance, mlflow_env, tmp_path):
    response = retrain(instance, tmp_path / "runs", seed=38)
    assert response["decision"] == "SHIP"
    assert resolve_tracking_settings().tracking_uri == f"sqlite:///{mlflow_env / 'mlflow.db'}"
    assert_tracked(instance, response)
    meta = json.loads((Path(response["run_dir"]) / "run_meta.json").read_text())
    assert meta["mlflow_error"] is None


def test_failed_step_leaves_mlflow_run_failed(instance, mlflow_env, tmp_path, monkeypatch):
    def broken_evaluate(state, progress=None):
        raise OSError("disk full while writing eval results")

    monkeypatch.setattr(steps, "evaluate", broken_evaluate)
    with pytest.raises(RunFailedError) as err:
        retrain(instance, tmp_path / "runs")
    drained()
    (run,) = mlflow_runs_of(err.value.run_id)
    assert run.info.status == "FAILED"
    assert "disk full while writing eval results" in run.data.tags["verifily.error"]
    assert "eval_results" in run.data.tags["verifily.error"]
    # Nothing published: a failed retrain leaves no run directory that looks complete.
    assert not list((tmp_path / "runs").glob("retrain_*"))


def test_failure_sensor_closes_a_run_left_running(instance, mlflow_env, tmp_path, monkeypatch):
    """The daemon backstop for crashes the steps cannot catch (killed process, blocked check)."""
    monkeypatch.setattr(steps, "evaluate", lambda state: (_ for _ in ()).throw(MemoryError()))
    with pytest.raises(RunFailedError) as err:
        retrain(instance, tmp_path / "runs")
    dagster_run = instance.get_run_by_id(err.value.run_id)
    drained()
    client = mlflow_client(resolve_tracking_settings())
    (run,) = mlflow_runs_of(dagster_run.run_id)
    # Reopen it, as a hard crash (no except clause ran) would have left it.
    client.update_run(run.info.run_id, status="RUNNING")
    (failure,) = instance.all_logs(dagster_run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
    context = dg.build_run_status_sensor_context(
        sensor_name="mlflow_run_failures",
        dagster_event=failure.dagster_event,
        dagster_instance=instance,
        dagster_run=dagster_run,
    ).for_run_failure()
    mlflow_run_failures(context, mlflow=MLflowTracker(), jobs_db=JobsDatabase())
    assert client.get_run(run.info.run_id).info.status == "RUNNING"  # queued, not sent
    drained()
    run = client.get_run(run.info.run_id)
    assert run.info.status == "FAILED"
    assert run.data.tags["verifily.error"].startswith("dagster run failed")


def test_tracking_store_down_queues_and_loses_nothing(instance, mlflow_env, tmp_path, monkeypatch):
    """The retrain and its decision go on without waiting; the writes stay queued with the
    error, and reach the store once it answers."""
    monkeypatch.setenv("VERIFILY_MLFLOW_ENABLED", "0")
    # Another model: its champion (now promoted without MLflow) is not the tracked one's.
    untracked = retrain(instance, tmp_path / "off", seed=38, project_id="iris-untracked")
    monkeypatch.delenv("VERIFILY_MLFLOW_ENABLED")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{free_port()}")
    response = retrain(instance, tmp_path / "runs", seed=38)

    run_dir = Path(response["run_dir"])
    assert validate_run_contract(run_dir) == []
    decision = json.loads((run_dir / "decision" / "decision.json").read_text())
    reference = json.loads((Path(untracked["run_dir"]) / "decision" / "decision.json").read_text())
    assert decision["recommendation"] == reference["recommendation"] == "SHIP"
    assert decision["rules_fired"] == reference["rules_fired"]
    audit = [json.loads(line) for line in (run_dir / "audit_log.jsonl").read_text().splitlines()]
    assert [e["event"] for e in audit if e["event"].startswith("tracking_")] == ["tracking_queued"]
    assert "tracking_error" not in response

    report = drain()
    assert report.applied == 0 and "127.0.0.1" in report.error
    status = TrackingOutbox().status()
    assert status["pending_retrains"] == 1 and "ConnectionError" in status["last_error"]["error"]
    assert status["pending_writes"] == len(TrackingOutbox().rows(response["run_id"]))


def test_settings_precedence(mlflow_env, tmp_path, monkeypatch):
    cfg = tmp_path / "mlflow.yaml"
    cfg.write_text("mlflow:\n  tracking_uri: http://from-file:5000\n  experiment_name: from-file\n")
    monkeypatch.setenv("VERIFILY_MLFLOW_CONFIG", str(cfg))
    s = resolve_tracking_settings()
    assert (s.tracking_uri, s.experiment_name, s.source) == (
        "http://from-file:5000",
        "from-file",
        str(cfg),
    )
    assert s.artifact_uri is None  # a server chooses its own artifact store
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://from-env:5000")
    monkeypatch.setenv("MLFLOW_ARTIFACT_URI", "s3://bucket/path")
    s = resolve_tracking_settings()
    assert (s.tracking_uri, s.artifact_uri, s.source) == (
        "http://from-env:5000",
        "s3://bucket/path",
        "MLFLOW_TRACKING_URI",
    )
    cfg.write_text("mlflow:\n  tracking_uri: http://x\n  experiment: typo\n")
    with pytest.raises(InputError, match="experiment"):
        resolve_tracking_settings()
    monkeypatch.setenv("VERIFILY_MLFLOW_CONFIG", str(tmp_path / "missing.yaml"))
    with pytest.raises(InputError, match="does not exist"):
        resolve_tracking_settings()


def test_embedded_default_is_local_sqlite(mlflow_env, monkeypatch):
    s = resolve_tracking_settings()
    assert s.tracking_uri == f"sqlite:///{mlflow_env / 'mlflow.db'}"
    assert s.artifact_uri == str(mlflow_env / "mlartifacts")
    assert (s.experiment_name, s.enabled) == ("intelgraph-retraining", True)


def test_code_location_wires_promotion_and_failure_sensor():
    from verifily_assets.definitions import defs

    graph = defs.resolve_asset_graph()
    node = graph.get(dg.AssetKey("promotion"))
    assert node.group_name == "decision"
    assert dg.AssetKey("decision") in node.parent_keys
    assert node.partitions_def is not None and node.partitions_def.name == "model_id"
    assert defs.resolve_sensor_def("mlflow_run_failures") is not None
    assert isinstance(defs.resources["mlflow"], MLflowTracker)
