"""The graph feed through the real neo4j driver against the Bolt stand-in: connection, auth,
routing, transient-error retries, record decoding, the tick's one query, and changes caught."""

import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from tests.support.bolt.graph import Instant
from tests.support.bolt.server import BoltStandin, Fault
from tests.support.feeds import records
from tests.support.graph_writer import GraphWriter
from verifily.feeds import FeedError
from verifily.feeds.graph import GraphFeed
from verifily.feeds.graph_cypher import GraphQueries
from verifily.feeds.graph_records import RecordMapping
from verifily.feeds.snapshot import snapshot_window

pytestmark = pytest.mark.e2e

USER, PASSWORD = "neo4j", "secret-password"
TICK = "count(e) AS entities"


@pytest.fixture
def server():
    with BoltStandin() as s:
        yield s


@pytest.fixture
def writer(server):
    w = GraphWriter(server.uri, USER, PASSWORD)
    w.create_indexes()
    yield w
    w.close()


def open_feed(server, uri=None, **kw) -> GraphFeed:
    kw.setdefault("retry_seconds", 3)
    return GraphFeed(uri or server.uri, kw.pop("user", USER), kw.pop("password", PASSWORD), **kw)


@pytest.fixture
def feed(server, writer):
    f = open_feed(server)
    yield f
    f.close()


def ago(seconds: float) -> datetime:
    return datetime.now(UTC) - timedelta(seconds=seconds)


def test_window_is_whole_completed_jobs_read_and_described(writer, feed):
    start = feed.start_position("beginning")
    writer.write_entities("job-1", records(0, 30))
    writer.complete_job("job-1", at=ago(60), started_at=ago(120))
    writer.write_entities("job-2", records(30, 25))
    writer.complete_job("job-2", at=ago(30))
    writer.write_entities("job-3", records(55, 10))  # still running: not counted
    p = feed.pending(start)
    assert p.count == 55
    got = list(feed.read_window(start, p.end))
    assert sorted(r["id"] for r in got) == sorted(f"r{i}" for i in range(55))
    assert {r["meta"]["ingestion_job"] for r in got[:30]} == {"job-1"}
    assert got[0].keys() == {"id", "input", "output", "meta"}
    d = feed.describe_window(start, p.end)
    assert d["ingestion_jobs"] == ["job-1", "job-2"]
    assert (d["job_count"], d["entity_count"], d["kind"]) == (2, 55, "neo4j")
    assert d["ingested_from"] < d["ingested_to"] and d["ingested_to"].endswith("Z")
    writer.complete_job("job-3")
    after = feed.pending(feed.compact(p.end))
    assert after.count == 10
    assert [r["id"] for r in feed.read_window(p.end, after.end)] == [f"r{i}" for i in range(55, 65)]


def test_a_tick_is_one_parametrised_read_query(server, writer, feed):
    writer.write_entities("job-1", records(0, 5))
    writer.complete_job("job-1", at=ago(10))
    cursor = feed.start_position("end")  # also checks the indexes, once per process
    writer.write_entities("job-2", records(5, 5))
    writer.complete_job("job-2", at=ago(5))
    before = len(server.runs)
    for _ in range(3):
        assert feed.pending(cursor).count == 5
    ticks = server.runs[before:]
    assert len(ticks) == 3 and all(TICK in r.query for r in ticks)
    assert all(r.mode == "r" for r in ticks)
    # Values travel as parameters, never in the text: no job id or time is in it.
    assert all("job-" not in r.query and "20" not in r.query for r in ticks)
    assert ticks[0].params["hwm"] == Instant.from_datetime(server_time(server, "job-1"))
    assert ticks[0].params["completed"] == "completed"


def server_time(server, job) -> datetime:
    """A job's completed_at as the stand-in stores it."""
    (node,) = [n for n in server.graph.labelled("IngestionJob") if n.props["id"] == job]
    t = node.props["completed_at"]
    return datetime.fromtimestamp(t.seconds, UTC) + timedelta(microseconds=t.nanos // 1000)


def test_same_window_same_dataset_whatever_order_the_server_returns(server, writer, tmp_path):
    rows = records(0, 40)
    writer.write_entities("j", rows)
    writer.complete_job("j", at=ago(5))
    with BoltStandin() as other:
        w2 = GraphWriter(other.uri, USER, PASSWORD)
        w2.create_indexes()
        w2.write_entities("j", list(reversed(rows)))
        w2.set_job("j", **{"status": "completed", "completed_at": ago(5)})
        w2.close()
        hashes = []
        for s in (server, other):
            f = open_feed(s)
            start = f.start_position("beginning")
            p = f.pending(start)
            out = tmp_path / f"snap-{len(hashes)}"
            hashes.append(snapshot_window(list(f.read_window(start, p.end)), out).dataset_hash)
            f.close()
    assert hashes[0] == hashes[1]


def test_wrong_password_is_a_clear_error(server, writer):
    f = open_feed(server, password="wrong")
    with pytest.raises(FeedError, match="authentication failed .*user_env and password_env"):
        f.pending({"hwm": None, "folded": 0, "jobs": []})
    f.close()


def test_routing_uri_works_when_the_server_routes(server, writer):
    writer.write_entities("j", records(0, 3))
    writer.complete_job("j", at=ago(5))
    f = open_feed(server, uri=server.routing_uri)
    assert f.pending(f.start_position("beginning")).count == 3
    assert "ROUTE" in {m for _, m in server.messages}
    f.close()


def test_routing_refused_says_to_use_bolt():
    with BoltStandin(routing=False) as s:
        w = GraphWriter(s.uri, USER, PASSWORD)
        w.create_indexes()
        w.close()
        f = open_feed(s, uri=s.routing_uri, retry_seconds=1)
        with pytest.raises(FeedError, match=r"routing table .*needs a bolt:// URI"):
            f.pending({"hwm": None, "folded": 0, "jobs": []})
        f.close()
        # The same server over bolt:// works.
        f = open_feed(s)
        assert f.pending(f.start_position("beginning")).count == 0
        f.close()


def test_transient_errors_and_dropped_connections_are_retried(server, writer):
    feed = open_feed(server, retry_seconds=20)  # the driver backs off ~1 s, 2 s, 4 s
    writer.write_entities("j", records(0, 7))
    writer.complete_job("j", at=ago(5))
    start = feed.start_position("beginning")
    server.faults += [
        Fault(TICK, "Neo.TransientError.Transaction.DeadlockDetected", times=2),
        Fault(TICK, "disconnect", times=1),
    ]
    before = len(server.runs)
    assert feed.pending(start).count == 7
    attempts = [r for r in server.runs[before:] if TICK in r.query]
    assert len(attempts) == 4  # two deadlocks, one dropped connection, then the answer
    assert all(f.times == 0 for f in server.faults)
    feed.close()


def test_a_client_error_is_not_retried_and_names_the_code(server, writer):
    f = open_feed(server, database="nope", retry_seconds=30)
    started = time.monotonic()
    with pytest.raises(FeedError, match="DatabaseNotFound.*nope"):
        f.pending({"hwm": None, "folded": 0, "jobs": []})
    assert time.monotonic() - started < 5
    f.close()


def test_values_decode_to_json_record_fields(server, writer):
    mapping = RecordMapping(input="text", output="label", id="uid", meta=("when", "tags", "score"))
    q = GraphQueries(mapping=mapping)
    # A fixed offset, not a ZoneInfo: the driver asks a ZoneInfo for the offset of its own
    # DateTime type, which the C zoneinfo reads as a datetime (segfaults or a wrong hour).
    zoned = datetime(2026, 11, 1, 10, 0, 0, 123456, tzinfo=timezone(timedelta(hours=1)))
    big = 2**40
    w = GraphWriter(server.uri, USER, PASSWORD, queries=q)
    w.write_entities(
        "j",
        [
            {"uid": big, "text": "Grüße, 世界 " + "x" * 70_000, "label": -129, "when": zoned,
             "tags": ["a", "b"], "score": 0.25},
            {"uid": -17, "text": "", "label": True, "score": -32769},
        ],
    )  # fmt: skip
    w.complete_job("j", at=ago(5))
    w.close()
    f = open_feed(server, queries=q)
    start = f.start_position("beginning")
    got = {r["id"]: r for r in f.read_window(start, f.pending(start).end)}
    assert got[big]["input"].startswith("Grüße, 世界 ") and len(got[big]["input"]) == 70_010
    assert got[big]["output"] == -129
    assert got[big]["meta"] == {
        "when": "2026-11-01T10:00:00.123456000+01:00",
        "tags": ["a", "b"],
        "score": 0.25,
        "ingestion_job": "j",
    }
    assert got[-17] == {
        "id": -17, "input": "", "output": True, "meta": {"score": -32769, "ingestion_job": "j"}
    }  # fmt: skip
    f.close()


def test_a_value_json_cannot_carry_names_the_property(server, writer):
    writer.write_entities("j", [{"id": "b", "input": b"\x00\x01", "output": "x"}])
    writer.complete_job("j", at=ago(5))
    f = open_feed(server)
    start = f.start_position("beginning")
    with pytest.raises(FeedError, match="property 'input'.*byte"):
        list(f.read_window(start, f.pending(start).end))
    f.close()


def test_missing_or_building_indexes_stop_the_feed_with_the_statements(server):
    f = open_feed(server)
    with pytest.raises(FeedError, match=r"CREATE INDEX IF NOT EXISTS FOR \(n:`Entity`\)"):
        f.pending({"hwm": None, "folded": 0, "jobs": []})
    w = GraphWriter(server.uri, USER, PASSWORD)
    w.create_indexes()
    w.close()
    next(iter(server.graph.indexes.values())).state = "POPULATING"
    with pytest.raises(FeedError, match="waiting for indexes: .* is POPULATING"):
        f.pending({"hwm": None, "folded": 0, "jobs": []})
    for index in server.graph.indexes.values():
        index.state = "ONLINE"
    assert f.pending({"hwm": None, "folded": 0, "jobs": []}).count == 0
    f.close()


@pytest.mark.parametrize("version", [(5, 0), (5, 4)])
def test_older_bolt_5_servers(version):
    with BoltStandin(max_version=version, manifest=False) as s:
        w = GraphWriter(s.uri, USER, PASSWORD)
        w.create_indexes()
        w.write_entities("j", records(0, 4))
        w.complete_job("j", at=ago(5))
        w.close()
        f = open_feed(s)
        assert f.pending(f.start_position("beginning")).count == 4
        assert f.driver.get_server_info().protocol_version == version
        f.close()
        bad = open_feed(s, password="nope")
        with pytest.raises(FeedError, match="authentication failed"):
            bad.pending({"hwm": None, "folded": 0, "jobs": []})
        bad.close()


def test_closing_the_feed_closes_its_connections(server, writer):
    writer.write_entities("j", records(0, 1))  # the writer's pooled connection stays open
    base = server.open_connections
    f = open_feed(server)
    f.pending(f.start_position("beginning"))
    assert server.open_connections == base + 1  # one driver, one pooled connection
    f.close()
    deadline = time.monotonic() + 5
    while server.open_connections > base and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.open_connections == base
    assert "GOODBYE" in {m for _, m in server.messages}


def test_a_consumed_job_that_gains_an_entity_stops_the_feed(writer, feed):
    writer.write_entities("job-1", records(0, 30))
    writer.complete_job("job-1", at=ago(60))
    start = feed.start_position("beginning")
    p = feed.pending(start)
    cursor = feed.compact(p.end)
    writer.write_entities("job-1", records(30, 1))
    with pytest.raises(FeedError, match="'job-1' had 30 entities when it was consumed and has 31"):
        feed.pending(cursor)


def test_a_job_completed_again_or_reopened_stops_the_feed(writer, feed):
    writer.write_entities("job-1", records(0, 3))
    writer.complete_job("job-1", at=ago(60))
    cursor = feed.compact(feed.pending(feed.start_position("beginning")).end)
    writer.complete_job("job-1", at=ago(1))
    with pytest.raises(FeedError, match="completed again"):
        feed.pending(cursor)
    writer.set_job("job-1", status="running")
    with pytest.raises(FeedError, match="no longer a completed job"):
        feed.pending(cursor)


def test_start_at_end_skips_what_is_already_complete(writer, feed):
    writer.write_entities("old", records(0, 100))
    writer.complete_job("old", at=ago(600))
    start = feed.start_position("end")
    assert feed.pending(start).count == 0
    writer.write_entities("new", records(100, 2))
    writer.complete_job("new", at=ago(1))
    assert feed.pending(start).count == 2


def test_a_completed_at_that_is_not_a_zoned_datetime_is_reported(writer, feed):
    writer.write_entities("j", records(0, 2))
    writer.set_job("j", status="completed", completed_at="2026-11-01T10:00:00Z")
    with pytest.raises(FeedError, match="completed_at must be a DATETIME with a time zone"):
        feed.pending(feed.start_position("beginning"))
