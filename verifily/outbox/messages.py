"""Durable outgoing messages in the jobs database (SQLite locally, PostgreSQL in production).

A producer stores a message in one INSERT and goes on: sending it is a drainer's job, later,
with retries and exponential backoff, so an unreachable receiver never blocks or fails the
producer (a retrain). Messages are grouped by `topic` (webhooks use "webhook"); anything that
must reach an outside system at least once can use the same table and `drain`.

A drainer leases a due message before sending it (one conditional UPDATE), so two drainers (the
daemon's sensor and `verifily webhooks deliver`) never send one attempt twice.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from verifily.jobstore.events import JobEventStore, event_time

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
# How long a lease holds a message for one drainer's attempt (longer than any send).
LEASE_SECONDS = 60

_metadata = sa.MetaData()
outbox_table = sa.Table(
    "verifily_outbox",
    _metadata,
    sa.Column("message_id", sa.String(64), primary_key=True),
    sa.Column("topic", sa.String(32), nullable=False),
    # Who it goes to (a webhook's name) and what it is (an event name).
    sa.Column("target", sa.String(128), nullable=False, index=True),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    # When the next attempt may start: the backoff, or a drainer's lease.
    sa.Column("next_attempt_at", sa.String(40), nullable=False),
    sa.Column("last_attempt_at", sa.String(40), nullable=True),
    sa.Column("delivered_at", sa.String(40), nullable=True),
    sa.Column("last_status", sa.Integer, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Index("ix_verifily_outbox_due", "topic", "state", "next_attempt_at"),
)


class Outbox:
    """Outgoing messages of every topic."""

    def __init__(self, url: str | None = None):
        events = JobEventStore(url)
        self.url, self.engine = events.url, events.engine
        events.create_once(_metadata)

    def add(self, topic: str, messages: list[tuple[str, str, str, str]]) -> list[str]:
        """Store (message id, target, kind, body) messages in one transaction; returns their
        ids."""
        now = event_time(datetime.now(UTC))
        rows = [
            {
                "message_id": message_id or uuid.uuid4().hex,
                "topic": topic,
                "target": target,
                "kind": kind,
                "body": body,
                "created_at": now,
                "state": PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "last_attempt_at": None,
                "delivered_at": None,
                "last_status": None,
                "last_error": None,
            }
            for message_id, target, kind, body in messages
        ]
        if rows:
            with self.engine.begin() as conn:
                conn.execute(outbox_table.insert(), rows)
        return [r["message_id"] for r in rows]

    def lease_due(self, topic: str, limit: int = 50, now: datetime | None = None) -> list[dict]:
        """Pending messages whose next attempt is due, each leased to the caller."""
        t = outbox_table.c
        at = now or datetime.now(UTC)
        q = (
            sa.select(outbox_table)
            .where(t.topic == topic, t.state == PENDING, t.next_attempt_at <= event_time(at))
            .order_by(t.next_attempt_at)
            .limit(limit)
        )
        leased = []
        with self.engine.begin() as conn:
            for r in conn.execute(q).fetchall():
                row = dict(r._mapping)
                won = conn.execute(
                    outbox_table.update()
                    .where(
                        t.message_id == row["message_id"],
                        t.state == PENDING,
                        t.next_attempt_at == row["next_attempt_at"],
                    )
                    .values(next_attempt_at=event_time(at + timedelta(seconds=LEASE_SECONDS)))
                )
                if won.rowcount == 1:
                    leased.append(row)
        return leased

    def delivered(self, message_id: str, status: int) -> None:
        now = event_time(datetime.now(UTC))
        with self.engine.begin() as conn:
            conn.execute(
                outbox_table.update()
                .where(outbox_table.c.message_id == message_id)
                .values(
                    state=DELIVERED,
                    attempts=outbox_table.c.attempts + 1,
                    last_attempt_at=now,
                    delivered_at=now,
                    last_status=status,
                    last_error=None,
                )
            )

    def failed_attempt(
        self, message_id: str, *, status: int | None, error: str, retry_at: datetime | None
    ) -> None:
        """One attempt failed: retry at `retry_at`, or give up (None)."""
        now = event_time(datetime.now(UTC))
        with self.engine.begin() as conn:
            conn.execute(
                outbox_table.update()
                .where(outbox_table.c.message_id == message_id)
                .values(
                    state=PENDING if retry_at is not None else FAILED,
                    attempts=outbox_table.c.attempts + 1,
                    last_attempt_at=now,
                    next_attempt_at=event_time(retry_at) if retry_at is not None else now,
                    last_status=status,
                    last_error=error[:2000],
                )
            )

    def messages(self, topic: str, limit: int = 100, target: str | None = None) -> list[dict]:
        """The newest messages of a topic (of one target when given), newest first."""
        t = outbox_table.c
        q = sa.select(outbox_table).where(t.topic == topic)
        if target is not None:
            q = q.where(t.target == target)
        q = q.order_by(t.created_at.desc(), t.message_id).limit(limit)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]
