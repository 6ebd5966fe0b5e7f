"""Dagster run states map onto the API's five job states; worker reports onto the event store."""

import dagster as dg
import pytest

from verifily.api.jobs.statuses import STATUS_MAP, WORKER_STATUS
from verifily.api.jobs.submit import request_hash
from verifily.api.security import key_matches, presented_key
from verifily.jobstore.events import STATUSES


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
