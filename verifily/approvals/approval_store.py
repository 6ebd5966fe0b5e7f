"""Approvals in the jobs database (SQLite locally, PostgreSQL in production): one row per
decision that waits for a person, `pending` until it is approved, rejected or expires.

A state changes only from `pending`, by one conditional UPDATE: two people (or a person and
the expiry) closing one approval at once cannot both win. The signed ledger mirrors every change.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from verifily.jobstore.events import JobEventStore, event_time
from verifily.rundir.audit import utc_now

PENDING, APPROVED, REJECTED, EXPIRED = "pending", "approved", "rejected", "expired"
STATES = (PENDING, APPROVED, REJECTED, EXPIRED)

_metadata = sa.MetaData()
approvals_table = sa.Table(
    "verifily_approvals",
    _metadata,
    sa.Column("approval_id", sa.String(64), primary_key=True),
    sa.Column("model_id", sa.String(128), nullable=False, index=True),
    # One approval per published run: a retried promotion step finds the one it opened.
    sa.Column("run_dir", sa.String(1024), nullable=False, unique=True),
    sa.Column("attestation_digest", sa.String(128), nullable=False),
    sa.Column("recommendation", sa.String(32), nullable=False),
    # JSON: the rules decision.json lists (rule, outcome, message), whatever they are.
    sa.Column("reasons", sa.Text, nullable=False),
    # JSON: the champion the decision compared with (null: none); approval moves only from it.
    sa.Column("champion", sa.Text, nullable=False),
    sa.Column("dagster_run_id", sa.String(64), nullable=True),
    sa.Column("opened_at", sa.String(40), nullable=False),
    sa.Column("expires_at", sa.String(40), nullable=False),
    sa.Column("state", sa.String(16), nullable=False, index=True),
    sa.Column("closed_at", sa.String(40), nullable=True),
    sa.Column("actor", sa.String(256), nullable=True),
    sa.Column("reason", sa.Text, nullable=True),
    # JSON: what closing did (the promotion's version and ledger entry).
    sa.Column("outcome", sa.Text, nullable=True),
    # Every change stamps it: the approvals sensor reports what changed since its cursor.
    sa.Column("changed_at", sa.String(40), nullable=False, index=True),
)


def _row(r) -> dict:
    d = dict(r._mapping)
    for key in ("reasons", "champion", "outcome"):
        d[key] = json.loads(d[key]) if d[key] is not None else None
    return d


class ApprovalStore:
    """Approvals keyed by approval id, in the jobs database."""

    def __init__(self, url: str | None = None):
        events = JobEventStore(url)
        self.url, self.engine = events.url, events.engine
        events.create_once(_metadata)

    def open(
        self,
        *,
        model_id: str,
        run_dir: str,
        attestation_digest: str,
        recommendation: str,
        reasons: list[dict],
        champion: dict | None,
        ttl_hours: float,
        dagster_run_id: str | None = None,
        now: datetime | None = None,
    ) -> tuple[dict, bool]:
        """Open the approval of a published run; (approval, True) when new, (the one already
        opened for that run, False) otherwise."""
        t = now or datetime.now(UTC)
        row = {
            "approval_id": "apr-" + uuid.uuid4().hex[:16],
            "model_id": model_id,
            "run_dir": run_dir,
            "attestation_digest": attestation_digest,
            "recommendation": recommendation,
            "reasons": json.dumps(reasons, sort_keys=True),
            "champion": json.dumps(champion, sort_keys=True),
            "dagster_run_id": dagster_run_id,
            "opened_at": event_time(t),
            "expires_at": event_time(t + timedelta(hours=ttl_hours)),
            "state": PENDING,
            "closed_at": None,
            "actor": None,
            "reason": None,
            "outcome": None,
            "changed_at": event_time(t),
        }
        try:
            with self.engine.begin() as conn:
                conn.execute(approvals_table.insert().values(**row))
        except IntegrityError:
            prior = self.by_run_dir(run_dir)
            if prior is None:
                raise
            return prior, False
        got = self.get(row["approval_id"])
        assert got is not None
        return got, True

    def _select(self, where) -> list[dict]:
        q = sa.select(approvals_table).where(where).order_by(approvals_table.c.opened_at)
        with self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(q)]

    def get(self, approval_id: str) -> dict | None:
        rows = self._select(approvals_table.c.approval_id == approval_id)
        return rows[0] if rows else None

    def by_run_dir(self, run_dir: str) -> dict | None:
        rows = self._select(approvals_table.c.run_dir == run_dir)
        return rows[0] if rows else None

    def list(self, model_id: str | None = None, state: str | None = None) -> list[dict]:
        """Approvals, oldest first, of one model and/or in one state when given."""
        where = sa.true()
        if model_id is not None:
            where = sa.and_(where, approvals_table.c.model_id == model_id)
        if state is not None:
            where = sa.and_(where, approvals_table.c.state == state)
        return self._select(where)

    def changed_since(self, cursor: str | None, limit: int = 200) -> list[dict]:
        """Approvals changed after `cursor` (a changed_at), oldest change first."""
        t = approvals_table.c
        q = sa.select(approvals_table).order_by(t.changed_at).limit(limit)
        if cursor:
            q = q.where(t.changed_at > cursor)
        with self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(q)]

    def due(self, now: datetime | None = None) -> list[dict]:
        """Pending approvals whose time ran out."""
        t = approvals_table.c
        return self._select(
            sa.and_(t.state == PENDING, t.expires_at <= event_time(now or datetime.now(UTC)))
        )

    def close(
        self,
        approval_id: str,
        state: str,
        *,
        actor: str,
        reason: str,
        outcome: dict | None = None,
    ) -> bool:
        """pending -> `state`; False when it was no longer pending (someone else closed it)."""
        t = approvals_table.c
        with self.engine.begin() as conn:
            done = conn.execute(
                approvals_table.update()
                .where(t.approval_id == approval_id, t.state == PENDING)
                .values(
                    state=state,
                    closed_at=utc_now(),
                    changed_at=utc_now(),
                    actor=actor,
                    reason=reason,
                    outcome=json.dumps(outcome, sort_keys=True) if outcome is not None else None,
                )
            )
        return done.rowcount == 1

    def reopen(self, approval_id: str, state: str) -> None:
        """Undo a `close` to `state` whose action then failed (nothing moved): pending again."""
        t = approvals_table.c
        with self.engine.begin() as conn:
            conn.execute(
                approvals_table.update()
                .where(t.approval_id == approval_id, t.state == state)
                .values(
                    state=PENDING,
                    closed_at=None,
                    actor=None,
                    reason=None,
                    outcome=None,
                    changed_at=utc_now(),
                )
            )

    def set_outcome(self, approval_id: str, outcome: dict) -> None:
        """Record what closing did, once it is done."""
        with self.engine.begin() as conn:
            conn.execute(
                approvals_table.update()
                .where(approvals_table.c.approval_id == approval_id)
                .values(outcome=json.dumps(outcome, sort_keys=True), changed_at=utc_now())
            )
