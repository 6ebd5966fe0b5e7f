"""The zombie reaper: an in-process run whose owner process is gone is failed with the reason,
its MLflow run closed and its staging directory swept; a live owner, a reused PID's new owner
and another host's runs are left alone."""

import socket
import subprocess
import sys
import time

import dagster as dg
import pytest

from resources.mlflow_tracker import MLflowTracker
from sensors.reaper import reap_zombie_runs, zombie_run_reaper
from tests.support.examples import IRIS
from tests.support.mlflow_server import drained, mlflow_runs_of
from tests.support.zombies import dead_process, started_run
from verifily.dataset.verify import verify_artifact
from verifily.retrain import steps
from verifily.retrain.owner import owner_gone, process_started, this_process
from verifily.retrain.request import RetrainRequest
from verifily.tags import OWNER_HOST, OWNER_PID, OWNER_STARTED, STAGING_DIR
from verifily.tracking.record import open_retrain_run
from verifily.tracking.store import resolve_tracking_settings

RS = dg.DagsterRunStatus


def test_owner_identity():
    host, pid, started = this_process()
    assert owner_gone(host, pid, started) is None
    assert owner_gone("another-host", "1", "x:1") is None
    dead_pid, dead_started = dead_process()
    assert (
        owner_gone(host, dead_pid, dead_started) == f"worker process {dead_pid} on {host} is gone"
    )
    # The PID exists but belongs to a process that started later: not the owner.
    boot = started.split(":")[0]
    assert "belongs to another process" in owner_gone(host, pid, f"{boot}:1")
    assert "host restarted" in owner_gone(host, pid, f"other-boot:{started.split(':')[1]}")


def test_an_exited_but_unreaped_child_is_gone():
    p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    started = process_started(p.pid)
    p.kill()
    try:
        # Not waited for yet: a zombie whose /proc entry is still there.
        for _ in range(100):
            reason = owner_gone(socket.gethostname(), str(p.pid), started)
            if reason:
                break
            time.sleep(0.05)
        assert reason and "its parent has not reaped it" in reason
    finally:
        p.wait()


@pytest.mark.slow
def test_the_reaper_fails_the_run_closes_mlflow_and_sweeps(instance, mlflow_env, tmp_path):
    host = socket.gethostname()
    pid, started = dead_process()
    run = started_run(instance, {OWNER_HOST: host, OWNER_PID: pid, OWNER_STARTED: started})
    # The dead run had allocated its staging directory and opened its MLflow run.
    req = RetrainRequest(dataset_dir=str(IRIS), output_dir=str(tmp_path / "runs"))
    state = steps.start(req, verify_artifact(IRIS), run_id=run.run_id)
    settings = resolve_tracking_settings()
    state, _ = open_retrain_run(settings, state, dagster_run_id=run.run_id, trigger="manual")
    instance.add_run_tags(run.run_id, {STAGING_DIR: state["staging_dir"]})
    me = dict(zip((OWNER_HOST, OWNER_PID, OWNER_STARTED), this_process(), strict=True))
    alive = started_run(instance, me)
    elsewhere = started_run(
        instance, {OWNER_HOST: "host-b", OWNER_PID: pid, OWNER_STARTED: started}
    )
    launched = started_run(instance, {})

    context = dg.build_sensor_context(instance=instance, resources={"mlflow": MLflowTracker()})
    result = zombie_run_reaper(context)
    reason = f"worker process {pid} on {host} is gone"
    assert isinstance(result, dg.SkipReason) and reason in (result.skip_message or "")

    failed = instance.get_run_by_id(run.run_id)
    assert failed.status == RS.FAILURE
    (event,) = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
    assert event.dagster_event.message.startswith(reason)
    # The FAILED close is queued in the tracking outbox; drained, the run is FAILED.
    drained()
    (mlflow_run,) = mlflow_runs_of(run.run_id)
    assert mlflow_run.info.status == "FAILED"
    assert reason in mlflow_run.data.tags["verifily.error"]
    assert list((tmp_path / "runs").glob(".retrain_*.partial")) == []
    for other in (alive, elsewhere, launched):
        assert instance.get_run_by_id(other.run_id).status == RS.STARTED
    # Reaping again finds nothing new.
    assert reap_zombie_runs(instance, settings) == []
