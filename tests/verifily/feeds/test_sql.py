"""The SQL table feed on SQLite and on a real PostgreSQL."""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from tests.support.feeds import records
from tests.support.postgres import new_database
from verifily.feeds import FeedError
from verifily.feeds.sql import (
    SqlFeed,
    append_records,
    create_feed_table,
    engine_for,
    feed_table,
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.e2e)])
def feed_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'feed.db'}"
    return new_database(request.getfixturevalue("postgres_url"))


def test_window_counts_reads_and_describes(feed_url):
    create_feed_table(feed_url)
    feed = SqlFeed(feed_url)
    start = feed.start_position("beginning")
    assert feed.pending(start).count == 0
    append_records(feed_url, records(0, 30), "job-1")
    append_records(feed_url, records(30, 25), "job-2")
    p = feed.pending(start)
    assert p.count == 55
    got = list(feed.read_window(start, p.end))
    assert [r["id"] for r in got] == [f"r{i}" for i in range(55)]
    d = feed.describe_window(start, p.end)
    assert d["ingestion_jobs"] == ["job-1", "job-2"] and d["seq_range"] == "1-55"
    append_records(feed_url, records(55, 3), "job-3")
    p2 = feed.pending(p.end)
    assert p2.count == 3
    assert [r["id"] for r in feed.read_window(p.end, p2.end)] == ["r55", "r56", "r57"]
    assert feed.describe_window(p.end, p2.end)["ingestion_jobs"] == ["job-3"]


def test_start_at_end_ignores_existing_rows(feed_url):
    create_feed_table(feed_url)
    append_records(feed_url, records(0, 10), "old")
    feed = SqlFeed(feed_url)
    start = feed.start_position("end")
    append_records(feed_url, records(10, 2), "new")
    assert feed.pending(start).count == 2


def test_emptied_table_is_reported(feed_url):
    create_feed_table(feed_url)
    append_records(feed_url, records(0, 5), "job-1")
    feed = SqlFeed(feed_url)
    p = feed.pending({"seq": 0})
    with engine_for(feed_url).begin() as conn:
        conn.execute(sa.text("DELETE FROM verifily_feed"))
    with pytest.raises(FeedError, match="rows were deleted or the table was recreated"):
        feed.pending(p.end)


def test_missing_table_is_a_clear_error(feed_url):
    with pytest.raises(FeedError, match="verifily_feed"):
        SqlFeed(feed_url).pending({"seq": 0})


def test_limit_bounds_the_window(feed_url):
    create_feed_table(feed_url)
    append_records(feed_url, records(0, 30), "job-1")
    feed = SqlFeed(feed_url)
    first = feed.pending({"seq": 0}, limit=12)
    assert first.count == 12 and first.end == {"seq": 12}
    assert [r["id"] for r in feed.read_window({"seq": 0}, first.end)][-1] == "r11"
    rest = feed.pending(first.end, limit=100)
    assert rest.count == 18 and rest.end == {"seq": 30}
    assert feed.pending(rest.end, limit=5).count == 0


def _insert_at(url: str, seqs: list[int], age_seconds: float) -> None:
    """Rows with chosen sequence numbers, ingested `age_seconds` ago (holes in between)."""
    when = datetime.now(UTC) - timedelta(seconds=age_seconds)
    rows = [
        {"seq": s, "record": f'{{"id": "s{s}"}}', "ingestion_job": "j", "ingested_at": when}
        for s in seqs
    ]
    with engine_for(url).begin() as conn:
        conn.execute(feed_table().insert(), rows)


def test_a_fresh_hole_stops_the_window_until_it_fills(feed_url):
    create_feed_table(feed_url)
    _insert_at(feed_url, [1, 2, 4, 5], age_seconds=1)
    feed = SqlFeed(feed_url, gap_timeout_seconds=60)
    p = feed.pending({"seq": 0})
    assert p.count == 2 and p.end == {"seq": 2}
    assert "waiting for sequence 3-3" in p.note
    _insert_at(feed_url, [3], age_seconds=0)  # the late commit arrives
    p = feed.pending(p.end)
    assert p.count == 3 and p.end == {"seq": 5} and not p.note
    assert feed.describe_window({"seq": 0}, p.end)["skipped_seqs"] == 0


def test_an_old_hole_is_skipped_as_rolled_back_and_reported(feed_url):
    create_feed_table(feed_url)
    _insert_at(feed_url, [1, 2, 5, 6], age_seconds=120)
    _insert_at(feed_url, [8], age_seconds=1)
    feed = SqlFeed(feed_url, gap_timeout_seconds=60)
    p = feed.pending({"seq": 0})
    # Past the old hole (3-4), not past the fresh one (7).
    assert p.count == 4 and p.end == {"seq": 6}
    assert [r["id"] for r in feed.read_window({"seq": 0}, p.end)] == ["s1", "s2", "s5", "s6"]
    assert feed.describe_window({"seq": 0}, p.end)["skipped_seqs"] == 2


@pytest.mark.e2e
def test_a_late_commit_on_postgres_is_not_skipped(postgres_url):
    """Two real writers: the one that took the lower sequence number commits second."""
    url = new_database(postgres_url)
    create_feed_table(url)
    feed = SqlFeed(url)
    slow = engine_for(url).connect()
    tx = slow.begin()
    slow.execute(
        feed_table().insert(),
        [{"record": '{"id": "late"}', "ingestion_job": "slow", "ingested_at": datetime.now(UTC)}],
    )
    append_records(url, records(0, 3), "fast")  # sequence 2-4, committed first
    waiting = feed.pending({"seq": 0})
    assert waiting.count == 0 and "waiting for sequence 1-1" in waiting.note
    tx.commit()
    slow.close()
    p = feed.pending({"seq": 0})
    assert p.count == 4
    assert [r["id"] for r in feed.read_window({"seq": 0}, p.end)] == ["late", "r0", "r1", "r2"]
