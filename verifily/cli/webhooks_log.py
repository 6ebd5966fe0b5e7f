"""`verifily webhooks log` and `verifily webhooks deliver`: what was sent where, and sending
what is due now (the daemon's sensor does this every few seconds)."""

from __future__ import annotations

import json

import click

from verifily.outbox.messages import Outbox
from verifily.webhooks.emit import TOPIC
from verifily.webhooks.hooks_config import load_webhooks
from verifily.webhooks.send import drain


@click.group()
def webhooks() -> None:
    """Webhook deliveries (config/webhooks.yaml or VERIFILY_WEBHOOKS_CONFIG)."""


@webhooks.command("log")
@click.option("--webhook", default=None, help="Only this webhook's deliveries.")
@click.option("-n", "--limit", type=click.IntRange(1, 10000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def log(webhook: str | None, limit: int, as_json: bool) -> None:
    """The newest deliveries, newest first: event, receiver, state, attempts, last error."""
    rows = Outbox().messages(TOPIC, limit, webhook)
    if as_json:
        click.echo(json.dumps({"deliveries": rows}, indent=2, sort_keys=True, default=str))
        return
    if not rows:
        click.echo("no webhook deliveries")
    for r in rows:
        status = f" HTTP {r['last_status']}" if r["last_status"] else ""
        line = (
            f"{r['created_at']}  {r['message_id']}  {r['kind']} -> {r['target']}  "
            f"{r['state']} after {r['attempts']} attempt(s){status}"
        )
        if r["state"] == "pending" and r["attempts"]:
            line += f", next at {r['next_attempt_at']}"
        if r["last_error"] and r["state"] != "delivered":
            line += f": {r['last_error']}"
        click.echo(line)


@webhooks.command("deliver")
def deliver() -> None:
    """Send every due delivery once now."""
    report = drain(load_webhooks())
    click.echo(
        f"delivered {report.delivered}, retrying later {report.retrying}, given up {report.failed}"
    )
