"""A job's events in the order of its life, whichever process reported them and when."""

from verifily.api.jobs.job_events import event_list, fold


def ev(ts: str, status: str, source: str, **details) -> dict:
    return {"ts": ts, "status": status, "source": source, "details": details, "seq": 0}


def test_lifecycle_order_first_then_time():
    # Reported out of order: Dagster's completion was recorded before a late worker report,
    # and the API's scheduled event has the earliest time but the highest sequence number.
    events = [
        ev("2026-01-01T00:00:09+00:00", "completed", "dagster", run_dir="/r"),
        ev("2026-01-01T00:00:05+00:00", "started", "dagster"),
        ev("2026-01-01T00:00:06+00:00", "metrics", "worker", metrics={"f1": 0.5}),
        ev("2026-01-01T00:00:02+00:00", "queued", "dagster"),
        ev("2026-01-01T00:00:01+00:00", "scheduled", "api"),
    ]
    ordered = event_list(events)
    assert [e["status"] for e in ordered] == [
        "scheduled",
        "queued",
        "started",
        "metrics",
        "completed",
    ]
    assert set(ordered[0]) == {"ts", "status", "source", "details"}


def test_fold_keeps_the_latest_detail_and_merges_metrics():
    details, metrics = fold(
        [
            ev("1", "started", "worker", k8s_job_name="a", metrics={"f1": 0.1}),
            ev("2", "metrics", "worker", k8s_job_name="b", metrics={"em": 0.2}),
            ev("3", "info", "worker", k8s_job_name=None),
        ]
    )
    assert details == {"k8s_job_name": "b"} and metrics == {"f1": 0.1, "em": 0.2}
