"""The webhook outbox's drainer in the daemon: every few seconds, each due delivery is POSTed,
signed; failures wait out their backoff. A retrain only ever stores an event (one INSERT), so a
receiver that is down never blocks or fails it."""

import dagster as dg

from resources.jobs_db import JobsDatabase
from verifily.errors import InputError
from verifily.outbox.messages import Outbox
from verifily.webhooks.hooks_config import load_webhooks
from verifily.webhooks.send import drain

DELIVERY_INTERVAL_SECONDS = 5


@dg.sensor(
    name="webhook_deliveries",
    minimum_interval_seconds=DELIVERY_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Deliver queued webhook events (config/webhooks.yaml), with retries and backoff.",
)
def webhook_deliveries(context: dg.SensorEvaluationContext, jobs_db: JobsDatabase):
    """POST every due delivery once; say what happened in the SkipReason."""
    try:
        config = load_webhooks()
    except InputError as e:
        return dg.SkipReason(f"webhooks config is wrong, nothing delivered: {e}")
    if not config.webhooks:
        return dg.SkipReason("no webhooks configured (config/webhooks.yaml)")
    report = drain(config, outbox=Outbox(jobs_db.url))
    if report.failed:
        context.log.warning(f"{report.failed} webhook deliveries given up after max_attempts")
    return dg.SkipReason(
        f"delivered {report.delivered}, retrying later {report.retrying}, given up {report.failed}"
    )
