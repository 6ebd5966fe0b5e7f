"""No zombie runs, under a real dagster-daemon with a run queue limited to one run: a CLI retrain
killed with SIGKILL mid-step is failed by the reaper sensor with the reason, its MLflow run is
closed and its staging directory swept, and a queued retrain of another model starts."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
import yaml

from tests.support.daemon import RECOMMENDED, Daemon, runs_with, wait_for
from tests.support.examples import IRIS, REPO
from tests.support.feeds import append_jsonl, records
from tests.support.mlflow_server import mlflow_runs_of

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
RS = dg.DagsterRunStatus


def queue_of_one(home: Path) -> None:
    """The run queue with room for one run in progress, whatever its model."""
    settings = {
        "telemetry": {"enabled": False},
        **RECOMMENDED,
        "run_coordinator": {
            "module": "dagster.core.run_coordinator",
            "class": "QueuedRunCoordinator",
            "config": {"max_concurrent_runs": 1, "dequeue_interval_seconds": 1},
        },
    }
    (home / "dagster.yaml").write_text(yaml.safe_dump(settings, sort_keys=False))
    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.get_runs(limit=1)
        instance.get_dynamic_partitions("model_id")


def test_sigkilled_cli_retrain_is_reaped_and_the_queue_moves_on(dagster_home, mlflow_env, tmp_path):
    queue_of_one(dagster_home)
    (tmp_path / "monitors.yaml").write_text("monitors: []\n")
    (tmp_path / "models.yaml").write_text(
        "autostart: true\n"
        "models:\n"
        f"  - {{id: model_b, feed: {{kind: jsonl, path: {tmp_path / 'feed'}}}, "
        f"eval_set: {IRIS}, min_records: 50}}\n"
    )
    slow = tmp_path / "slow.yaml"
    slow.write_text('training: {trainer: "tests.support.byo_trainers:train_until_killed"}\n')
    env = {
        "DAGSTER_HOME": str(dagster_home),
        "PYTHONPATH": str(REPO),
        "VERIFILY_MODELS_CONFIG": str(tmp_path / "models.yaml"),
        "VERIFILY_MONITORS_CONFIG": str(tmp_path / "monitors.yaml"),
        "VERIFILY_SENSOR_INTERVAL_SECONDS": "1",
        "VERIFILY_OUTPUT_ROOT": str(tmp_path / "runs_b"),
        "VERIFILY_ENABLE_REAL_TRAIN": "1",
    }
    instance = dg.DagsterInstance.get()
    daemon = Daemon(dagster_home, env, tmp_path / "daemon.log").start()
    cli = None
    try:
        runs_a = tmp_path / "runs_a"
        cli = subprocess.Popen(
            [sys.executable, "-m", "verifily", "retrain", "--dataset", str(IRIS),
             "--out", str(runs_a), "--project", "model_a", "--mode", "real",
             "--pipeline-config", str(slow)],
            env={**os.environ, **env}, cwd=REPO,
            stdout=open(tmp_path / "cli.log", "wb"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        marker = wait_for(
            lambda: next(runs_a.glob(".retrain_*.partial/model/workdir/started"), None),
            180, "the CLI retrain to be training", daemon,
        )  # fmt: skip
        staging = marker.parents[2]
        (run_a,) = runs_with(instance, **{"verifily/model_id": "model_a"})
        assert run_a.dagster_run.status == RS.STARTED
        assert run_a.dagster_run.tags["verifily/owner_pid"] == str(cli.pid)
        assert run_a.dagster_run.tags["verifily/owner_host"] == socket.gethostname()

        # Another model's retrain is requested and waits in the queue behind it.
        append_jsonl(tmp_path / "feed" / "part-0.jsonl", records(0, 50))
        (run_b,) = wait_for(
            lambda: runs_with(instance, **{"verifily/model_id": "model_b"}), 120,
            "model_b's retrain to be queued", daemon,
        )  # fmt: skip
        time.sleep(3)
        assert instance.get_run_by_id(run_b.dagster_run.run_id).status == RS.QUEUED

        os.kill(cli.pid, signal.SIGKILL)
        cli.wait()
        killed_at = time.monotonic()
        reason = f"worker process {cli.pid} on {socket.gethostname()} is gone"
        failed = wait_for(
            lambda: (r := instance.get_run_by_id(run_a.dagster_run.run_id)).is_finished and r,
            60, "the killed run to be failed", daemon,
        )  # fmt: skip
        assert failed.status == RS.FAILURE
        (event,) = instance.all_logs(failed.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
        assert event.dagster_event.message.startswith(reason)
        wait_for(
            lambda: instance.get_run_by_id(run_b.dagster_run.run_id).status
            in (RS.STARTING, RS.STARTED, RS.SUCCESS),
            60 - (time.monotonic() - killed_at), "the queued run to start within 60 s", daemon,
        )  # fmt: skip
        print(f"queued run started {time.monotonic() - killed_at:.1f}s after the kill")
        wait_for(lambda: not staging.exists(), 30, "the staging dir to be swept", daemon)
        # The reaper queued the FAILED close in the tracking outbox; the daemon's drainer opens
        # the killed retrain's MLflow run and closes it.
        wait_for(
            lambda: [r.info.status for r in mlflow_runs_of(failed.run_id)] == ["FAILED"], 60,
            "the killed run's MLflow run to be closed FAILED", daemon,
        )  # fmt: skip
        done = wait_for(
            lambda: (r := instance.get_run_by_id(run_b.dagster_run.run_id)).is_finished and r,
            180, "the queued run to finish", daemon,
        )  # fmt: skip
        assert done.status == RS.SUCCESS, daemon.tail()
    finally:
        if cli is not None and cli.poll() is None:
            cli.kill()
            cli.wait()
        daemon.stop()
        instance.dispose()
