import pytest

from verifily.jobstore.events import JobEventStore


def test_events_round_trip_in_order(tmp_path):
    store = JobEventStore(f"sqlite:///{tmp_path / 'jobs.db'}")
    store.append("run-1", "scheduled", source="sensor", details={"model_id": "iris"})
    store.append("run-1", "started", source="sensor")
    store.append("run-2", "scheduled", source="api")
    events = store.events("run-1")
    assert [e["status"] for e in events] == ["scheduled", "started"]
    assert events[0]["details"] == {"model_id": "iris"}
    assert sorted(store.job_ids()) == ["run-1", "run-2"]


def test_unknown_status_is_refused(tmp_path):
    store = JobEventStore(f"sqlite:///{tmp_path / 'jobs.db'}")
    with pytest.raises(ValueError, match="unknown job status"):
        store.append("run-1", "exploded", source="api")
