"""Emitting a webhook event: one outbox message per subscribed receiver, stored now, sent by
a drainer later (`verifily.webhooks.send`). Emitting never raises: a webhook problem must never
fail a retrain, a promotion or an approval."""

from __future__ import annotations

import json
import logging
import uuid

from verifily.outbox.messages import Outbox
from verifily.rundir.audit import utc_now
from verifily.webhooks.hooks_config import EVENTS, load_webhooks

TOPIC = "webhook"
log = logging.getLogger(__name__)


def event_body(event: str, data: dict, delivery_id: str) -> str:
    """The JSON body a receiver gets (exactly these bytes are signed)."""
    return json.dumps(
        {"event": event, "delivery_id": delivery_id, "created_at": utc_now(), "data": data},
        sort_keys=True,
        default=str,
    )


def notify(event: str, data: dict, *, outbox: Outbox | None = None) -> str | None:
    """Queue `event` for every receiver that wants it; returns a warning instead of raising."""
    if event not in EVENTS:
        raise ValueError(f"unknown webhook event {event!r}")
    try:
        hooks = load_webhooks().subscribed(event)
        if not hooks:
            return None
        messages = []
        for hook in hooks:
            delivery_id = uuid.uuid4().hex
            messages.append((delivery_id, hook.name, event, event_body(event, data, delivery_id)))
        (outbox or Outbox()).add(TOPIC, messages)
        return None
    except Exception as e:
        warning = f"webhook event {event} not queued: {type(e).__name__}: {e}"
        log.warning(warning)
        return warning
