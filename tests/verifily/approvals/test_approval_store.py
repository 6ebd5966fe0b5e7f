"""The approvals table on SQLite and a real PostgreSQL: one approval per run, and a pending
approval closed exactly once however many close it at the same time."""

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.postgres import new_database
from verifily.approvals.approval_store import APPROVED, PENDING, REJECTED, ApprovalStore


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        return ApprovalStore(f"sqlite:///{tmp_path / 'jobs.db'}")
    return ApprovalStore(new_database(request.getfixturevalue("postgres_url")))


def opened(store, run_dir="/runs/r1", model="m", **kw):
    return store.open(
        model_id=model,
        run_dir=run_dir,
        attestation_digest="ab" * 32,
        recommendation="INVESTIGATE",
        reasons=[{"rule": "inconclusive", "outcome": "INVESTIGATE", "message": "CI spans 0"}],
        champion={"version": "3", "attestation_digest": "cd" * 32},
        ttl_hours=kw.pop("ttl_hours", 168),
        **kw,
    )


def test_one_approval_per_run_and_its_fields_round_trip(store):
    a, new = opened(store)
    b, again = opened(store)
    assert new and not again and a == b
    assert a["state"] == PENDING and a["champion"]["version"] == "3"
    assert a["reasons"][0]["rule"] == "inconclusive"
    opened(store, run_dir="/runs/r2", model="other")
    assert [x["run_dir"] for x in store.list("m")] == ["/runs/r1"]
    assert len(store.list(state=PENDING)) == 2


def test_closed_once_under_concurrency(store):
    a, _ = opened(store)
    verdicts = [APPROVED, REJECTED] * 4
    with ThreadPoolExecutor(8) as pool:
        won = list(
            pool.map(
                lambda i: store.close(a["approval_id"], verdicts[i], actor=f"p{i}", reason="r"),
                range(8),
            )
        )
    assert won.count(True) == 1
    final = store.get(a["approval_id"])
    assert final is not None and final["actor"] == f"p{won.index(True)}"
    assert final["state"] == verdicts[won.index(True)]


def test_due_and_changed_since(store):
    past = datetime.now(UTC) - timedelta(hours=2)
    a, _ = opened(store, now=past, ttl_hours=1)
    b, _ = opened(store, run_dir="/runs/r2")
    assert [x["approval_id"] for x in store.due()] == [a["approval_id"]]
    assert [x["approval_id"] for x in store.changed_since(None)] == [
        a["approval_id"],
        b["approval_id"],
    ]
    cursor = b["changed_at"]
    assert store.changed_since(cursor) == []
    store.close(a["approval_id"], REJECTED, actor="x", reason="y")
    assert [x["approval_id"] for x in store.changed_since(cursor)] == [a["approval_id"]]
