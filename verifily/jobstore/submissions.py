"""Accepted queue submissions, durable before the API answers, until Dagster has the run.

A queued retrain is answered as soon as its request is stored here under its (pre-allocated)
Dagster run id; a background thread then creates the run on the instance's run queue. Rows
still pending when the API stops are submitted when it starts again, so an accepted job is
never lost. The table lives in the job event store's database.
"""

from __future__ import annotations

import json
import threading

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from verifily.jobstore.events import JobEventStore, events_table
from verifily.rundir.audit import utc_now

_metadata = sa.MetaData()
submissions_table = sa.Table(
    "verifily_job_submissions",
    _metadata,
    sa.Column("job_id", sa.String(64), primary_key=True),
    # Unique: two API processes retrying one key cannot both create a job.
    sa.Column("idempotency_key", sa.String(200), unique=True, nullable=True),
    sa.Column("request_sha256", sa.String(64), nullable=False),
    sa.Column("model_id", sa.String(128), nullable=False, index=True),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("submitted_at", sa.String(40), nullable=True, index=True),
    sa.Column("error", sa.Text, nullable=True),
)


def _row(r) -> dict:
    d = dict(r._mapping)
    d["payload"] = json.loads(d["payload"])
    return d


class SubmissionStore:
    """Submissions keyed by job id (the Dagster run id they will have)."""

    _write_locks: dict[str, threading.Lock] = {}

    def __init__(self, url: str | None = None):
        events = JobEventStore(url)
        self.engine = events.engine
        # SQLite takes one writer at a time and makes the others poll for the lock with sleeps
        # of up to 100 ms; dozens of request threads polling at once gave some submissions a
        # second of waiting. Writers of this process queue on a lock instead.
        self._write_lock = self._write_locks.setdefault(events.url, threading.Lock())
        _metadata.create_all(self.engine)
        if self.engine.dialect.name == "sqlite":
            # Request threads insert while the submitter and the run-status sensors write:
            # in SQLite's default rollback journal each writer blocks readers and waits out
            # the others in sleeps of up to 100 ms. WAL lets readers run during a write and
            # syncs once per commit (the WAL) instead of journal and database; it is a property
            # of the file, set once.
            with self.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA journal_mode=WAL")

    def add(
        self,
        job_id: str,
        *,
        model_id: str,
        request_sha256: str,
        payload: dict,
        idempotency_key: str | None = None,
        submitted: bool = False,
        event: dict | None = None,
    ) -> dict:
        """Store a new submission and return it; if its idempotency key is taken, return the
        submission that holds the key instead (the caller compares request hashes).

        `event` (status, source, details) is appended to the job's events in the same
        transaction: one commit per accepted job, and no job without its first event."""
        now = utc_now()
        row = {
            "job_id": job_id,
            "idempotency_key": idempotency_key,
            "request_sha256": request_sha256,
            "model_id": model_id,
            "payload": json.dumps(payload, sort_keys=True, default=str),
            "created_at": now,
            "submitted_at": now if submitted else None,
            "error": None,
        }
        try:
            with self._write_lock, self.engine.begin() as conn:
                conn.execute(submissions_table.insert().values(**row))
                if event is not None:
                    conn.execute(
                        events_table.insert().values(
                            job_id=job_id,
                            ts=now,
                            status=event["status"],
                            source=event["source"],
                            details=json.dumps(event.get("details") or {}, sort_keys=True),
                        )
                    )
        except IntegrityError:
            prior = self.by_key(idempotency_key) if idempotency_key is not None else None
            if prior is None:
                raise
            return prior
        return {**row, "payload": payload}

    def _one(self, where) -> dict | None:
        with self.engine.connect() as conn:
            r = conn.execute(sa.select(submissions_table).where(where).limit(1)).first()
        return _row(r) if r is not None else None

    def get(self, job_id: str) -> dict | None:
        return self._one(submissions_table.c.job_id == job_id)

    def by_key(self, idempotency_key: str) -> dict | None:
        return self._one(submissions_table.c.idempotency_key == idempotency_key)

    def pending(self, model_id: str | None = None) -> list[dict]:
        """Accepted but not yet on Dagster's queue (and not failed), oldest first."""
        q = (
            sa.select(submissions_table)
            .where(submissions_table.c.submitted_at.is_(None))
            .where(submissions_table.c.error.is_(None))
            .order_by(submissions_table.c.created_at)
        )
        if model_id is not None:
            q = q.where(submissions_table.c.model_id == model_id)
        with self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(q)]

    def _set(self, job_id: str, **values) -> None:
        with self._write_lock, self.engine.begin() as conn:
            conn.execute(
                submissions_table.update()
                .where(submissions_table.c.job_id == job_id)
                .values(**values)
            )

    def mark_submitted(self, job_id: str) -> None:
        self._set(job_id, submitted_at=utc_now())

    def mark_failed(self, job_id: str, error: str) -> None:
        """The submission can never reach Dagster (e.g. the request no longer validates)."""
        self._set(job_id, error=error[:4000])
