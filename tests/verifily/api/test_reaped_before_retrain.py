"""A retrain killed outright never blocks its model: the API's sync retrain fails the dead run
first instead of answering 409 "retrain in progress" (a live owner still gets the 409)."""

import dagster as dg
import pytest

from tests.support.examples import IRIS
from tests.support.zombies import dead_process, started_run
from verifily.api.jobs.service import JobService
from verifily.api.jobs.statuses import JobNotDone
from verifily.api.settings import ApiSettings
from verifily.retrain.owner import this_process
from verifily.tags import OWNER_HOST, OWNER_PID, OWNER_STARTED


@pytest.mark.slow
def test_sync_retrain_reaps_a_dead_run_of_its_model(instance, mlflow_env, tmp_path):
    jobs = JobService(instance, ApiSettings(data_roots=[tmp_path], output_root=tmp_path / "runs"))
    fields = {"dataset_dir": str(IRIS), "output_dir": str(tmp_path / "runs"), "project_id": "m"}
    host, me, started = this_process()
    alive = started_run(instance, {OWNER_HOST: host, OWNER_PID: me, OWNER_STARTED: started})
    with pytest.raises(JobNotDone, match="has a retrain in progress"):
        jobs.run_sync(fields)
    instance.report_run_failed(instance.get_run_by_id(alive.run_id), message="test cleanup")

    pid, dead_started = dead_process()
    dead = started_run(instance, {OWNER_HOST: host, OWNER_PID: pid, OWNER_STARTED: dead_started})
    resp = jobs.run_sync(fields)
    assert resp["decision"] in ("SHIP", "DONT_SHIP", "INVESTIGATE")
    assert instance.get_run_by_id(dead.run_id).status == dg.DagsterRunStatus.FAILURE
