"""Under a real dagster-daemon: appended records start a retrain by themselves, once per window."""

import json
import time

import dagster as dg
import pytest

from tests.support.daemon import Daemon, runs_with, sensor_ticks, wait_for, write_instance
from tests.support.examples import IRIS
from tests.support.feeds import append_jsonl, records
from tests.support.postgres import new_database
from verifily.feeds.sql import append_records, create_feed_table
from verifily.jobstore.events import JobEventStore
from verifily.rundir.contract import validate_run_contract

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _finished(instance, run_id):
    rec = instance.get_run_record_by_id(run_id)
    return rec if rec.dagster_run.is_finished else None


def _run_dir(instance, run_id) -> str:
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION):
        mat = entry.asset_materialization
        if mat.asset_key == dg.AssetKey("decision"):
            return str(mat.metadata["run_dir"].value)
    raise AssertionError(f"run {run_id} materialized no decision")


def test_appends_trigger_retrains_and_restart_gives_no_duplicate(
    tmp_path, postgres_url, monkeypatch
):
    home = tmp_path / "home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    write_instance(home)
    db_url = new_database(postgres_url)
    create_feed_table(db_url)
    feed_dir = tmp_path / "feed"
    feed_dir.mkdir()
    (tmp_path / "monitors.yaml").write_text("monitors: []\n")
    (tmp_path / "models.yaml").write_text(
        "autostart: true\n"
        "tick_watch_seconds: 4\n"  # the recommended low-latency setting, under the daemon
        "snapshot_root: snapshots\n"
        "models:\n"
        "  - {id: jsonl_model, feed: {kind: jsonl, path: feed}, eval_set: " + str(IRIS) + "}\n"
        "  - {id: pg_model, feed: {kind: sql, url_env: TEST_FEED_URL}}\n"
    )
    env = {
        "VERIFILY_MODELS_CONFIG": str(tmp_path / "models.yaml"),
        "VERIFILY_MONITORS_CONFIG": str(tmp_path / "monitors.yaml"),
        "VERIFILY_SENSOR_INTERVAL_SECONDS": "1",
        "VERIFILY_OUTPUT_ROOT": str(tmp_path / "runs"),
        "TEST_FEED_URL": db_url,
    }
    instance = dg.DagsterInstance.get()
    daemon = Daemon(home, env, tmp_path / "daemon.log").start()
    t0 = time.monotonic()
    try:
        # A run-status sensor starts from the events after its first tick: a run made before
        # it (a loaded machine evaluates ~20 sensors slowly) would go unrecorded.
        for name in ("job_events_starting", "job_events_started", "job_events_success"):
            wait_for(lambda n=name: sensor_ticks(instance, n), 120, f"{name}'s first tick", daemon)
        append_jsonl(feed_dir / "part-0.jsonl", records(0, 50))
        append_records(db_url, records(0, 50, prefix="p"), "ingest-1")

        store = JobEventStore(f"sqlite:///{home / 'verifily_jobs.db'}")
        for model in ("jsonl_model", "pg_model"):
            (run,) = wait_for(
                lambda m=model: runs_with(instance, **{"verifily/model_id": m}),
                120, f"a run for {model}", daemon,
            )  # fmt: skip
            tags = run.dagster_run.tags
            assert tags["verifily/trigger"] == "record_count"
            assert (tags["verifily/window_from"], tags["verifily/window_to"]) == ("0", "50")
            done = wait_for(
                lambda r=run: _finished(instance, r.dagster_run.run_id), 180, "run end", daemon
            )
            assert done.dagster_run.status == dg.DagsterRunStatus.SUCCESS, daemon.tail()
            run_dir = _run_dir(instance, run.dagster_run.run_id)
            assert validate_run_contract(run_dir) == []
            # The run-status sensors recorded the lifecycle in the one job event store.
            events = wait_for(
                lambda r=run: (
                    {e["status"]: e for e in store.events(r.dagster_run.run_id)}
                    if {"queued", "started", "completed"}
                    <= {e["status"] for e in store.events(r.dagster_run.run_id)}
                    else None
                ),
                60, "queued/started/completed job events", daemon,
            )  # fmt: skip
            assert events["completed"]["details"]["run_dir"] == run_dir
            assert events["queued"]["details"]["window_to"] == "50"
            print(f"{model}: run done and recorded at {time.monotonic() - t0:.1f}s")

        # Kill the daemon right after the next window's run was requested; restart it.
        append_jsonl(feed_dir / "part-0.jsonl", records(50, 50))
        wait_for(
            lambda: runs_with(instance, **{"verifily/window_from": "50"}), 60, "2nd run", daemon
        )
        print(f"second window requested at {time.monotonic() - t0:.1f}s")
        daemon.kill()
        daemon = Daemon(home, env, tmp_path / "daemon.log").start()
        # Proof the restarted daemon ticks: the other feed's next window gets its run.
        append_records(db_url, records(50, 50, prefix="p"), "ingest-2")
        wait_for(
            lambda: runs_with(instance, **{"verifily/model_id": "pg_model",
                                           "verifily/window_from": "50"}),
            120, "a run after restart", daemon,
        )  # fmt: skip
        print(f"run after restart at {time.monotonic() - t0:.1f}s")
        jsonl_runs = runs_with(instance, **{"verifily/model_id": "jsonl_model"})
        windows = sorted(
            (r.dagster_run.tags["verifily/window_from"], r.dagster_run.tags["verifily/window_to"])
            for r in jsonl_runs
        )
        assert windows == [("0", "50"), ("50", "100")], json.dumps(windows)
    finally:
        daemon.stop()
        instance.dispose()
