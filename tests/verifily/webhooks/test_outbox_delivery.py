"""The outbox and its drainer, on SQLite and a real PostgreSQL: an event is stored once per
subscribed receiver; a failed attempt waits out its backoff; two drainers never send one
attempt twice; emitting never raises."""

import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.postgres import new_database
from tests.support.webhook_receiver import Receiver
from verifily.outbox.messages import DELIVERED, FAILED, PENDING, Outbox
from verifily.webhooks.emit import TOPIC, notify
from verifily.webhooks.hooks_config import Retry, Webhook, WebhooksConfig
from verifily.webhooks.send import drain


@pytest.fixture(params=["sqlite", "postgresql"])
def outbox(request, tmp_path):
    if request.param == "sqlite":
        return Outbox(f"sqlite:///{tmp_path / 'jobs.db'}")
    return Outbox(new_database(request.getfixturevalue("postgres_url")))


@pytest.fixture
def receiver():
    r = Receiver("sekret")
    r.start()
    yield r
    r.stop()


def config(url: str, env: str = "HOOK_SECRET", **retry) -> WebhooksConfig:
    return WebhooksConfig(
        (Webhook("a", url, ("decision", "promotion"), env),),
        Retry(**({"initial_seconds": 1, "max_seconds": 4, "max_attempts": 3} | retry)),
        "test",
    )


def test_notify_stores_one_message_per_subscriber_and_drain_sends_it_signed(
    outbox, receiver, tmp_path, monkeypatch
):
    port = receiver.server.server_address[1]
    hooks = tmp_path / "webhooks.yaml"
    hooks.write_text(
        f"webhooks:\n  - {{name: a, url: 'http://127.0.0.1:{port}/a', events: [decision], "
        "secret_env: HOOK_SECRET}\n"
        f"  - {{name: b, url: 'http://127.0.0.1:{port}/b', events: [promotion], "
        "secret_env: HOOK_SECRET}\n"
    )
    monkeypatch.setenv("VERIFILY_WEBHOOKS_CONFIG", str(hooks))
    monkeypatch.setenv("HOOK_SECRET", "sekret")
    assert notify("decision", {"model": "m"}, outbox=outbox) is None
    [row] = outbox.messages(TOPIC)
    assert (row["target"], row["kind"], row["state"]) == ("a", "decision", PENDING)
    report = drain(outbox=outbox)
    assert (report.delivered, report.retrying) == (1, 0)
    [got] = receiver.received
    assert got.verified and got.path == "/a" and got.body["data"] == {"model": "m"}
    assert got.delivery_id == row["message_id"] == got.body["delivery_id"]
    assert outbox.messages(TOPIC)[0]["state"] == DELIVERED
    assert drain(outbox=outbox).delivered == 0  # nothing twice


def test_a_failed_attempt_backs_off_then_gives_up(outbox, monkeypatch):
    monkeypatch.setenv("HOOK_SECRET", "x")
    outbox.add(TOPIC, [("d1", "a", "decision", json.dumps({"event": "decision"}))])
    # Nothing listens on port 9 of loopback: refused at once.
    cfg = config("http://127.0.0.1:9/a")
    assert drain(cfg, outbox=outbox).retrying == 1
    [row] = outbox.messages(TOPIC)
    assert row["attempts"] == 1 and "refused" in row["last_error"].lower()
    wait = datetime.fromisoformat(row["next_attempt_at"]) - datetime.now(UTC)
    assert timedelta(seconds=0) < wait <= timedelta(seconds=1)
    assert drain(cfg, outbox=outbox).retrying == 0  # not due yet
    time.sleep(1.1)
    assert drain(cfg, outbox=outbox).retrying == 1
    wait = datetime.fromisoformat(outbox.messages(TOPIC)[0]["next_attempt_at"]) - datetime.now(UTC)
    assert timedelta(seconds=1) < wait <= timedelta(seconds=2)  # doubled
    time.sleep(2.1)
    assert drain(cfg, outbox=outbox).failed == 1
    assert outbox.messages(TOPIC)[0]["state"] == FAILED


def test_a_missing_secret_is_a_failed_attempt_naming_the_variable(outbox, monkeypatch):
    monkeypatch.delenv("HOOK_SECRET", raising=False)
    outbox.add(TOPIC, [("d1", "a", "decision", "{}")])
    drain(config("http://127.0.0.1:9/a"), outbox=outbox)
    assert "HOOK_SECRET" in outbox.messages(TOPIC)[0]["last_error"]


def test_two_drainers_never_send_one_attempt_twice(outbox, receiver, monkeypatch):
    monkeypatch.setenv("HOOK_SECRET", "sekret")
    port = receiver.server.server_address[1]
    outbox.add(TOPIC, [(f"d{i}", "a", "decision", "{}") for i in range(20)])
    cfg = config(f"http://127.0.0.1:{port}/a")
    with ThreadPoolExecutor(4) as pool:
        reports = list(pool.map(lambda _: drain(cfg, outbox=outbox), range(4)))
    assert sum(r.delivered for r in reports) == 20
    assert sorted(r.delivery_id for r in receiver.received) == sorted(f"d{i}" for i in range(20))


def test_notify_never_raises(tmp_path, monkeypatch):
    bad = tmp_path / "webhooks.yaml"
    bad.write_text("webhooks: [\n")
    monkeypatch.setenv("VERIFILY_WEBHOOKS_CONFIG", str(bad))
    warning = notify("decision", {})
    assert warning is not None and "not queued" in warning and str(bad) in warning
