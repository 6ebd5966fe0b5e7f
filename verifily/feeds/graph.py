"""A Neo4j graph feed: entities written by a feed processor, consumed by completed ingestion job.

The feed processor writes entities (label `Entity` by default), each carrying its job's id in
`ingestion_job`, and, once every entity of a job is committed, marks the job's node
complete: `(:IngestionJob {id, status: 'completed', completed_at: datetime()})`. A job counts
only then, because its entities arrive over many transactions and only the job itself knows
when the last one is in; counting entities as they appear would cut windows through the middle
of a job. See `graph_cursor` for how jobs are ordered and remembered.

Everything goes through the official driver: one driver per feed object (closed with it), read
transactions as managed transaction functions, so the driver retries transient errors and lost
connections with its own back-off, for at most RETRY_SECONDS.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import LiteralString, cast
from urllib.parse import urlsplit, urlunsplit

import neo4j
from neo4j import exceptions as neo4j_errors
from neo4j.time import DateTime as GraphDateTime

from verifily.feeds import DEFAULT_GRAPH_GRACE_SECONDS, FeedError, Pending
from verifily.feeds.graph_cursor import (
    MAX_JOBS_PER_WINDOW,
    JobRow,
    TickView,
    check_consumed,
    compact,
    instant_text,
    next_window,
    parse_position,
    window_rows,
)
from verifily.feeds.graph_cypher import COMPLETED, GraphQueries
from verifily.feeds.graph_records import to_record
from verifily.feeds.window import utc_iso
from verifily.hashing import canonical_json

log = logging.getLogger(__name__)

# Transient errors and lost connections are retried by the driver for this long; it keeps a
# tick (plus its watch) inside Dagster's 60 s sensor timeout.
RETRY_SECONDS = 10.0
CONNECT_SECONDS = 5.0
# Layouts whose indexes were found in this process: (uri, database, queries).
_indexed: set[tuple[str, str | None, GraphQueries]] = set()


def _redacted(uri: str) -> str:
    """The URI without any user or password in it, for messages."""
    parts = urlsplit(uri)
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "") if parts.username else parts.netloc
    return urlunsplit(parts._replace(netloc=netloc))


def _instant(value: object, where: str) -> str:
    """A zoned Neo4j DATETIME as the cursor's sortable UTC text."""
    if not isinstance(value, GraphDateTime) or value.tzinfo is None:
        raise FeedError(
            f"{where} must be a DATETIME with a time zone (set it with datetime()), got "
            f"{type(value).__name__} {value!r}"
        )
    u = value.astimezone(UTC)
    whole = datetime(u.year, u.month, u.day, u.hour, u.minute, int(u.second), tzinfo=UTC)
    return instant_text(whole, u.nanosecond)


def _datetime(instant: str) -> GraphDateTime:
    """The cursor's UTC text back as a DATETIME parameter (nanoseconds kept)."""
    d = datetime.strptime(instant[:19], "%Y-%m-%dT%H:%M:%S")
    return GraphDateTime(
        d.year, d.month, d.day, d.hour, d.minute, d.second, int(instant[20:29]), tzinfo=UTC
    )


class GraphFeed:
    """Entities in Neo4j, consumed one completed ingestion job at a time."""

    def __init__(
        self,
        uri: str,
        user: str,
        password: str,
        *,
        database: str | None = None,
        queries: GraphQueries | None = None,
        grace_seconds: float = DEFAULT_GRAPH_GRACE_SECONDS,
        retry_seconds: float = RETRY_SECONDS,
    ):
        self.uri, self.database = uri, database or None
        self.queries = queries or GraphQueries()
        self.grace_seconds = grace_seconds
        self.where = f"neo4j feed {_redacted(uri)}" + (
            f" (database {database})" if database else ""
        )
        try:
            self.driver = neo4j.GraphDatabase.driver(
                uri,
                auth=neo4j.basic_auth(user, password),
                max_transaction_retry_time=retry_seconds,
                connection_timeout=CONNECT_SECONDS,
                user_agent="verifily-graph-feed",
            )
        except (neo4j_errors.ConfigurationError, ValueError) as e:
            raise FeedError(f"{self.where}: {e}") from None

    def close(self) -> None:
        """Close the driver and its connections."""
        self.driver.close()

    def _read(self, query: str, params: dict) -> list[list]:
        """Every row of a read query, in one managed read transaction."""
        # The driver asks for literal query text against Cypher injection; ours is built only
        # from backtick-quoted names (graph_cypher.quote), and every value is a parameter.
        text = cast(LiteralString, query)
        try:
            with self.driver.session(
                database=self.database, default_access_mode=neo4j.READ_ACCESS
            ) as session:
                return session.execute_read(lambda tx: tx.run(text, params).values())
        except neo4j_errors.AuthError as e:
            raise FeedError(
                f"{self.where}: authentication failed ({e.message}); check the user and "
                "password in the feed's user_env and password_env"
            ) from None
        except neo4j_errors.ServiceUnavailable as e:
            if "routing" in str(e):
                raise FeedError(
                    f"{self.where}: could not get a routing table ({e}); a single server "
                    "that does not route needs a bolt:// URI instead of neo4j://"
                ) from None
            raise FeedError(f"{self.where}: unreachable ({e})") from None
        except neo4j_errors.Neo4jError as e:
            raise FeedError(f"{self.where}: {e.code}: {e.message}") from None
        except neo4j_errors.DriverError as e:
            raise FeedError(f"{self.where}: {e.__class__.__name__}: {e}") from None

    def _check_indexes(self) -> None:
        """Refuse to run without the indexes that keep a tick from scanning the graph."""
        key = (self.uri, self.database, self.queries)
        if key in _indexed:
            return
        try:
            rows = self._read(self.queries.show_indexes, {})
        except FeedError as e:
            if "Security" not in str(e):
                raise
            log.warning("%s: cannot list indexes, assuming they exist: %s", self.where, e)
            _indexed.add(key)
            return
        ready: dict[tuple[str, str], str] = {}
        for _, kind, entity, labels, props, state in rows:
            # Single-property range indexes (BTREE before Neo4j 5); an ONLINE one wins.
            if kind in ("RANGE", "BTREE") and entity == "NODE" and labels and len(props or []) == 1:
                if ready.get((labels[0], props[0])) != "ONLINE":
                    ready[(labels[0], props[0])] = state
        wanted = self.queries.required_indexes()
        missing = [
            s
            for s, k in zip(self.queries.index_statements(), wanted, strict=True)
            if k not in ready
        ]
        if missing:
            raise FeedError(
                f"{self.where}: the feed needs an index on each of "
                + ", ".join(f":{label}({prop})" for label, prop in wanted)
                + " so a tick never scans the graph; create them with: "
                + "; ".join(missing)
            )
        building = [
            f":{lb}({p}) is {ready[(lb, p)]}" for lb, p in wanted if ready[(lb, p)] != "ONLINE"
        ]
        if building:
            raise FeedError(f"{self.where}: waiting for indexes: {', '.join(building)}")
        _indexed.add(key)

    def start_position(self, start_at: str = "beginning") -> dict:
        """Before every job, or after every job completed now."""
        self._check_indexes()
        if start_at == "beginning":
            return {"hwm": None, "folded": 0, "jobs": []}
        ((latest, folded),) = self._read(self.queries.latest, {"completed": COMPLETED})
        if latest is None:
            return {"hwm": None, "folded": 0, "jobs": []}
        return {"hwm": _instant(latest, "the newest completed_at"), "folded": folded, "jobs": []}

    def pending(self, position: dict, limit: int | None = None) -> Pending:
        """Entities of the completed jobs not yet consumed (whole jobs, at most `limit`
        entities unless one job alone has more), counted by one query."""
        self._check_indexes()
        hwm, _, listed = parse_position(position)
        per_window = min(limit or MAX_JOBS_PER_WINDOW, MAX_JOBS_PER_WINDOW)
        params: dict = {"completed": COMPLETED, "max_jobs": len(listed) + per_window + 1}
        if hwm is None:
            query = self.queries.tick_from_start
        else:
            query, params["hwm"] = self.queries.tick_after, _datetime(hwm)
        result = self._read(query, params)
        if not result:
            raise FeedError(f"{self.where}: the tick query returned no rows")
        rows = []
        for _, _, job, completed_at, started_at, entities in result:
            if job is None:
                continue
            where = f"{self.queries.job_label} {job!r}: completed_at"
            started = None
            if isinstance(started_at, GraphDateTime) and started_at.tzinfo is not None:
                started = _instant(started_at, "started_at")
            rows.append(JobRow(job, _instant(completed_at, where), int(entities), started))
        folded, now = result[0][0], result[0][1]
        view = TickView(
            folded=None if folded is None else int(folded),
            rows=rows,
            truncated=len(rows) >= params["max_jobs"],
            now=_instant(now, "the server's datetime()"),
        )
        check_consumed(position, view)
        return next_window(position, view, limit, self.grace_seconds)

    def read_window(self, start: dict, end: dict) -> Iterator[dict]:
        """The window's records: its jobs in completion order, each job's records in a stable
        order. A job whose entity count changed since it was counted is an error."""
        jobs = window_rows(end)
        if not jobs:
            return iter([])
        result = self._read(self.queries.window, {"jobs": [j.job for j in jobs]})
        by_job: dict[str | int, list[dict]] = {j.job: [] for j in jobs}
        for job, props in result:
            by_job[job].append(to_record(job, props or {}, self.queries.mapping))
        out = []
        for j in jobs:
            found = by_job[j.job]
            if len(found) != j.entities:
                raise FeedError(
                    f"{self.where}: ingestion job {j.job!r} had {j.entities} entities when the "
                    f"window was cut and has {len(found)} now: a completed job changed"
                )
            out += sorted(found, key=canonical_json)
        return iter(out)

    def describe_window(self, start: dict, end: dict) -> dict:
        """The window's jobs, the time they were ingested in, and its entity count."""
        jobs = window_rows(end)
        begun = [j.started_at or j.completed_at for j in jobs]
        return {
            "kind": "neo4j",
            "database": self.database,
            "label": self.queries.label,
            "ingestion_jobs": [j.job for j in jobs][:20],
            "job_count": len(jobs),
            "entity_count": sum(j.entities for j in jobs),
            "ingested_from": _seconds(min(begun)) if begun else None,
            "ingested_to": _seconds(max(j.completed_at for j in jobs)) if jobs else None,
        }

    def compact(self, position: dict) -> dict:
        """The position as the sensor's cursor stores it."""
        return compact(position)


def _seconds(instant: str) -> str:
    """Cursor text at seconds precision, like every other window time."""
    return utc_iso(datetime.strptime(instant[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC))
