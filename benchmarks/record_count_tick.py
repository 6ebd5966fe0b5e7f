"""Record-count tick cost: a 10-million-record JSONL feed vs a 10-thousand-record one.

Each tick sees 100 new records (threshold 50), so it counts, snapshots the window and
returns a run request. A tick reads only the bytes after its cursor, so the feed's size
must not matter: target under 50 ms on the big feed, and a ratio big/small of about 1.

Usage: .venv/bin/python benchmarks/record_count_tick.py [--big 10000000] [--ticks 25] [--smoke]
"""

import argparse
import json
import logging
import statistics
import tempfile
import time
from pathlib import Path

import checkout  # noqa: F401 - this checkout on sys.path (benchmarks/checkout.py)
import dagster as dg
from harness import SMOKE_HELP

from resources.feeds import JsonlFeedFetcher
from sensors.record_count import build_record_count_sensor, dump_cursor, feed_key
from tests.support.feeds import append_jsonl, records
from verifily.config.models import load_models_config
from verifily.feeds.jsonl import JsonlFeed
from verifily_assets.definitions import RETRAIN_TARGET

LINE = b'{"id":"h%d","input":"historic question","output":"historic answer"}\n'


def make_feed(root: Path, n: int) -> Path:
    """A feed directory with n historic records in one file, written in 1M-line blocks."""
    feed = root / f"feed_{n}"
    feed.mkdir()
    with open(feed / "part-0.jsonl", "wb") as f:
        for start in range(0, n, 1_000_000):
            f.write(b"".join(LINE % i for i in range(start, min(n, start + 1_000_000))))
    return feed


class Ticker:
    """A record-count sensor on one feed, ticked with its own cursor like the daemon does."""

    def __init__(self, root: Path, feed: Path, instance: dg.DagsterInstance):
        cfg_path = root / f"models_{feed.name}.yaml"
        cfg_path.write_text(
            f"snapshot_root: snaps_{feed.name}\n"
            f"models:\n  - {{id: bench, feed: {{kind: jsonl, path: {feed}}}}}\n"
        )
        cfg = load_models_config(cfg_path)
        self.feed, self.instance, self.n = feed, instance, 0
        self.sensor = build_record_count_sensor(cfg.models[0], cfg, RETRAIN_TARGET)
        self.resources = {feed_key("bench"): JsonlFeedFetcher(path=str(feed))}
        # Start where a long-running sensor would be: after every historic record.
        self.cursor = dump_cursor(JsonlFeed(feed).start_position("end"), 0, None)
        self.times: list[float] = []
        self.count_times: list[float] = []

    def tick(self, keep: bool) -> None:
        append_jsonl(self.feed / "part-0.jsonl", records(self.n, 100, prefix="new"))
        self.n += 100
        ctx = dg.build_sensor_context(
            cursor=self.cursor, instance=self.instance, resources=self.resources
        )
        pos = json.loads(self.cursor)["p"]
        t0 = time.perf_counter()
        JsonlFeed(self.feed).pending(pos)
        t1 = time.perf_counter()
        result = self.sensor(ctx)
        t2 = time.perf_counter()
        assert len(result.run_requests) == 1, result
        self.cursor = result.cursor
        if keep:  # the first tick pays one-time imports
            self.count_times.append(t1 - t0)
            self.times.append(t2 - t1)


def ms(xs: list[float]) -> str:
    return (
        f"median {statistics.median(xs) * 1000:.1f} ms "
        f"(min {min(xs) * 1000:.1f}, max {max(xs) * 1000:.1f})"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--big", type=int, default=10_000_000)
    ap.add_argument("--small", type=int, default=10_000)
    ap.add_argument("--ticks", type=int, default=25)
    ap.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    args = ap.parse_args()
    if args.smoke:
        args.big, args.small, args.ticks = 100_000, 1_000, 2
    logging.getLogger("dagster").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="bench-tick-") as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        big = make_feed(root, args.big)
        size = (big / "part-0.jsonl").stat().st_size / 1e6
        print(f"built {args.big:,}-record feed ({size:.0f} MB) in {time.perf_counter() - t0:.1f}s")
        small = make_feed(root, args.small)
        with dg.DagsterInstance.ephemeral() as instance:
            sm, bg = Ticker(root, small, instance), Ticker(root, big, instance)
            # Interleaved, so both feeds see the same machine load (the box is shared).
            for t in range(args.ticks + 1):
                sm.tick(keep=t > 0)
                bg.tick(keep=t > 0)
    print(f"whole tick (count + snapshot 100 records + run request), {args.ticks} ticks each:")
    print(f"  {args.small:>12,}-record feed: {ms(sm.times)}")
    print(f"  {args.big:>12,}-record feed: {ms(bg.times)}")
    ratio = statistics.median(bg.times) / statistics.median(sm.times)
    print(f"  ratio big/small: {ratio:.2f}   (target: big < 50 ms, ratio ~1)")
    print("counting the new records only (JsonlFeed.pending):")
    print(f"  {args.small:>12,}-record feed: {ms(sm.count_times)}")
    print(f"  {args.big:>12,}-record feed: {ms(bg.count_times)}")
    ratio = statistics.median(bg.count_times) / statistics.median(sm.count_times)
    print(f"  ratio big/small: {ratio:.2f}")


if __name__ == "__main__":
    main()
