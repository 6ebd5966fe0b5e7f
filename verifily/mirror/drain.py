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

from verifily.mirror.apply import NotYet, apply_rows, warm_up
from verifily.tracking.outbox import TrackingOutbox
from verifily.tracking.record import FINISH, LOG, START


@dataclass
class DrainReport:
    """What one pass applied, which MLflow runs it opened, and the error that ended it."""

    applied: int = 0
    retrains: int = 0
    opened: list[dict] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0


# Retrains drained at once by default: most of a write is waiting on MLflow's server
# (benchmarks/tracking_outbox.py drains 1,000 retrains at ~24/s with 8).
DRAIN_WORKERS = 8
# MLflow's limits on one log_batch request: params and tags, 100 each; 1000 entities in all.
MAX_BATCH_PARAMS_OR_TAGS, MAX_BATCH_ENTITIES = 100, 1000


def _sizes(rows: list[dict]) -> tuple[int, int, int]:
    """(params, tags, metrics) that run writes sent together log in their one batch."""
    params = sum(len(r["payload"].get("params") or {}) for r in rows if r["op"] == START)
    tags = sum(len(r["payload"]["tags"]) + (r["op"] == FINISH) for r in rows if r["op"] != START)
    metrics = sum(len(r["payload"].get("metrics") or {}) for r in rows if r["op"] == LOG)
    return params, tags, metrics


def _joins(unit: list[dict], row: dict) -> bool:
    if row["op"] not in (LOG, FINISH) or unit[0]["op"] not in (START, LOG):
        return False
    if unit[-1]["op"] == FINISH or row["target"] != unit[0]["target"]:
        return False
    params, tags, metrics = _sizes([*unit, row])
    return max(params, tags) <= MAX_BATCH_PARAMS_OR_TAGS and (
        params + tags + metrics <= MAX_BATCH_ENTITIES
    )


def units(rows: list[dict]) -> list[list[dict]]:
    """A retrain's pending rows as the writes sent: a `start` and the `log` rows and `finish`
    that follow it for the same store go together (the run opened, one batch of params,
    metrics and tags, the upload, the close), as do `log` rows without their `start`; every
    other row goes alone. Each unit is marked applied only when all of it was sent."""
    out: list[list[dict]] = []
    for row in rows:
        if out and _joins(out[-1], row):
            out[-1].append(row)
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
            outbox.mark_failed(seqs[:1], str(e))
            return True  # its start is someone else's to apply; not an outage
        except Exception as e:  # MLflow down, slow or refusing: the row stays pending
            msg = f"{type(e).__name__}: {str(e)[:1000]}"
            outbox.mark_failed(seqs[:1], msg)  # the unit's first row names it in the status
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
    # The first retrain alone, in this thread: MLflow imports much of itself lazily, and first
    # imports of one module from several threads at once end in Python's _DeadlockError.
    warm_up()
    first = outbox.pending_keys(limit=1)
    if first:
        seen.update(first)
        one(first[0])
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="drain") as pool:
        while not stop.is_set():
            keys = [k for k in outbox.pending_keys() if k not in seen]
            if not keys:
                break
            seen.update(keys)
            list(pool.map(one, keys))
    report.seconds = time.monotonic() - t0
    return report
