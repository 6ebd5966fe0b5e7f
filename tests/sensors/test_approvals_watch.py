"""The approvals sensor: each approval change becomes an observation on its model's `decision`
partition once (the cursor moves past it), and pending approvals past their time expire."""

from datetime import UTC, datetime, timedelta

import dagster as dg

from resources.jobs_db import JobsDatabase
from sensors.approvals_watch import approvals_watch
from sensors.webhook_deliveries import webhook_deliveries
from verifily.approvals.approval_store import ApprovalStore


def open_one(store: ApprovalStore, model: str, run: str, **kw) -> dict:
    return store.open(
        model_id=model,
        run_dir=f"/runs/{run}",
        attestation_digest="ab" * 32,
        recommendation="INVESTIGATE",
        reasons=[{"rule": "slice_regression", "outcome": "INVESTIGATE", "message": "slice x"}],
        champion=None,
        ttl_hours=kw.pop("ttl_hours", 168),
        **kw,
    )[0]


def tick(instance, cursor, url):
    ctx = dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"jobs_db": JobsDatabase(url=url)}
    )
    return approvals_watch(ctx)


def test_changes_are_observed_once_and_old_approvals_expire(instance, tmp_path):
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    store = ApprovalStore(url)
    instance.add_dynamic_partitions("model_id", ["m"])
    first = open_one(store, "m", "r1")
    open_one(store, "unknown-model", "r2")  # no partition: nothing to observe it on
    result = tick(instance, None, url)
    assert isinstance(result, dg.SensorResult)
    [obs] = result.asset_events
    assert (obs.asset_key, obs.partition) == (dg.AssetKey("decision"), "m")
    assert obs.metadata["approval_id"].value == first["approval_id"]
    assert obs.metadata["approval_state"].value == "pending"
    assert "slice_regression" in obs.metadata["reasons"].value
    cursor = result.cursor
    assert isinstance(tick(instance, cursor, url), dg.SkipReason)

    # Past its time: the sensor expires it (a signed ledger entry) and reports the change.
    late = open_one(store, "m", "r3", now=datetime.now(UTC) - timedelta(hours=3), ttl_hours=1)
    result = tick(instance, cursor, url)
    assert [
        (o.metadata["approval_id"].value, o.metadata["approval_state"].value)
        for o in result.asset_events
    ] == [(late["approval_id"], "expired")]
    assert store.get(late["approval_id"])["state"] == "expired"


def test_webhook_sensor_says_why_it_did_nothing(instance, tmp_path, monkeypatch):
    monkeypatch.delenv("VERIFILY_WEBHOOKS_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    ctx = dg.build_sensor_context(
        instance=instance, resources={"jobs_db": JobsDatabase(url=f"sqlite:///{tmp_path}/j.db")}
    )
    assert "no webhooks configured" in webhook_deliveries(ctx).skip_message
    bad = tmp_path / "hooks.yaml"
    bad.write_text("webhooks: 3\n")
    monkeypatch.setenv("VERIFILY_WEBHOOKS_CONFIG", str(bad))
    assert "webhooks must be a list" in webhook_deliveries(ctx).skip_message
