"""Under a real dagster-daemon: a SHIP decision with passing gates makes a monitor retrain once."""

import time

import dagster as dg
import pytest

from sensors.run_status import published_run_dir
from tests.support.daemon import Daemon, runs_with, sensor_ticks, wait_for, write_instance
from tests.support.examples import IRIS
from tests.support.materialize import materialize_retrain
from tests.support.postgres import dagster_storage
from verifily.rundir.contract import validate_run_contract

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SENSOR = "monitor_iris_monitor"


def _observations(instance) -> list[dict]:
    """Metadata of the observations on `decision` for iris, oldest first."""
    recs = instance.fetch_observations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("decision"), asset_partitions=["iris"]),
        limit=50,
    ).records
    return [
        {k: v.value for k, v in r.asset_observation.metadata.items()}
        for r in sorted(recs, key=lambda r: r.storage_id)
    ]


def test_ship_decision_makes_the_monitor_retrain_exactly_once(
    dagster_home, mlflow_env, tmp_path, monkeypatch, postgres_url
):
    # Production storage: the daemon's instance on PostgreSQL.
    write_instance(dagster_home, storage=dagster_storage(postgres_url))
    (tmp_path / "models.yaml").write_text("autostart: true\nmodels: []\n")
    (tmp_path / "monitors.yaml").write_text(
        "monitors:\n"
        "  - {monitor_id: iris_monitor, project_id: iris, allow_retrain: true,\n"
        f"     retrain_dataset_dir: {IRIS}}}\n"
    )
    env = {
        "VERIFILY_MODELS_CONFIG": str(tmp_path / "models.yaml"),
        "VERIFILY_MONITORS_CONFIG": str(tmp_path / "monitors.yaml"),
        "VERIFILY_SENSOR_INTERVAL_SECONDS": "1",
        "VERIFILY_OUTPUT_ROOT": str(tmp_path / "runs"),
    }
    daemon = Daemon(dagster_home, env, tmp_path / "daemon.log").start()
    instance = dg.DagsterInstance.get()
    t0 = time.monotonic()
    try:
        # The decision the monitor acts on: a real retrain graph, run by a person (not a sensor).
        shipped = materialize_retrain(instance, IRIS, tmp_path / "manual", seed=38)
        (decision,) = [
            m for m in shipped.get_asset_materialization_events()
            if m.asset_key == dg.AssetKey("decision")
        ]  # fmt: skip
        assert decision.materialization.metadata["recommendation"].value == "SHIP"
        print(f"SHIP decision materialized at {time.monotonic() - t0:.1f}s")

        (run,) = wait_for(
            lambda: runs_with(instance, **{"verifily/trigger": "monitor"}), 90, "retrain", daemon
        )
        tags = run.dagster_run.tags
        assert tags["dagster/partition"] == "iris"
        assert tags["verifily/source_run_id"] == shipped.run_id
        config = run.dagster_run.run_config["ops"]["dataset_artifact"]["config"]
        assert config["dataset_dir"] == str(IRIS)
        done = wait_for(
            lambda: (r := instance.get_run_by_id(run.dagster_run.run_id)).is_finished and r,
            120, "the retrain to finish", daemon,
        )  # fmt: skip
        assert done.status == dg.DagsterRunStatus.SUCCESS, daemon.tail()
        run_dir = published_run_dir(instance, run.dagster_run.run_id)
        assert run_dir and validate_run_contract(run_dir) == []
        print(f"monitor retrain done at {time.monotonic() - t0:.1f}s")

        # The tick that requested it recorded retrain_submitted and retrain_run_dir, and once
        # the run published, the exact run directory joins them on `decision`.
        (tick,) = [t for t in sensor_ticks(instance, SENSOR) if t.run_ids]
        assert tick.run_ids == [run.dagster_run.run_id]
        submitted = [o for o in _observations(instance) if o.get("retrain_submitted") is True]
        at_tick = next(o for o in submitted if o.get("decision_run_id") == shipped.run_id)
        assert at_tick["retrain_run_dir"].startswith(str(tmp_path / "runs"))
        wait_for(
            lambda: any(o.get("retrain_run_dir") == run_dir for o in _observations(instance)),
            30, "the published retrain_run_dir on decision", daemon,
        )  # fmt: skip

        # Later ticks (the retrain's own decision, then nothing new) request nothing.
        end = instance.get_run_record_by_id(run.dagster_run.run_id).end_time

        def later_ticks():
            ticks = [
                t for t in sensor_ticks(instance, SENSOR)
                if t.timestamp > tick.timestamp and t.status.value != "STARTED"  # still running
            ]  # fmt: skip
            return ticks if sum(t.timestamp > end for t in ticks) >= 2 else None

        for t in wait_for(later_ticks, 40, "2 ticks after the retrain finished", daemon):
            assert not t.run_ids and t.status.value == "SKIPPED", t.skip_reason
        assert len(runs_with(instance, **{"verifily/trigger": "monitor"})) == 1
        print(f"no further retrain by {time.monotonic() - t0:.1f}s")
    finally:
        daemon.stop()
        instance.dispose()
