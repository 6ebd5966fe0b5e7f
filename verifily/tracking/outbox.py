"""The tracking outbox: every MLflow write of a retrain, recorded durably before it is sent.

Retrains never call MLflow. Each write (open the run, log metrics and tags, upload the run
directory, register a version, mirror an alias move, close the run) becomes one row here,
committed before the step that made it goes on; a drainer (verifily.tracking.drain) applies the
rows to MLflow in order, per retrain, and marks them applied. An MLflow outage leaves rows
pending, never lost.

The table lives in the jobs database (SQLite beside the Dagster instance by default, the
deployment's PostgreSQL in production), not in the run directory: the run directory is sealed
and signed before the last writes (artifacts, the alias move) exist, and a database gives
drainers in different processes and pods one atomic claim per retrain (a lease row) and one
query for `verifily tracking status`.
"""

from __future__ import annotations

import json
import os
import time
import uuid

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from verifily.jobstore.events import JobEventStore
from verifily.rundir.audit import utc_now

_metadata = sa.MetaData()
outbox_table = sa.Table(
    "verifily_tracking_outbox",
    _metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    # The Verifily run's id (its Dagster run id): every write of one retrain shares it, and
    # the MLflow run is found by it (tag verifily.dagster_run_id) before one is created.
    sa.Column("key", sa.String(64), nullable=False, index=True),
    sa.Column("op", sa.String(32), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    # Where it goes (TrackingSettings as recorded): the store of the retrain that wrote it.
    sa.Column("target", sa.Text, nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("applied_at", sa.String(40), nullable=True, index=True),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("result", sa.Text, nullable=True),
)
leases_table = sa.Table(
    "verifily_tracking_leases",
    _metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("holder", sa.String(64), nullable=False),
    sa.Column("until", sa.Float, nullable=False),
)
# How long a drainer owns a retrain's rows without renewing: a drainer killed mid-apply gives
# them up after this, and the next one re-applies (idempotently) what was not marked applied.
LEASE_SECONDS = 60.0


class TrackingOutbox:
    """Pending and applied tracking writes in one SQL table of the jobs database."""

    def __init__(self, url: str | None = None):
        # The jobs database's engine and create-once, as approvals and the message outbox use.
        events = JobEventStore(url)
        self.url, self.engine = events.url, events.engine
        events.create_once(_metadata)
        self.holder = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"

    def record(self, key: str, op: str, payload: dict, target: dict) -> int:
        """Commit one write; returns its sequence number."""
        row = {
            "key": key,
            "op": op,
            "payload": json.dumps(payload, sort_keys=True, default=str),
            "target": json.dumps(target, sort_keys=True),
            "created_at": utc_now(),
            "attempts": 0,
        }
        with self.engine.begin() as conn:
            inserted = conn.execute(outbox_table.insert().values(**row)).inserted_primary_key
        assert inserted is not None  # an INSERT always has one
        return int(inserted[0])

    def pending_keys(self, limit: int | None = None) -> list[str]:
        """Retrains with unapplied writes, oldest first."""
        q = (
            sa.select(outbox_table.c.key, sa.func.min(outbox_table.c.seq).label("first"))
            .where(outbox_table.c.applied_at.is_(None))
            .group_by(outbox_table.c.key)
            .order_by(sa.text("first"))
        )
        if limit:
            q = q.limit(limit)
        with self.engine.connect() as conn:
            return [r[0] for r in conn.execute(q)]

    def rows(self, key: str, pending_only: bool = False) -> list[dict]:
        """A retrain's writes in order."""
        q = sa.select(outbox_table).where(outbox_table.c.key == key)
        if pending_only:
            q = q.where(outbox_table.c.applied_at.is_(None))
        with self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(q.order_by(outbox_table.c.seq))]

    def result_of(self, key: str, op: str) -> dict | None:
        """What an applied write of a retrain returned (the MLflow run of `start`)."""
        q = (
            sa.select(outbox_table.c.result)
            .where(outbox_table.c.key == key)
            .where(outbox_table.c.op == op)
            .where(outbox_table.c.result.is_not(None))
            .order_by(outbox_table.c.seq)
            .limit(1)
        )
        with self.engine.connect() as conn:
            got = conn.execute(q).scalar()
        return json.loads(got) if got else None

    def claim(self, key: str, seconds: float = LEASE_SECONDS) -> bool:
        """Take (or renew) the lease on a retrain's rows; False while another drainer holds it."""
        now = time.time()
        with self.engine.begin() as conn:
            try:
                with conn.begin_nested():
                    conn.execute(
                        leases_table.insert().values(
                            key=key, holder=self.holder, until=now + seconds
                        )
                    )
                return True
            except IntegrityError:
                pass
            done = conn.execute(
                leases_table.update()
                .where(leases_table.c.key == key)
                .where(sa.or_(leases_table.c.holder == self.holder, leases_table.c.until < now))
                .values(holder=self.holder, until=now + seconds)
            )
            return done.rowcount == 1

    def release(self, key: str) -> None:
        """Give up a lease this drainer holds."""
        with self.engine.begin() as conn:
            conn.execute(
                leases_table.delete()
                .where(leases_table.c.key == key)
                .where(leases_table.c.holder == self.holder)
            )

    def mark_attempt(self, seqs: list[int]) -> None:
        """Count an attempt before it reaches MLflow: a row applied with attempts == 0 was never
        sent before, so its apply needs no lookup for what an earlier attempt may have made."""
        with self.engine.begin() as conn:
            conn.execute(
                outbox_table.update()
                .where(outbox_table.c.seq.in_(seqs))
                .values(attempts=outbox_table.c.attempts + 1)
            )

    def mark_applied(self, seqs: list[int], result: dict | None = None) -> None:
        """Writes that reached MLflow; `result` is what later writes of the retrain need."""
        with self.engine.begin() as conn:
            conn.execute(
                outbox_table.update()
                .where(outbox_table.c.seq.in_(seqs))
                .values(
                    applied_at=utc_now(),
                    last_error=None,
                    result=json.dumps(result, sort_keys=True) if result is not None else None,
                )
            )

    def mark_failed(self, seqs: list[int], error: str) -> None:
        """Writes that could not be applied this time; they stay pending with the error."""
        with self.engine.begin() as conn:
            conn.execute(
                outbox_table.update()
                .where(outbox_table.c.seq.in_(seqs))
                .values(last_error=error[:2000])
            )

    def status(self) -> dict:
        """The backlog: pending writes and retrains, the oldest pending write, the last error."""
        pending = outbox_table.c.applied_at.is_(None)
        with self.engine.connect() as conn:
            n_rows, n_keys, oldest = conn.execute(
                sa.select(
                    sa.func.count(),
                    sa.func.count(sa.distinct(outbox_table.c.key)),
                    sa.func.min(outbox_table.c.created_at),
                ).where(pending)
            ).one()
            applied = conn.execute(
                sa.select(sa.func.count()).where(outbox_table.c.applied_at.is_not(None))
            ).scalar()
            err = conn.execute(
                sa.select(outbox_table.c.key, outbox_table.c.op, outbox_table.c.last_error)
                .where(pending)
                .where(outbox_table.c.last_error.is_not(None))
                .order_by(outbox_table.c.seq.desc())
                .limit(1)
            ).first()
        return {
            "pending_writes": int(n_rows),
            "pending_retrains": int(n_keys),
            "applied_writes": int(applied or 0),
            "oldest_pending": oldest,
            "last_error": (
                {"retrain": err.key, "op": err.op, "error": err.last_error} if err else None
            ),
        }


def _row(r) -> dict:
    d = dict(r._mapping)
    d["payload"] = json.loads(d["payload"])
    d["target"] = json.loads(d["target"])
    d["result"] = json.loads(d["result"]) if d["result"] else None
    return d


def tracked_run_id(key: str, url: str | None = None) -> str | None:
    """The MLflow run the drainer opened for a Verifily run, once it has (None before)."""
    try:
        started = TrackingOutbox(url).result_of(key, "start")
    except Exception:  # the jobs database is down: the record shows no run rather than fail
        return None
    return started.get("run_id") if started else None
