"""The drainer: applies the tracking outbox to MLflow, retrain by retrain, rows in order.

Run by the daemon's `tracking_outbox` sensor, and where no daemon runs by the detached process
`verifily retrain` starts after printing its decision (`verifily tracking drain`). Several may
run at once: each retrain's rows are leased to one drainer at a time. A drainer killed mid-way
leaves the rows it did not mark applied; the next one re-applies them, which is harmless (see
verifily.mirror.apply). The first failure of a pass ends the pass: when MLflow is down every
retrain would pay the same timeout, and the backlog waits for the next pass instead.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from verifily.mirror.apply import NotYet, apply_rows
from verifily.tracking.outbox import TrackingOutbox
from verifily.tracking.record import LOG, START


@dataclass
class DrainReport:
    """What one pass applied, which MLflow runs it opened, and the error that ended it."""

    applied: int = 0
    retrains: int = 0
    opened: list[dict] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0


# The most metric points and tags one coalesced `log` write may carry (MLflow's log_batch takes
# 1000 metrics and 100 tags per request).
MAX_BATCH_METRICS, MAX_BATCH_TAGS = 1000, 100


def units(rows: list[dict]) -> list[list[dict]]:
    """A retrain's pending rows as the writes sent: consecutive `log` rows for one store become
    one batch (one request instead of one per step), every other row goes alone."""
    out: list[list[dict]] = []
    for row in rows:
        last = out[-1] if out else None
        if (
            last is not None
            and row["op"] == LOG
            and last[0]["op"] == LOG
            and row["target"] == last[0]["target"]
            and sum(len(r["payload"]["metrics"]) for r in last) + len(row["payload"]["metrics"])
            <= MAX_BATCH_METRICS
            and sum(len(r["payload"]["tags"]) for r in last) + len(row["payload"]["tags"])
            <= MAX_BATCH_TAGS
        ):
            last.append(row)
        else:
            out.append([row])
    return out


def drain_retrain(outbox: TrackingOutbox, key: str, report: DrainReport) -> bool:
    """Apply one leased retrain's pending rows in order; False when one failed."""
    for unit in units(outbox.rows(key, pending_only=True)):
        seqs = [r["seq"] for r in unit]
        outbox.mark_attempt(seqs)
        try:
            result = apply_rows(unit, outbox)
        except NotYet as e:
            outbox.mark_failed(seqs, str(e))
            return True  # its start is someone else's to apply; not an outage
        except Exception as e:  # MLflow down, slow or refusing: the row stays pending
            msg = f"{type(e).__name__}: {str(e)[:1000]}"
            outbox.mark_failed(seqs, msg)
            report.error = f"retrain {key}, {unit[0]['op']}: {msg}"
            return False
        outbox.mark_applied(seqs, result)
        report.applied += len(unit)
        if unit[0]["op"] == START and result:
            report.opened.append({"key": key, **result, "payload": unit[0]["payload"]})
    report.retrains += 1
    return True


def drain(
    outbox: TrackingOutbox | None = None,
    *,
    budget_seconds: float | None = None,
    max_retrains: int | None = None,
    workers: int = 1,
) -> DrainReport:
    """One pass over the backlog, oldest retrain first, until it is empty, the budget is spent
    or a write fails. `workers` > 1 drains that many retrains at once (each retrain's rows
    stay in order): most of a write is waiting on MLflow's server."""
    outbox = outbox or TrackingOutbox()
    if workers > 1:
        return _drain_parallel(outbox, budget_seconds, workers)
    t0 = time.monotonic()
    report = DrainReport()
    seen: set[str] = set()
    while True:
        keys = [k for k in outbox.pending_keys() if k not in seen]
        if not keys:
            break
        for key in keys:
            if budget_seconds is not None and time.monotonic() - t0 > budget_seconds:
                report.seconds = time.monotonic() - t0
                return report
            if max_retrains is not None and report.retrains >= max_retrains:
                report.seconds = time.monotonic() - t0
                return report
            seen.add(key)
            if not outbox.claim(key):
                continue
            try:
                ok = drain_retrain(outbox, key, report)
            finally:
                outbox.release(key)
            if not ok:
                report.seconds = time.monotonic() - t0
                return report
    report.seconds = time.monotonic() - t0
    return report


def _drain_parallel(
    outbox: TrackingOutbox, budget_seconds: float | None, workers: int
) -> DrainReport:
    t0 = time.monotonic()
    report = DrainReport()
    lock = threading.Lock()
    stop = threading.Event()

    def one(key: str) -> None:
        if stop.is_set() or (budget_seconds is not None and time.monotonic() - t0 > budget_seconds):
            return
        if not outbox.claim(key):
            return
        mine = DrainReport()
        try:
            ok = drain_retrain(outbox, key, mine)
        finally:
            outbox.release(key)
        with lock:
            report.applied += mine.applied
            report.retrains += mine.retrains
            report.opened += mine.opened
            if not ok:
                report.error = report.error or mine.error
                stop.set()

    seen: set[str] = set()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="drain") as pool:
        while not stop.is_set():
            keys = [k for k in outbox.pending_keys() if k not in seen]
            if not keys:
                break
            seen.update(keys)
            list(pool.map(one, keys))
    report.seconds = time.monotonic() - t0
    return report
