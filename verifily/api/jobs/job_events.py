"""A job's reported events as its record shows them: in the order of the job's life, and folded
into the latest value of each detail."""

from __future__ import annotations

# Where an event sits in a job's life: the record lists events in this order first, then by
# time, so `scheduled` never follows `started` whichever process reported it later.
_PHASE = {"scheduled": 0, "queued": 0, "started": 1, "metrics": 1, "info": 1}
_TERMINAL_PHASE = 2


def event_list(events: list[dict]) -> list[dict]:
    """A job's events as its record shows them: by phase of the job's life, then by time."""
    ordered = sorted(events, key=lambda ev: (_PHASE.get(ev["status"], _TERMINAL_PHASE), ev["ts"]))
    return [{k: ev[k] for k in ("ts", "status", "source", "details")} for ev in ordered]


def fold(events: list[dict]) -> tuple[dict, dict]:
    """(latest value of every reported detail, merged metrics) over a job's events."""
    details: dict = {}
    metrics: dict = {}
    for ev in events:
        d = ev["details"] or {}
        metrics.update(d.get("metrics") or {})
        details.update({k: v for k, v in d.items() if v is not None and k != "metrics"})
    return details, metrics
