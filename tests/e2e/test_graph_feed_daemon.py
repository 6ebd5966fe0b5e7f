"""Under a real dagster-daemon, a Neo4j feed (the Bolt stand-in, through the real driver in the
daemon's code server): 49 entities do not start a retrain, the 50th starts exactly one on
exactly those entities, and a daemon restart starts no second run for the window."""

import time

import dagster as dg
import pytest

from tests.support.bolt.server import BoltStandin
from tests.support.daemon import Daemon, runs_with, sensor_ticks, wait_for, write_instance
from tests.support.examples import IRIS
from tests.support.feeds import records
from tests.support.graph_writer import GraphWriter
from tests.support.postgres import dagster_storage
from verifily.dataset.artifact import iter_records
from verifily.feeds.window import DataWindow
from verifily.rundir.contract import validate_run_contract
from verifily.tags import DATA_WINDOW

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SENSOR = "record_count_graph_model"
USER, PASSWORD = "verifily-reader", "s3cret-from-a-k8s-secret"


def _ticks_after(instance, since: float, done: bool = True) -> list:
    return [
        t
        for t in sensor_ticks(instance, SENSOR)
        if t.timestamp > since and (not done or t.status.value != "STARTED")
    ]


def _run_dir(instance, run_id) -> str:
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION):
        mat = entry.asset_materialization
        if mat.asset_key == dg.AssetKey("decision"):
            return str(mat.metadata["run_dir"].value)
    raise AssertionError(f"run {run_id} materialized no decision")


def test_49_entities_no_run_the_50th_one_run_restart_no_second(tmp_path, monkeypatch, postgres_url):
    home = tmp_path / "home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    # Production storage: the daemon's instance on PostgreSQL.
    write_instance(home, storage=dagster_storage(postgres_url))
    server = BoltStandin(users={USER: PASSWORD}).start()
    writer = GraphWriter(server.uri, USER, PASSWORD)
    writer.create_indexes()
    (tmp_path / "monitors.yaml").write_text("monitors: []\n")
    (tmp_path / "models.yaml").write_text(
        "autostart: true\n"
        "snapshot_root: snapshots\n"
        "models:\n"
        "  - id: graph_model\n"
        "    feed: {kind: neo4j, uri_env: IG_NEO4J_URI, user_env: IG_NEO4J_USER,\n"
        "           password_env: IG_NEO4J_PASSWORD}\n"
        f"    eval_set: {IRIS}\n"
    )
    env = {
        "VERIFILY_MODELS_CONFIG": str(tmp_path / "models.yaml"),
        "VERIFILY_MONITORS_CONFIG": str(tmp_path / "monitors.yaml"),
        "VERIFILY_SENSOR_INTERVAL_SECONDS": "1",
        "VERIFILY_OUTPUT_ROOT": str(tmp_path / "runs"),
        "IG_NEO4J_URI": server.uri,
        "IG_NEO4J_USER": USER,
        "IG_NEO4J_PASSWORD": PASSWORD,
    }
    instance = dg.DagsterInstance.get()
    daemon = Daemon(home, env, tmp_path / "daemon.log").start()
    t0 = time.monotonic()
    try:
        # 49 entities of a completed job, and the 50th written but its job still running.
        writer.write_entities("ingest-0001", records(0, 49))
        writer.complete_job("ingest-0001")
        writer.write_entities("ingest-0002", records(49, 1))
        since = time.time()
        seen = wait_for(
            lambda: [t for t in _ticks_after(instance, since) if "49/50" in (t.skip_reason or "")],
            120, "a tick that sees 49 of 50 entities", daemon,
        )  # fmt: skip
        print(f"49/50 seen at {time.monotonic() - t0:.1f}s: {seen[0].skip_reason}")
        assert not runs_with(instance, **{"verifily/model_id": "graph_model"})

        writer.complete_job("ingest-0002")
        (run,) = wait_for(
            lambda: runs_with(instance, **{"verifily/model_id": "graph_model"}),
            60, "the run for the window", daemon,
        )  # fmt: skip
        tags = run.dagster_run.tags
        assert tags["verifily/trigger"] == "record_count"
        assert (tags["verifily/window_from"], tags["verifily/window_to"]) == ("0", "50")
        window = DataWindow.from_json(tags[DATA_WINDOW])
        assert window is not None and window.feed["ingestion_jobs"] == [
            "ingest-0001",
            "ingest-0002",
        ]
        config = run.dagster_run.run_config["ops"]["dataset_artifact"]["config"]
        fed = [r for r in iter_records(config["dataset_dir"]) if "meta" in r]
        fed = [r for r in fed if "ingestion_job" in r["meta"]]
        assert sorted(r["id"] for r in fed) == sorted(f"r{i}" for i in range(50))
        print(f"run requested at {time.monotonic() - t0:.1f}s")
        run_id = run.dagster_run.run_id
        done = wait_for(
            lambda: rec if (rec := instance.get_run_record_by_id(run_id)).dagster_run.is_finished
            else None,
            180, "the run to finish", daemon,
        )  # fmt: skip
        assert done.dagster_run.status == dg.DagsterRunStatus.SUCCESS, daemon.tail()
        assert validate_run_contract(_run_dir(instance, run.dagster_run.run_id)) == []
        print(f"run succeeded at {time.monotonic() - t0:.1f}s")

        # Kill the daemon outright and start it again: it must not request the window again.
        daemon.kill()
        daemon = Daemon(home, env, tmp_path / "daemon.log").start()
        restarted = time.time()
        after = wait_for(
            lambda: (ts if len(ts := _ticks_after(instance, restarted)) >= 3 else None),
            120, "three ticks of the restarted daemon", daemon,
        )  # fmt: skip
        for t in after:
            assert not t.run_ids and "0/50" in (t.skip_reason or ""), t.skip_reason
        assert len(runs_with(instance, **{"verifily/model_id": "graph_model"})) == 1
        print(f"no second run after restart, checked at {time.monotonic() - t0:.1f}s")
    finally:
        daemon.stop()
        instance.dispose()
        writer.close()
        server.stop()
