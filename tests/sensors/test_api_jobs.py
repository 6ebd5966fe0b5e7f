"""The API job sensors, ticked with dg.build_sensor_context on a real jobs database: stored
submissions become run requests with run_key = job id, each claimed by one sensor only."""

import threading
import time

import dagster as dg
import pytest

from resources.jobs_db import JobsDatabase
from sensors.api_jobs import build_api_job_sensors
from tests.support.examples import IRIS
from verifily.jobstore.events import JobEventStore
from verifily.tags import (
    IDEMPOTENCY_KEY,
    JOB_ID,
    MODEL_ID,
    MODEL_PARTITIONS_NAME,
    REASON,
    TRIGGER,
    TRIGGER_API,
)
from verifily_assets.definitions import RETRAIN_TARGET, defs


@pytest.fixture
def db(tmp_path):
    return JobsDatabase(url=f"sqlite:///{tmp_path / 'jobs.db'}")


def submit(db, job_id, model="iris", **fields):
    payload = {
        "fields": {"dataset_dir": str(IRIS), "project_id": model, **fields},
        "trigger": TRIGGER_API,
        "tags": {REASON: "drift", IDEMPOTENCY_KEY: f"key-{job_id}"},
    }
    return db.submissions().add(
        job_id, model_id=model, request_sha256="d", payload=payload, idempotency_key=None
    )


def ticker(db, instance, watch=0.0):
    sensors = build_api_job_sensors(RETRAIN_TARGET, count=2, watch_seconds=watch)

    def tick(i: int):
        ctx = dg.build_sensor_context(instance=instance, resources={"jobs_db": db})
        return sensors[i](ctx)

    return tick


JOB_A = "00000000-0000-4000-8000-00000000000a"
JOB_B = "00000000-0000-4000-8000-00000000000b"


def test_a_submission_becomes_one_request_with_the_job_id_as_run_key(db, instance):
    submit(db, JOB_A, seed=7)
    tick = ticker(db, instance)
    result = tick(0)
    (req,) = result.run_requests
    assert req.run_key == JOB_A and req.partition_key == "iris"
    assert req.tags[JOB_ID] == JOB_A and req.tags[TRIGGER] == TRIGGER_API
    assert req.tags[REASON] == "drift" and req.tags[MODEL_ID] == "iris"
    config = req.run_config["ops"]["dataset_artifact"]["config"]
    assert config["seed"] == 7 and config["dataset_dir"] == str(IRIS)
    (parts,) = result.dynamic_partitions_requests
    assert parts.partitions_def_name == MODEL_PARTITIONS_NAME and parts.partition_keys == ["iris"]
    # Claimed by api_jobs_0: the other sensor never requests it.
    assert db.submissions().get(JOB_A)["claimed_by"] == "api_jobs_0"
    other = tick(1)
    assert not other.run_requests and "no queued API job" in other.skip_reason.skip_message


def test_a_lost_tick_is_requested_again_by_the_same_sensor_until_its_run_exists(db, instance):
    submit(db, JOB_A)
    tick = ticker(db, instance)
    first = tick(0).run_requests  # the daemon crashed before making the run: result lost
    again = tick(0).run_requests
    assert [r.run_key for r in again] == [r.run_key for r in first] == [JOB_A]
    assert not tick(1).run_requests
    # The run now exists (made from exactly this request, as the daemon would).
    req = again[0]
    instance.add_dynamic_partitions(MODEL_PARTITIONS_NAME, ["iris"])
    result = defs.resolve_job_def("retrain_job").execute_in_process(
        run_config=req.run_config,
        instance=instance,
        partition_key="iris",
        tags=req.tags,
        raise_on_error=False,
    )
    after = tick(0)
    assert not after.run_requests
    row = db.submissions().get(JOB_A)
    assert row["run_id"] == result.run_id and row["submitted_at"]
    assert db.submissions().pending() == []


def test_a_request_that_cannot_be_built_fails_its_job_not_the_tick(db, instance):
    submit(db, JOB_A, seed="not-a-number")
    submit(db, JOB_B)
    result = ticker(db, instance)(0)
    assert [r.run_key for r in result.run_requests] == [JOB_B]
    row = db.submissions().get(JOB_A)
    assert "seed" in row["error"] and row["run_id"] is None
    (ev,) = [e for e in JobEventStore(db.url).events(JOB_A) if e["status"] == "failed"]
    assert "seed" in ev["details"]["error"]


def test_a_watching_tick_returns_as_soon_as_a_job_is_stored(db, instance):
    tick = ticker(db, instance, watch=3.0)
    stored_at = []

    def store_later():
        time.sleep(0.5)
        submit(db, JOB_A)
        stored_at.append(time.monotonic())

    t = threading.Thread(target=store_later)
    t.start()
    result = tick(0)
    returned = time.monotonic()
    t.join()
    assert [r.run_key for r in result.run_requests] == [JOB_A]
    # Polled every 0.1 s: back well before the 3 s watch ends.
    assert returned - stored_at[0] < 1.0


def test_an_empty_table_is_watched_for_the_whole_window(db, instance):
    t0 = time.monotonic()
    result = ticker(db, instance, watch=0.5)(0)
    assert time.monotonic() - t0 >= 0.5
    assert "watched 0.5 s" in result.skip_reason.skip_message
