"""Dagster run states map onto the API's five job states; worker reports onto the event store."""

import dagster as dg
import pytest

from verifily.api.jobs.statuses import STATUS_MAP, WORKER_STATUS, job_status
from verifily.api.jobs.submit import request_hash
from verifily.api.security import key_matches, presented_key
from verifily.jobstore.events import STATUSES
from verifily.tags import WILL_RETRY


@pytest.mark.parametrize("status", list(dg.DagsterRunStatus))
def test_every_dagster_status_is_mapped(status):
    assert STATUS_MAP[status] in ("QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELED")


def test_terminal_states():
    assert STATUS_MAP[dg.DagsterRunStatus.SUCCESS] == "SUCCEEDED"
    assert STATUS_MAP[dg.DagsterRunStatus.FAILURE] == "FAILED"
    assert STATUS_MAP[dg.DagsterRunStatus.CANCELED] == "CANCELED"
    assert STATUS_MAP[dg.DagsterRunStatus.QUEUED] == "QUEUED"


def test_worker_statuses_land_in_the_event_store_vocabulary():
    assert set(WORKER_STATUS.values()) <= set(STATUSES)


def test_request_hash_tells_retries_from_new_requests():
    a = {"dataset_dir": "/d", "seed": 1}
    assert request_hash(a) == request_hash(dict(reversed(list(a.items()))))
    assert request_hash(a) != request_hash({**a, "seed": 2})


def test_api_key_parsing_and_comparison():
    assert presented_key({b"x-api-key": b"k1"}) == "k1"
    assert presented_key({b"authorization": b"Bearer k2 "}) == "k2"
    assert presented_key({b"authorization": b"Basic abc"}) is None
    assert key_matches("secret", "secret")
    assert not key_matches("secreT", "secret")
    assert not key_matches(None, "secret")
    assert not key_matches("s\udcff", "secret")  # undecodable header bytes never crash


def test_a_failed_run_that_dagster_will_retry_leaves_its_job_queued():
    def run(**tags):
        return dg.DagsterRun(job_name="retrain_job", status=dg.DagsterRunStatus.FAILURE, tags=tags)

    assert job_status(run(**{WILL_RETRY: "true"}), retries_enabled=True) == "QUEUED"
    assert job_status(run(**{WILL_RETRY: "false"}), retries_enabled=True) == "FAILED"
    # Run retries on, verdict not written yet: not finished (a client would stop polling).
    assert job_status(run(), retries_enabled=True) == "RUNNING"
    assert job_status(run(), retries_enabled=False) == "FAILED"
    ok = dg.DagsterRun(job_name="retrain_job", status=dg.DagsterRunStatus.SUCCESS)
    assert job_status(ok, retries_enabled=True) == "SUCCEEDED"
