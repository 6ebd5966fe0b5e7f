"""Runs whose owner process is gone, made on a test's instance the way a killed CLI leaves them."""

import subprocess
import sys

import dagster as dg

from tests.support.examples import IRIS
from verifily.retrain.owner import process_started
from verifily_assets.launch import retrain_job_def
from verifily_assets.run_config import retrain_run_config


def dead_process() -> tuple[str, str]:
    """(pid, started) of a process that has exited and been reaped."""
    p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    started = process_started(p.pid)
    p.kill()
    p.wait()
    return str(p.pid), started


def started_run(
    instance: dg.DagsterInstance, tags: dict[str, str], model: str = "m"
) -> dg.DagsterRun:
    """A STARTED retrain_job run of `model` carrying `tags` (owner tags, or none)."""
    config = retrain_run_config({"dataset_dir": str(IRIS)}, model_id=model).to_config_dict()
    run = instance.create_run_for_job(
        retrain_job_def(),
        run_config=config,
        tags={"dagster/partition": model, **tags},
        status=dg.DagsterRunStatus.NOT_STARTED,
    )
    instance.handle_run_event(
        run.run_id,
        dg.DagsterEvent(
            event_type_value=dg.DagsterEventType.RUN_START.value, job_name=run.job_name
        ),
    )
    assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.STARTED
    return run
