"""The one store of retrain job lifecycle events (scheduled, started, completed, failed, ...).

Run-status sensors append Dagster's view of each run, stamped with Dagster's own times for it;
workers append their own reports through the jobs API. Events are kept under the job id: the id
the jobs API gave a queued job, else the Dagster run id. SQLite by default, any SQLAlchemy URL
(PostgreSQL in production) by configuration.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import UTC, datetime

import sqlalchemy as sa

from verifily.config.locations import dagster_home
from verifily.rundir.audit import utc_now

STATUSES = ("scheduled", "queued", "started", "completed", "failed", "canceled", "metrics", "info")

_metadata = sa.MetaData()
events_table = sa.Table(
    "verifily_job_events",
    _metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("job_id", sa.String(64), nullable=False, index=True),
    sa.Column("ts", sa.String(40), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("source", sa.String(64), nullable=False),
    sa.Column("details", sa.Text, nullable=False),
)


def event_time(ts: float | datetime) -> str:
    """An event timestamp (epoch seconds or a datetime, naive meaning UTC) as events store it."""
    if isinstance(ts, datetime):
        t = ts if ts.tzinfo else ts.replace(tzinfo=UTC)
    else:
        t = datetime.fromtimestamp(ts, UTC)
    return t.astimezone(UTC).isoformat(timespec="microseconds")


def default_url() -> str:
    """VERIFILY_JOBS_DB_URL, else a SQLite file beside the Dagster instance."""
    if url := os.environ.get("VERIFILY_JOBS_DB_URL"):
        return url
    home = dagster_home()
    home.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{home / 'verifily_jobs.db'}"


class JobEventStore:
    """Append-only job events in one SQL table."""

    _engines: dict[str, sa.Engine] = {}
    _lock = threading.Lock()
    _once_lock = threading.Lock()

    def __init__(self, url: str | None = None):
        self.url = url or default_url()
        with self._lock:
            if self.url not in self._engines:
                engine = sa.create_engine(self.url, pool_pre_ping=True)
                _metadata.create_all(engine)
                self._engines[self.url] = engine
        self.engine = self._engines[self.url]

    _created: set[tuple[int, str]] = set()

    def create_once(self, metadata: sa.MetaData) -> None:
        """Create another store's tables in this database, once per process and URL (stores
        sharing the jobs database: approvals, the outbox)."""
        key = (id(metadata), self.url)
        with self._lock:
            if key not in self._created:
                metadata.create_all(self.engine)
                self._created.add(key)

    def append(
        self,
        job_id: str,
        status: str,
        *,
        source: str,
        details: dict | None = None,
        ts: str | None = None,
    ) -> dict:
        """Record one event; `status` is one of STATUSES."""
        if status not in STATUSES:
            raise ValueError(
                f"unknown job status {status!r}; expected one of {', '.join(STATUSES)}"
            )
        row = {
            "job_id": job_id,
            "ts": ts or utc_now(),
            "status": status,
            "source": source,
            "details": json.dumps(details or {}, sort_keys=True, default=str),
        }
        with self.engine.begin() as conn:
            conn.execute(events_table.insert().values(**row))
        return {**row, "details": details or {}}

    def append_once(
        self,
        job_id: str,
        status: str,
        *,
        source: str,
        details: dict | None = None,
        ts: str | None = None,
    ) -> dict | None:
        """Append unless this job already has an event with this status from this source.

        Run-status sensors may see an event again after a daemon restart, and two of them
        (QUEUED and STARTING both mean `queued`) fire at once in the daemon's threads; the job's
        history must still say each once. The sensors run in one code server, so a lock in this
        process makes the check and the insert one step.
        """
        q = (
            sa.select(events_table.c.seq)
            .where(events_table.c.job_id == job_id)
            .where(events_table.c.status == status)
            .where(events_table.c.source == source)
            .limit(1)
        )
        with self._once_lock:
            with self.engine.connect() as conn:
                if conn.execute(q).first() is not None:
                    return None
            return self.append(job_id, status, source=source, details=details, ts=ts)

    def events(self, job_id: str) -> list[dict]:
        """Every event of a job, oldest first."""
        q = (
            sa.select(events_table)
            .where(events_table.c.job_id == job_id)
            .order_by(events_table.c.seq)
        )
        with self.engine.connect() as conn:
            return [{**r._mapping, "details": json.loads(r.details)} for r in conn.execute(q)]

    def job_ids(self) -> list[str]:
        """Every job id with at least one event."""
        with self.engine.connect() as conn:
            return [r[0] for r in conn.execute(sa.select(events_table.c.job_id).distinct())]
