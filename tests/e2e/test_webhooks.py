"""Webhooks against a receiver the test starts, with a real daemon draining the outbox: every
event (decision, promotion, approval_opened, approval_closed, run_failed) arrives once with a
valid signature; a wrong secret fails the receiver's verification; with the receiver down a
retrain still finishes, and its deliveries arrive once it is back."""

import json
import shutil
import subprocess
import sys
import time
from collections import Counter

import pytest

from tests.support.api_servers import free_port, make_stack
from tests.support.approvals import pipeline_config
from tests.support.examples import IRIS, REPO
from tests.support.mlflow_server import MLFLOW_ENV
from tests.support.webhook_receiver import Receiver

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SECRET = "s3cret-for-the-receiver"


def wait_for(what, predicate, timeout: float = 120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = predicate()
        if got:
            return got
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def hooked(tmp_path, monkeypatch, mlflow_template_db):
    """A daemon (which drains the outbox) on a fresh instance, a receiver, and a webhooks file:
    `good` wants every event with the receiver's secret, `bad` wants decisions with another."""
    for key in MLFLOW_ENV:
        monkeypatch.delenv(key, raising=False)
    shutil.copy(mlflow_template_db, tmp_path / "mlflow.db")
    receiver = Receiver(SECRET)
    port = receiver.start(free_port())
    config = tmp_path / "webhooks.yaml"
    config.write_text(
        "retry: {initial_seconds: 1, max_seconds: 2, max_attempts: 1000}\n"
        "webhooks:\n"
        f"  - name: good\n    url: http://127.0.0.1:{port}/good\n"
        "    events: [decision, promotion, approval_opened, approval_closed, run_failed]\n"
        "    secret_env: TEST_HOOK_SECRET\n"
        f"  - name: bad\n    url: http://127.0.0.1:{port}/bad\n"
        "    events: [decision]\n    secret_env: TEST_HOOK_WRONG_SECRET\n"
    )
    env = {
        "VERIFILY_WEBHOOKS_CONFIG": str(config),
        "TEST_HOOK_SECRET": SECRET,
        "TEST_HOOK_WRONG_SECRET": "not-the-secret",
    }
    stack = make_stack(tmp_path, api=False, extra_env=env)
    yield stack, receiver, port
    stack.stop()
    receiver.stop()


def cli(stack, *args: str, actor: str = "olga") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "verifily", *args],
        capture_output=True,
        text=True,
        env={**stack.env, "VERIFILY_ACTOR": actor},
        cwd=REPO,
        timeout=300,
    )


def retrain(stack, tmp, seed: int, dataset=IRIS) -> subprocess.CompletedProcess:
    return cli(
        stack, "retrain", "--dataset", str(dataset), "--out", str(tmp / "runs"), "--project",
        "m", "--seed", str(seed), "--pipeline-config", str(pipeline_config(tmp)), "--json",
    )  # fmt: skip


def log(stack) -> list[dict]:
    p = cli(stack, "webhooks", "log", "-n", "1000", "--json")
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)["deliveries"]


def all_good_delivered(stack, n: int):
    rows = [r for r in log(stack) if r["target"] == "good"]
    return rows if len(rows) == n and all(r["state"] == "delivered" for r in rows) else None


def test_every_event_once_signed_and_late_when_the_receiver_was_down(hooked, tmp_path):
    stack, receiver, port = hooked
    investigated = retrain(stack, tmp_path, 42)
    assert investigated.returncode == 3, investigated.stderr
    pending = json.loads(cli(stack, "approvals", "m", "--json").stdout)["approvals"]
    [approval] = [a for a in pending if a["state"] == "pending"]
    approved = cli(stack, "approve", approval["approval_id"], "--reason", "fine")
    assert approved.returncode == 0, approved.stderr
    shipped = retrain(stack, tmp_path, 9)
    assert shipped.returncode == 0, shipped.stderr
    broken = tmp_path / "broken"
    shutil.copytree(IRIS, broken)
    data = broken / "dataset.jsonl"
    data.write_bytes(data.read_bytes().replace(b"setosa", b"setosb", 1))
    failed = retrain(stack, tmp_path, 9, dataset=broken)
    assert failed.returncode == 65, failed.stderr

    expected = Counter(
        {"decision": 2, "promotion": 3, "approval_opened": 1, "approval_closed": 1, "run_failed": 1}
    )
    rows = wait_for("every good delivery", lambda: all_good_delivered(stack, 8), timeout=180)
    good = receiver.on("/good")
    assert Counter(r.event for r in good) == expected
    assert all(r.verified for r in good)
    # Once each: no delivery id twice, and every body names its own delivery.
    assert len({r.delivery_id for r in good}) == len(good) == 8
    assert all(r.body["delivery_id"] == r.delivery_id for r in good)
    assert {r.delivery_id for r in good} == {row["message_id"] for row in rows}
    decisions = sorted(r.body["data"]["recommendation"] for r in good if r.event == "decision")
    assert decisions == ["INVESTIGATE", "SHIP"]
    closed = next(r for r in good if r.event == "approval_closed").body["data"]
    assert (closed["state"], closed["actor"], closed["reason"]) == ("approved", "olga", "fine")
    run_failed = next(r for r in good if r.event == "run_failed").body["data"]
    assert run_failed["model"] == "m" and "hash" in run_failed["error"]

    # The wrong secret: the receiver refuses the signature; the outbox keeps retrying it.
    bad = wait_for("bad deliveries", lambda: receiver.on("/bad"))
    assert bad and not any(r.verified for r in bad)
    bad_rows = [r for r in log(stack) if r["target"] == "bad"]
    assert bad_rows and all(r["state"] == "pending" for r in bad_rows)
    assert any(r["last_status"] == 401 for r in bad_rows)

    # The receiver goes down: a retrain still finishes, and its deliveries wait.
    receiver.stop()
    started = time.monotonic()
    late = retrain(stack, tmp_path, 44)
    assert late.returncode == 0, late.stderr
    took = time.monotonic() - started
    refused = wait_for(
        "a refused attempt",
        lambda: [
            r
            for r in log(stack)
            if r["target"] == "good" and r["state"] == "pending" and r["last_error"]
        ],  # fmt: skip
    )
    assert any("refused" in r["last_error"].lower() for r in refused), refused
    human = cli(stack, "webhooks", "log", "--webhook", "good")
    assert "pending after" in human.stdout and "next at" in human.stdout
    assert len(receiver.on("/good")) == 8
    # Back up on the same port: the waiting deliveries arrive, each once, signed.
    receiver.start(port)
    wait_for("the late deliveries", lambda: all_good_delivered(stack, 10), timeout=180)
    arrived = receiver.on("/good")[8:]
    assert Counter(r.event for r in arrived) == Counter({"decision": 1, "promotion": 1})
    assert all(r.verified for r in arrived)
    assert len({r.delivery_id for r in receiver.on("/good")}) == 10
    print(f"retrain with the receiver down took {took:.1f} s")
