"""Draining the webhook outbox: each due delivery POSTed, signed, once per attempt; a failure
(refused, timed out, non-2xx) is retried with exponential backoff until `max_attempts`."""

from __future__ import annotations

import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from verifily.outbox.messages import Outbox
from verifily.webhooks.emit import TOPIC
from verifily.webhooks.hooks_config import WebhooksConfig, load_webhooks
from verifily.webhooks.signature import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    sign,
)

# One attempt's limit: a receiver that accepts and never answers costs the drainer this, once.
TIMEOUT_SECONDS = 5.0


@dataclass
class DrainReport:
    """What one pass did."""

    delivered: int = 0
    retrying: int = 0
    failed: int = 0


class _Refused(Exception):
    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


def _post(url: str, secret: str, event: str, delivery_id: str, body: bytes) -> int:
    ts = str(int(time.time()))
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "verifily-webhooks",
            EVENT_HEADER: event,
            DELIVERY_HEADER: delivery_id,
            TIMESTAMP_HEADER: ts,
            SIGNATURE_HEADER: sign(secret, ts, body),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as e:
        raise _Refused(f"HTTP {e.code} {e.reason}", e.code) from None
    except (urllib.error.URLError, OSError, ValueError) as e:
        reason = getattr(e, "reason", None) or e
        raise _Refused(f"{type(e).__name__}: {reason}") from None


def drain(
    config: WebhooksConfig | None = None,
    *,
    outbox: Outbox | None = None,
    limit: int = 50,
) -> DrainReport:
    """Send every due delivery once; returns the counts."""
    config = load_webhooks() if config is None else config
    outbox = outbox or Outbox()
    hooks = {w.name: w for w in config.webhooks}
    report = DrainReport()
    for m in outbox.lease_due(TOPIC, limit):
        attempt = m["attempts"] + 1
        hook = hooks.get(m["target"])
        status = None
        try:
            if hook is None:
                raise _Refused(f"webhook {m['target']!r} is no longer in {config.source}")
            secret = os.environ.get(hook.secret_env)
            if not secret:
                raise _Refused(f"environment variable {hook.secret_env} (its secret) is not set")
            status = _post(hook.url, secret, m["kind"], m["message_id"], m["body"].encode())
        except _Refused as e:
            give_up = attempt >= config.retry.max_attempts
            retry_at = None
            if not give_up:
                retry_at = datetime.now(UTC) + timedelta(seconds=config.retry.delay(attempt))
            outbox.failed_attempt(m["message_id"], status=e.status, error=str(e), retry_at=retry_at)
            if give_up:
                report.failed += 1
            else:
                report.retrying += 1
            continue
        outbox.delivered(m["message_id"], status)
        report.delivered += 1
    return report
