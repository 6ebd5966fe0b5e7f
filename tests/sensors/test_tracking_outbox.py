"""The daemon's drainer: applies the outbox and links each MLflow run it opens on `decision`."""

import dagster as dg

from resources.jobs_db import JobsDatabase
from sensors.tracking_outbox import tracking_outbox
from tests.support.mlflow_server import mlflow_runs_of, retrain
from verifily.tracking.outbox import TrackingOutbox


def test_the_sensor_drains_and_links_the_run_on_the_decision(instance, mlflow_env, tmp_path):
    response = retrain(instance, tmp_path / "runs", seed=38)
    context = dg.build_sensor_context(instance=instance, resources={"jobs_db": JobsDatabase()})
    result = tracking_outbox(context)
    assert isinstance(result, dg.SensorResult)
    (run,) = mlflow_runs_of(response["run_id"])
    assert run.info.status == "FINISHED"
    (event,) = result.asset_events
    assert isinstance(event, dg.AssetObservation)
    assert event.asset_key == dg.AssetKey("decision") and event.partition == "iris"
    assert event.metadata["mlflow_run_id"].value == run.info.run_id
    assert event.metadata["dagster_run_id"].value == response["run_id"]
    assert TrackingOutbox().status()["pending_writes"] == 0
    # Nothing left: the next tick says so.
    again = tracking_outbox(context)
    assert isinstance(again, dg.SkipReason) and "empty" in (again.skip_message or "")
