"""The durable store of accepted queue submissions."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from verifily.jobstore.events import JobEventStore
from verifily.jobstore.submissions import SubmissionStore


@pytest.fixture
def store(tmp_path):
    return SubmissionStore(f"sqlite:///{tmp_path / 'jobs.db'}")


def add(store, job_id, key=None, digest="d1", model="m"):
    return store.add(
        job_id,
        model_id=model,
        request_sha256=digest,
        payload={"run_config": {"ops": {}}, "tags": {"t": job_id}},
        idempotency_key=key,
    )


def test_pending_until_submitted_or_failed(store):
    add(store, "a")
    add(store, "b", model="other")
    add(store, "c")
    assert [r["job_id"] for r in store.pending()] == ["a", "b", "c"]
    assert [r["job_id"] for r in store.pending("m")] == ["a", "c"]
    store.mark_submitted("a")
    store.mark_failed("c", "boom")
    assert [r["job_id"] for r in store.pending()] == ["b"]
    a, c = store.get("a"), store.get("c")
    assert a["submitted_at"] and a["payload"]["tags"] == {"t": "a"}
    assert c["error"] == "boom" and not c["submitted_at"]
    assert store.get("nope") is None


def test_an_idempotency_key_holds_one_job_however_many_race_for_it(store):
    def attempt(i):
        return add(store, f"job-{i}", key="k1")["job_id"]

    with ThreadPoolExecutor(8) as pool:
        winners = set(pool.map(attempt, range(16)))
    assert len(winners) == 1
    assert store.by_key("k1")["job_id"] in winners
    assert len(store.pending()) == 1


def test_the_same_store_is_seen_by_a_new_process_object(tmp_path):
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    add(SubmissionStore(url), "x")
    assert [r["job_id"] for r in SubmissionStore(url).pending()] == ["x"]


def test_the_first_event_is_written_with_the_submission_or_not_at_all(tmp_path):
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    store, events = SubmissionStore(url), JobEventStore(url)
    ev = {"status": "scheduled", "source": "api", "details": {"model_id": "m"}}
    store.add("j1", model_id="m", request_sha256="d", payload={}, idempotency_key="k", event=ev)
    held = store.add(
        "j2", model_id="m", request_sha256="d", payload={}, idempotency_key="k", event=ev
    )
    assert held["job_id"] == "j1"
    assert [(e["status"], e["details"]) for e in events.events("j1")] == [
        ("scheduled", {"model_id": "m"})
    ]
    assert events.events("j2") == [] and store.get("j2") is None
