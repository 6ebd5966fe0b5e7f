"""A SQL table feed through SQLAlchemy; a position is the last consumed sequence number.

Each row holds one record (JSON text), the `ingestion_job` that wrote it and its ingestion
time. Counting what is new is an index range scan on the primary key from the cursor, so a
tick costs the number of new rows, not the size of the table.

Sequence numbers are handed out when a row is inserted, not when its transaction commits, so
a writer that commits late leaves a hole that fills in later (seq 101 appears after 102). A
cursor that moved past 102 would never see 101. So a window only extends over holes older
than `gap_timeout_seconds` (a rolled-back insert leaves a hole that never fills); until then
it stops just before the hole. Skipped holes are counted in the window's description.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from verifily.feeds import DEFAULT_GAP_TIMEOUT_SECONDS, FeedError, Pending
from verifily.feeds.window import utc_iso
from verifily.hashing import canonical_json
from verifily.strictjson import JSONRuleError, loads

DEFAULT_TABLE = "verifily_feed"
_engines: dict[str, sa.Engine] = {}


def engine_for(url: str) -> sa.Engine:
    """One pooled engine per URL per process (sensor ticks must not reconnect every time)."""
    if url not in _engines:
        _engines[url] = sa.create_engine(url, pool_pre_ping=True)
    return _engines[url]


def feed_table(name: str = DEFAULT_TABLE, metadata: sa.MetaData | None = None) -> sa.Table:
    """The feed table's shape."""
    return sa.Table(
        name,
        metadata or sa.MetaData(),
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
        sa.Column("record", sa.Text, nullable=False),
        sa.Column("ingestion_job", sa.String(128), nullable=False, index=True),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
    )


def create_feed_table(url: str, table: str = DEFAULT_TABLE) -> None:
    """Create the feed table if it does not exist."""
    t = feed_table(table)
    t.metadata.create_all(engine_for(url))


def append_records(
    url: str, records: Iterable[dict], ingestion_job: str, table: str = DEFAULT_TABLE
) -> int:
    """Insert records in one transaction, all marked with `ingestion_job`; returns the count."""
    now = datetime.now(UTC)
    rows = [
        {"record": canonical_json(r).decode(), "ingestion_job": ingestion_job, "ingested_at": now}
        for r in records
    ]
    if rows:
        with engine_for(url).begin() as conn:
            conn.execute(feed_table(table).insert(), rows)
    return len(rows)


class SqlFeed:
    """Records in a SQL table, consumed in sequence order."""

    def __init__(
        self,
        url: str,
        table: str = DEFAULT_TABLE,
        gap_timeout_seconds: float = DEFAULT_GAP_TIMEOUT_SECONDS,
    ):
        self.url, self.table = url, feed_table(table)
        self.gap_timeout = timedelta(seconds=gap_timeout_seconds)

    def _seq(self, position: dict) -> int:
        seq = position.get("seq", 0)
        if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
            raise FeedError(f"feed cursor has a bad sequence number {seq!r}")
        return seq

    def start_position(self, start_at: str = "beginning") -> dict:
        """Before every row, or after every row present now."""
        if start_at == "beginning":
            return {"seq": 0}
        with engine_for(self.url).connect() as conn:
            top = conn.execute(sa.select(sa.func.max(self.table.c.seq))).scalar()
        return {"seq": int(top or 0)}

    def pending(self, position: dict, limit: int | None = None) -> Pending:
        """Rows after the cursor (at most `limit`) up to the first hole that may still fill.

        Reads only the new rows' keys and times (an index range scan from the cursor).
        """
        seq = self._seq(position)
        c = self.table.c
        new = sa.select(c.seq, c.ingested_at).where(c.seq > seq).order_by(c.seq)
        if limit:
            new = new.limit(limit)
        try:
            with engine_for(self.url).connect() as conn:
                top = conn.execute(sa.select(sa.func.max(c.seq))).scalar()
                rows = conn.execute(new).all()
        except SQLAlchemyError as e:
            raise FeedError(f"feed table {self.table.name!r}: {e.__class__.__name__}: {e}") from e
        top = int(top or 0)
        if top < seq:
            raise FeedError(
                f"feed table {self.table.name!r} ends at sequence {top} but {seq} rows were "
                "already consumed; rows were deleted or the table was recreated"
            )
        now = datetime.now(UTC)
        count, last, note = 0, seq, ""
        for row_seq, ingested_at in rows:
            age = now - _as_utc(ingested_at)
            if row_seq != last + 1 and age < self.gap_timeout:
                # A hole that a late commit may still fill: wait for it.
                note = (
                    f"waiting for sequence {last + 1}-{row_seq - 1} of {self.table.name} "
                    f"(rows after it are {age.total_seconds():.0f} s old; a hole older than "
                    f"{self.gap_timeout.total_seconds():.0f} s is skipped as rolled back)"
                )
                break
            count, last = count + 1, int(row_seq)
        return Pending(count, {"seq": last}, note)

    def _between(self, start: dict, end: dict):
        c = self.table.c.seq
        return (c > self._seq(start)) & (c <= self._seq(end))

    def read_window(self, start: dict, end: dict) -> Iterator[dict]:
        """The records with start < seq <= end, in sequence order."""
        q = (
            sa.select(self.table.c.seq, self.table.c.record)
            .where(self._between(start, end))
            .order_by(self.table.c.seq)
        )
        with engine_for(self.url).connect() as conn:
            for seq, raw in conn.execute(q):
                try:
                    text = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
                    rec = loads(text)
                except JSONRuleError as e:
                    raise FeedError(
                        f"{self.table.name} seq {seq}: not a JSON record: {e}"
                    ) from None
                if not isinstance(rec, dict):
                    raise FeedError(f"{self.table.name} seq {seq}: expected a JSON object")
                yield rec

    def describe_window(self, start: dict, end: dict) -> dict:
        """Which ingestion jobs and times a window covers."""
        t = self.table
        where = self._between(start, end)
        with engine_for(self.url).connect() as conn:
            first, last, present = conn.execute(
                sa.select(
                    sa.func.min(t.c.ingested_at), sa.func.max(t.c.ingested_at), sa.func.count()
                ).where(where)
            ).one()
            jobs = [
                r[0]
                for r in conn.execute(
                    sa.select(t.c.ingestion_job).where(where).distinct().limit(20)
                )
            ]
        return {
            "kind": "sql",
            "table": t.name,
            "seq_range": f"{self._seq(start) + 1}-{self._seq(end)}",
            "ingestion_jobs": sorted(jobs),
            "ingested_from": utc_iso(_as_utc(first)) if first is not None else None,
            "ingested_to": utc_iso(_as_utc(last)) if last is not None else None,
            # Holes older than the gap timeout that this window moved past (rolled back).
            "skipped_seqs": self._seq(end) - self._seq(start) - int(present or 0),
        }


def _as_utc(t: datetime) -> datetime:
    """SQLite hands back naive datetimes; the feed writes UTC."""
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)
