"""The graph feed against a real Neo4j, whenever one is named by VERIFILY_NEO4J_TEST_URI.

No Neo4j server can be installed on our build machines, so without the variable these tests are
SKIPPED (reported as skipped, never as passed). To run them against a server of yours:

    VERIFILY_NEO4J_TEST_URI=bolt://localhost:7687 VERIFILY_NEO4J_TEST_USER=neo4j \\
    VERIFILY_NEO4J_TEST_PASSWORD=... [VERIFILY_NEO4J_TEST_DATABASE=neo4j] \\
    .venv/bin/python -m pytest tests/e2e/test_graph_feed_neo4j.py

Each test writes only nodes with labels of its own (`VerifilyTest<hex>...`) and indexes on them,
and deletes both afterwards; the user needs to write, and to create and drop indexes.
"""

import os
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.feeds import records
from tests.support.graph_writer import GraphWriter
from verifily.feeds import FeedError
from verifily.feeds.graph import GraphFeed
from verifily.feeds.graph_cypher import GraphQueries
from verifily.feeds.graph_records import RecordMapping

URI = os.environ.get("VERIFILY_NEO4J_TEST_URI")
USER = os.environ.get("VERIFILY_NEO4J_TEST_USER", "neo4j")
PASSWORD = os.environ.get("VERIFILY_NEO4J_TEST_PASSWORD", "")
DATABASE = os.environ.get("VERIFILY_NEO4J_TEST_DATABASE") or None

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not URI,
        reason="VERIFILY_NEO4J_TEST_URI is not set: no real Neo4j to test against "
        "(the Bolt stand-in tests cover the feed here; see the README)",
    ),
]


@pytest.fixture
def layout():
    tag = uuid.uuid4().hex[:10]
    q = GraphQueries(
        label=f"VerifilyTest{tag}Entity",
        job_label=f"VerifilyTest{tag}Job",
        mapping=RecordMapping(meta=("source",)),
    )
    assert URI is not None
    writer = GraphWriter(URI, USER, PASSWORD, DATABASE, q)
    writer.create_indexes()
    writer.await_indexes()
    feed = GraphFeed(URI, USER, PASSWORD, database=DATABASE, queries=q)
    try:
        yield writer, feed
    finally:
        feed.close()
        writer.clear()
        writer.drop_indexes()
        writer.close()


def ago(seconds: float) -> datetime:
    return datetime.now(UTC) - timedelta(seconds=seconds)


def test_windows_are_whole_completed_jobs(layout):
    writer, feed = layout
    start = feed.start_position("beginning")
    writer.write_entities("job-1", [{**r, "source": "osint"} for r in records(0, 30)])
    writer.complete_job("job-1", at=ago(60), started_at=ago(90))
    writer.write_entities("job-2", records(30, 25))
    writer.complete_job("job-2", at=ago(30))
    writer.write_entities("job-3", records(55, 10))  # running
    p = feed.pending(start)
    assert p.count == 55
    got = list(feed.read_window(start, p.end))
    assert sorted(r["id"] for r in got) == sorted(f"r{i}" for i in range(55))
    assert got[0]["meta"] == {"source": "osint", "ingestion_job": "job-1"}
    d = feed.describe_window(start, p.end)
    assert d["ingestion_jobs"] == ["job-1", "job-2"] and d["entity_count"] == 55
    cursor = feed.compact(p.end)
    assert feed.pending(cursor).count == 0
    writer.complete_job("job-3")
    assert feed.pending(cursor).count == 10


def test_same_window_reads_the_same_records_twice(layout):
    writer, feed = layout
    writer.write_entities("j", records(0, 200))
    writer.complete_job("j", at=ago(5))
    start = feed.start_position("beginning")
    end = feed.pending(start).end
    assert list(feed.read_window(start, end)) == list(feed.read_window(start, end))


def test_a_consumed_job_that_changes_stops_the_feed(layout):
    writer, feed = layout
    writer.write_entities("job-1", records(0, 5))
    writer.complete_job("job-1", at=ago(60))
    cursor = feed.compact(feed.pending(feed.start_position("beginning")).end)
    writer.write_entities("job-1", records(5, 1))
    with pytest.raises(FeedError, match="had 5 entities when it was consumed and has 6"):
        feed.pending(cursor)


def test_start_at_end_and_a_wrong_password(layout):
    writer, feed = layout
    writer.write_entities("old", records(0, 10))
    writer.complete_job("old", at=ago(600))
    start = feed.start_position("end")
    writer.write_entities("new", records(10, 3))
    writer.complete_job("new", at=ago(1))
    assert feed.pending(start).count == 3
    assert URI is not None
    bad = GraphFeed(URI, USER, PASSWORD + "-wrong", database=DATABASE, retry_seconds=2)
    with pytest.raises(FeedError, match="authentication failed"):
        bad.pending({"hwm": None, "folded": 0, "jobs": []})
    bad.close()
