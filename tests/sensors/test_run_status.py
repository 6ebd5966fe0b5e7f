"""Run-status bookkeeping: real retrain runs, their lifecycle recorded in the job event store."""

import dagster as dg

from sensors.run_status import build_run_status_sensors
from tests.support.examples import IRIS
from verifily.jobstore.events import JobEventStore
from verifily.rundir.contract import validate_run_contract
from verifily_assets.definitions import RETRAIN_TARGET, defs
from verifily_assets.partitions import MODEL_PARTITIONS


def _run(instance, dataset_dir, out, trigger="record_count"):
    job = defs.resolve_job_def("retrain_job")
    return job.execute_in_process(
        run_config={
            "ops": {
                "dataset_artifact": {
                    "config": {"dataset_dir": str(dataset_dir), "output_dir": str(out)}
                }
            }  # fmt: skip
        },
        instance=instance,
        partition_key="iris",
        tags={"verifily/model_id": "iris", "verifily/trigger": trigger, "verifily/monitor_id": "m"},
        raise_on_error=False,
    )


def _fire(sensors, name, instance, result, event):
    sensor = next(s for s in sensors if s.name == name)
    ctx = dg.build_run_status_sensor_context(
        sensor_name=name, dagster_event=event, dagster_instance=instance,
        dagster_run=result.dagster_run,
    )  # fmt: skip
    sensor(ctx.for_run_failure() if name.endswith("failed") else ctx)


def test_success_and_failure_are_recorded_once(instance, tmp_path):
    instance.add_dynamic_partitions(MODEL_PARTITIONS.name, ["iris"])
    sensors = build_run_status_sensors(5, RETRAIN_TARGET.job)
    ok = _run(instance, IRIS, tmp_path / "runs", trigger="monitor")
    assert ok.success
    started = instance.all_logs(ok.run_id, of_type=dg.DagsterEventType.RUN_START)[0]
    _fire(sensors, "job_events_started", instance, ok, started.dagster_event)
    _fire(sensors, "job_events_success", instance, ok, ok.get_run_success_event())
    # Delivered twice (a daemon restart between tick and cursor save): still recorded once.
    _fire(sensors, "job_events_success", instance, ok, ok.get_run_success_event())

    bad = _run(instance, tmp_path / "missing", tmp_path / "runs")
    assert not bad.success
    _fire(sensors, "job_events_failed", instance, bad, bad.get_run_failure_event())

    store = JobEventStore()
    events = store.events(ok.run_id)
    assert [e["status"] for e in events] == ["started", "completed"]
    done = events[1]["details"]
    assert done["model_id"] == "iris" and done["trigger"] == "monitor"
    assert done["partition"] == "iris"
    assert validate_run_contract(done["run_dir"]) == []
    (failed,) = store.events(bad.run_id)
    assert failed["status"] == "failed"
    assert "dataset directory does not exist" in failed["details"]["error"]
    # A monitor-requested retrain shows its exact published run directory on `decision`.
    (obs,) = instance.fetch_observations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("decision"), asset_partitions=["iris"]),
        limit=5,
    ).records
    md = obs.asset_observation.metadata
    assert (
        md["retrain_run_dir"].value == done["run_dir"] and md["retrain_run_id"].value == ok.run_id
    )
