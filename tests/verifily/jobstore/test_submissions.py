"""The durable store of accepted queue submissions."""

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from tests.support.postgres import new_database
from verifily.jobstore.events import JobEventStore
from verifily.jobstore.submissions import SubmissionStore, queued_request
from verifily.tags import REASON, TRIGGER


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    """The store on SQLite (the default) and on a real PostgreSQL (production)."""
    if request.param == "sqlite":
        return SubmissionStore(f"sqlite:///{tmp_path / 'jobs.db'}")
    return SubmissionStore(new_database(request.getfixturevalue("postgres_url")))


def add(store, job_id, key=None, digest="d1", model="m"):
    return store.add(
        job_id,
        model_id=model,
        request_sha256=digest,
        payload={"run_config": {"ops": {}}, "tags": {"t": job_id}},
        idempotency_key=key,
    )


def test_pending_until_its_run_is_known_or_it_failed(store):
    add(store, "a")
    add(store, "b", model="other")
    add(store, "c")
    assert [r["job_id"] for r in store.pending()] == ["a", "b", "c"]
    assert [r["job_id"] for r in store.pending("m")] == ["a", "c"]
    store.mark_run("a", "run-a")
    store.mark_run("a", "run-other")  # first writer wins
    store.mark_failed("c", "boom")
    store.mark_failed("a", "too late")  # a job with a run cannot fail to become one
    assert [r["job_id"] for r in store.pending()] == ["b"]
    assert [r["job_id"] for r in store.without_run()] == ["b", "c"]
    a, c = store.get("a"), store.get("c")
    assert a["run_id"] == "run-a" and a["submitted_at"] and a["error"] is None
    assert a["payload"]["tags"] == {"t": "a"}
    assert c["error"] == "boom" and not c["run_id"]
    assert store.get("nope") is None


def test_a_claim_is_held_by_one_claimant_until_the_run_is_known(store):
    for job in "abc":
        add(store, job)
    assert store.has_unclaimed()
    assert [r["job_id"] for r in store.claim("s0", 2)] == ["a", "b"]
    assert [r["job_id"] for r in store.claim("s1", 5)] == ["c"]
    assert not store.has_unclaimed()
    assert [r["job_id"] for r in store.claim("s1", 5)] == ["c"]  # nothing new, still held
    store.mark_run("a", "run-a")
    assert [r["job_id"] for r in store.claimed("s0")] == ["b"]


def test_a_table_of_the_previous_release_is_migrated_in_place(tmp_path):
    """Rows the old API stored: submitted ones ran under their job id, pending ones still run."""
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    old = sa.create_engine(url)
    with old.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE verifily_job_submissions (job_id VARCHAR(64) PRIMARY KEY, "
            "idempotency_key VARCHAR(200) UNIQUE, request_sha256 VARCHAR(64) NOT NULL, "
            "model_id VARCHAR(128) NOT NULL, payload TEXT NOT NULL, "
            "created_at VARCHAR(40) NOT NULL, submitted_at VARCHAR(40), error TEXT)"
        )
        legacy = {
            "run_config": {"ops": {"dataset_artifact": {"config": {"dataset_dir": "/d"}}}},
            "tags": {TRIGGER: "api", REASON: "r", "dagster/partition": "m"},
        }
        for job, submitted in (("done", "2026-01-01T00:00:00+00:00"), ("waiting", None)):
            conn.execute(
                sa.text(
                    "INSERT INTO verifily_job_submissions VALUES "
                    "(:j, NULL, 'd', 'm', :p, '2026-01-01T00:00:00+00:00', :s, NULL)"
                ),
                {"j": job, "p": json.dumps(legacy), "s": submitted},
            )
    old.dispose()
    store = SubmissionStore(url)
    assert store.get("done")["run_id"] == "done"
    assert [r["job_id"] for r in store.claim("s0", 10)] == ["waiting"]
    fields, trigger, tags = queued_request(store.get("waiting"))
    assert fields == {"dataset_dir": "/d"} and trigger == "api" and tags[REASON] == "r"


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


def test_concurrent_claimants_take_disjoint_rows(store):
    """Sensors of one daemon (threads) or of several: a row is claimed once."""
    for i in range(30):
        add(store, f"job-{i:02d}")

    def claimant(name):
        while store.has_unclaimed():
            store.claim(name, 2)
        return [r["job_id"] for r in store.claimed(name)]

    with ThreadPoolExecutor(4) as pool:
        held = list(pool.map(claimant, ["s0", "s1", "s2", "s3"]))
    flat = [j for ids in held for j in ids]
    assert sorted(flat) == [f"job-{i:02d}" for i in range(30)] and len(set(flat)) == 30
