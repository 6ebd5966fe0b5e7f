"""Accepted queue submissions: durable before the API answers, until Dagster has their run.

A queued retrain is answered as soon as its request is stored here under its job id. A sensor of
the code location (sensors/api_jobs.py) claims pending rows and requests one run per row with the
job id as run_key; once the run exists its Dagster run id is written back (`run_id`). Nothing
here needs the API process to stay up: an accepted row is picked up whoever stored it. The
table lives in the job event store's database.
"""

from __future__ import annotations

import json
import threading

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from verifily.jobstore.events import JobEventStore, events_table
from verifily.rundir.audit import utc_now
from verifily.tags import TRIGGER

_metadata = sa.MetaData()
submissions_table = sa.Table(
    "verifily_job_submissions",
    _metadata,
    sa.Column("job_id", sa.String(64), primary_key=True),
    # Unique: two API processes retrying one key cannot both create a job.
    sa.Column("idempotency_key", sa.String(200), unique=True, nullable=True),
    sa.Column("request_sha256", sa.String(64), nullable=False),
    sa.Column("model_id", sa.String(128), nullable=False, index=True),
    # {"fields": the resolved request, "trigger": ..., "tags": the API's own run tags}
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    # When the Dagster run was found to exist (set with run_id).
    sa.Column("submitted_at", sa.String(40), nullable=True, index=True),
    sa.Column("error", sa.Text, nullable=True),
    # The sensor that requests this job's run; only it ever does (see claim()).
    sa.Column("claimed_by", sa.String(64), nullable=True, index=True),
    sa.Column("claimed_at", sa.String(40), nullable=True),
    sa.Column("run_id", sa.String(64), nullable=True, index=True),
)
# Added after the table first shipped: created on an existing table by _migrate().
_LATER_COLUMNS = ("claimed_by", "claimed_at", "run_id")


def _row(r) -> dict:
    d = dict(r._mapping)
    d["payload"] = json.loads(d["payload"])
    return d


def queued_request(row: dict) -> tuple[dict, str, dict]:
    """(request fields, trigger, the API's run tags) of a stored submission. Rows an earlier
    release stored but never submitted hold the run config and tags it built instead."""
    payload = row["payload"]
    if "fields" in payload:
        return dict(payload["fields"]), payload["trigger"], dict(payload.get("tags") or {})
    tags = dict(payload["tags"])
    fields = dict(payload["run_config"]["ops"]["dataset_artifact"]["config"])
    return fields, tags.pop(TRIGGER), tags


def _migrate(engine: sa.Engine) -> None:
    """Add the columns a table from an earlier release lacks. Its submitted rows were made by
    the API itself under the run id it promised, so their run id is their job id."""
    have = {c["name"] for c in sa.inspect(engine).get_columns(submissions_table.name)}
    missing = [c for c in _LATER_COLUMNS if c not in have]
    if not missing:
        return
    with engine.begin() as conn:
        for name in missing:
            col = submissions_table.c[name]
            conn.exec_driver_sql(
                f"ALTER TABLE {submissions_table.name} ADD COLUMN {name} "
                f"{col.type.compile(dialect=engine.dialect)}"
            )
        for index in submissions_table.indexes:
            if {c.name for c in index.columns} & set(missing):
                index.create(conn)
        if "run_id" in missing:
            conn.execute(
                submissions_table.update()
                .where(submissions_table.c.submitted_at.is_not(None))
                .values(run_id=submissions_table.c.job_id)
            )


class SubmissionStore:
    """Submissions keyed by job id."""

    _write_locks: dict[str, threading.Lock] = {}
    _ready: set[str] = set()

    def __init__(self, url: str | None = None):
        events = JobEventStore(url)
        self.engine = events.engine
        # SQLite takes one writer at a time and makes the others poll for the lock with sleeps
        # of up to 100 ms; dozens of request threads polling at once gave some submissions a
        # second of waiting. Writers of this process queue on a lock instead.
        self._write_lock = self._write_locks.setdefault(events.url, threading.Lock())
        if events.url not in self._ready:
            _metadata.create_all(self.engine)
            _migrate(self.engine)
            if self.engine.dialect.name == "sqlite":
                # Request threads insert while the sensors claim rows and record run events:
                # in SQLite's default rollback journal each writer blocks readers and waits out
                # the others in sleeps of up to 100 ms. WAL lets readers run during a write and
                # syncs once per commit (the WAL) instead of journal and database; it is a
                # property of the file, set once.
                with self.engine.connect() as conn:
                    conn.exec_driver_sql("PRAGMA journal_mode=WAL")
            self._ready.add(events.url)

    def add(
        self,
        job_id: str,
        *,
        model_id: str,
        request_sha256: str,
        payload: dict,
        idempotency_key: str | None = None,
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
            "submitted_at": None,
            "error": None,
            "claimed_by": None,
            "claimed_at": None,
            "run_id": None,
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

    def _select(self, where, *, limit: int | None = None) -> list[dict]:
        q = sa.select(submissions_table).where(where).order_by(submissions_table.c.created_at)
        if limit is not None:
            q = q.limit(limit)
        with self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(q)]

    def get(self, job_id: str) -> dict | None:
        rows = self._select(submissions_table.c.job_id == job_id)
        return rows[0] if rows else None

    def by_key(self, idempotency_key: str) -> dict | None:
        rows = self._select(submissions_table.c.idempotency_key == idempotency_key)
        return rows[0] if rows else None

    @staticmethod
    def _waiting():
        t = submissions_table.c
        return sa.and_(t.run_id.is_(None), t.error.is_(None))

    def pending(self, model_id: str | None = None) -> list[dict]:
        """Accepted, with no Dagster run known yet and not failed, oldest first."""
        where = self._waiting()
        if model_id is not None:
            where = sa.and_(where, submissions_table.c.model_id == model_id)
        return self._select(where)

    def without_run(self, model_id: str | None = None) -> list[dict]:
        """Every row with no Dagster run recorded: pending, or failed before one was made."""
        where = submissions_table.c.run_id.is_(None)
        if model_id is not None:
            where = sa.and_(where, submissions_table.c.model_id == model_id)
        return self._select(where)

    def has_unclaimed(self) -> bool:
        """Whether a pending row waits for a sensor to claim it (one indexed lookup)."""
        t = submissions_table.c
        q = sa.select(t.job_id).where(self._waiting(), t.claimed_by.is_(None)).limit(1)
        with self.engine.connect() as conn:
            return conn.execute(q).first() is not None

    def claim(self, claimant: str, limit: int) -> list[dict]:
        """Claim up to `limit` unclaimed pending rows for `claimant`, oldest first, and return
        every pending row it holds. A row is claimed once: the conditional update makes
        concurrent claimants (sensors of one daemon, or of several) take disjoint rows."""
        t = submissions_table.c
        with self._write_lock, self.engine.begin() as conn:
            ids = [
                r[0]
                for r in conn.execute(
                    sa.select(t.job_id)
                    .where(self._waiting(), t.claimed_by.is_(None))
                    .order_by(t.created_at)
                    .limit(limit)
                )
            ]
            if ids:
                conn.execute(
                    submissions_table.update()
                    .where(t.job_id.in_(ids), t.claimed_by.is_(None))
                    .values(claimed_by=claimant, claimed_at=utc_now())
                )
        return self.claimed(claimant)

    def claimed(self, claimant: str) -> list[dict]:
        """Pending rows held by `claimant`, oldest first."""
        return self._select(sa.and_(self._waiting(), submissions_table.c.claimed_by == claimant))

    def _set(self, job_id: str, where=None, **values) -> None:
        cond = submissions_table.c.job_id == job_id
        with self._write_lock, self.engine.begin() as conn:
            conn.execute(
                submissions_table.update()
                .where(cond if where is None else sa.and_(cond, where))
                .values(**values)
            )

    def mark_run(self, job_id: str, run_id: str) -> None:
        """The job's Dagster run exists: remember its id (first writer wins)."""
        self._set(
            job_id, submissions_table.c.run_id.is_(None), run_id=run_id, submitted_at=utc_now()
        )

    def mark_failed(self, job_id: str, error: str) -> None:
        """The submission can never become a run (e.g. the request no longer validates)."""
        self._set(job_id, submissions_table.c.run_id.is_(None), error=error[:4000])
