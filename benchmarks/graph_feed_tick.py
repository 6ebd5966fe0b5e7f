"""Graph feed tick cost on the client side: what one look at a Neo4j feed costs beyond the
cheapest Bolt exchange the driver can make, measured in the same run.

A sensor tick opens a driver (connect, handshake, HELLO/LOGON), runs the feed's one tick query
in a managed read transaction, checks the consumed jobs, and closes the driver. The reference
is the same driver lifecycle around `RETURN 1`. Both run against the Bolt stand-in on loopback
with a small graph, so this is the driver + protocol + feed cost; Neo4j's own execution of the
query (index seeks) is not measured here, and a real network adds its round trips to both.

Usage: .venv/bin/python benchmarks/graph_feed_tick.py [--ticks 200] [--jobs 20] [--smoke]
"""

import argparse
import statistics
import time
from datetime import UTC, datetime, timedelta

import checkout  # noqa: F401 - this checkout on sys.path (benchmarks/checkout.py)
import neo4j
from harness import SMOKE_HELP

from tests.support.bolt.cypher import evaluate
from tests.support.bolt.server import BoltStandin
from tests.support.feeds import records
from tests.support.graph_writer import GraphWriter
from verifily.feeds.graph import GraphFeed

USER, PASSWORD = "neo4j", "secret-password"


def ms(xs: list[float]) -> str:
    return f"median {statistics.median(xs) * 1000:.2f} ms (min {min(xs) * 1000:.2f})"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ticks", type=int, default=200)
    ap.add_argument("--jobs", type=int, default=20)
    ap.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    args = ap.parse_args()
    if args.smoke:
        args.ticks, args.jobs = 5, 3
    with BoltStandin() as server:
        writer = GraphWriter(server.uri, USER, PASSWORD)
        writer.create_indexes()
        start = datetime.now(UTC) - timedelta(hours=1)
        for j in range(args.jobs):
            writer.write_entities(f"job-{j}", records(j * 50, 50))
            writer.complete_job(f"job-{j}", at=start + timedelta(seconds=j))
        writer.close()
        warm = GraphFeed(server.uri, USER, PASSWORD)
        cursor = warm.compact(warm.pending(warm.start_position("beginning")).end)
        kept = []
        for i in range(args.ticks + 1):
            t0 = time.perf_counter()
            warm.pending(cursor)
            if i:
                kept.append(time.perf_counter() - t0)
        # What the stand-in itself spends answering the tick query (Python over its in-memory
        # graph; Neo4j answers it from two indexes instead): part of both tick figures.
        run = server.runs[-1]
        answer = []
        for _ in range(args.ticks):
            t0 = time.perf_counter()
            evaluate(server.graph, run.query, run.params)
            answer.append(time.perf_counter() - t0)
        warm.close()

        tick, ref = [], []
        for i in range(args.ticks + 1):  # interleaved: both see the same machine load
            t0 = time.perf_counter()
            feed = GraphFeed(server.uri, USER, PASSWORD)
            p = feed.pending(cursor)
            feed.close()
            t1 = time.perf_counter()
            driver = neo4j.GraphDatabase.driver(server.uri, auth=(USER, PASSWORD))
            with driver.session(default_access_mode=neo4j.READ_ACCESS) as s:
                s.execute_read(lambda tx: tx.run("RETURN 1 AS one").values())
            driver.close()
            t2 = time.perf_counter()
            assert p.count == 0
            if i:
                tick.append(t1 - t0)
                ref.append(t2 - t1)
    print(f"{args.jobs} consumed jobs of 50 entities, {args.ticks} ticks each, loopback stand-in:")
    print(f"  tick (new driver, tick query, consumed-job check, close): {ms(tick)}")
    print(f"  reference (new driver, RETURN 1, close):                  {ms(ref)}")
    print(f"  ratio tick/reference: {statistics.median(tick) / statistics.median(ref):.2f}")
    print(f"  tick query on a kept driver (a watching tick's later looks): {ms(kept)}")
    print(f"  of which the stand-in evaluating the query in Python:       {ms(answer)}")


if __name__ == "__main__":
    main()
