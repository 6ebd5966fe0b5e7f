"""The record-count sensor, evaluated with dg.build_sensor_context on a real JSONL feed."""

import json
import threading
import time

import dagster as dg
import pytest

from resources.feeds import JsonlFeedFetcher
from sensors.record_count import build_record_count_sensor, feed_key
from tests.support.examples import IRIS
from tests.support.feeds import append_jsonl, records
from verifily.config.models import load_models_config
from verifily.dataset.verify import verify_artifact
from verifily.feeds import FeedError
from verifily_assets.definitions import RETRAIN_TARGET


@pytest.fixture
def setup(tmp_path):
    feed_dir = tmp_path / "feed"
    cfg_path = tmp_path / "models.yaml"
    cfg_path.write_text(
        "snapshot_root: snaps\n"
        "models:\n"
        "  - id: iris\n"
        "    feed: {kind: jsonl, path: feed}\n"
        f"    eval_set: {IRIS}\n"
        "    max_window_records: 120\n"
    )
    cfg = load_models_config(cfg_path)
    sensor = build_record_count_sensor(cfg.models[0], cfg, RETRAIN_TARGET)
    resources = {feed_key("iris"): JsonlFeedFetcher(path=str(feed_dir))}

    def tick(cursor=None, instance=None):
        ctx = dg.build_sensor_context(cursor=cursor, instance=instance, resources=resources)
        return sensor(ctx)

    return feed_dir, tick, tmp_path


def test_49_records_skip_and_say_49_of_50(setup):
    feed_dir, tick, _ = setup
    append_jsonl(feed_dir / "part-0.jsonl", records(0, 49))
    result = tick()
    assert not result.run_requests
    assert "49/50" in result.skip_reason.skip_message
    # Nothing was requested, so the cursor stays before the 49 records.
    cursor = json.loads(result.cursor)
    assert {k: cursor[k] for k in ("v", "p", "n")} == {"v": 1, "p": {"files": {}}, "n": 0}
    # The start of the first window's time span: when the sensor first looked.
    assert cursor["t"].endswith("Z")


def test_50_records_give_one_run_then_none(setup, instance):
    feed_dir, tick, tmp_path = setup
    append_jsonl(feed_dir / "part-0.jsonl", records(0, 49))
    assert not tick(instance=instance).run_requests
    append_jsonl(feed_dir / "part-0.jsonl", records(49, 1))
    result = tick(instance=instance)
    assert len(result.run_requests) == 1
    req = result.run_requests[0]
    assert req.partition_key == "iris"
    assert req.tags["verifily/model_id"] == "iris"
    assert req.tags["verifily/trigger"] == "record_count"
    assert (req.tags["verifily/window_from"], req.tags["verifily/window_to"]) == ("0", "50")
    assert req.tags["verifily/record_count"] == "50"
    assert req.run_key.startswith("iris:0-50:")
    assert [list(r.partition_keys) for r in result.dynamic_partitions_requests] == [["iris"]]
    config = req.run_config["ops"]["dataset_artifact"]["config"]
    info = verify_artifact(config["dataset_dir"])
    assert info.dataset_hash == req.tags["verifily/dataset_hash"]
    assert info.record_count == 50 + verify_artifact(IRIS).record_count
    assert len(result.cursor.encode()) < 1024
    assert json.loads(result.cursor)["n"] == 50

    again = tick(cursor=result.cursor, instance=instance)
    assert not again.run_requests
    assert "0/50" in again.skip_reason.skip_message

    # A retried tick (the daemon died before saving the cursor) asks for the same run_key and
    # reuses the same snapshot: the daemon dedupes on run_key, so no second run.
    retry = tick(instance=instance)
    assert retry.run_requests[0].run_key == req.run_key
    assert retry.run_requests[0].run_config == req.run_config


def test_window_boundaries_follow_the_cursor(setup):
    feed_dir, tick, _ = setup
    append_jsonl(feed_dir / "part-0.jsonl", records(0, 60))
    first = tick()
    append_jsonl(feed_dir / "part-1.jsonl", records(60, 55))
    second = tick(cursor=first.cursor)
    req = second.run_requests[0]
    assert (req.tags["verifily/window_from"], req.tags["verifily/window_to"]) == ("60", "115")
    assert req.run_key != first.run_requests[0].run_key
    assert len(second.cursor.encode()) < 1024


def test_cursor_stays_under_1kb_on_many_rotated_files(setup):
    feed_dir, tick, _ = setup
    cursor, seen = None, 0
    for part in range(40):
        append_jsonl(feed_dir / f"part-{part:04d}-of-a-long-rotated-name.jsonl", records(seen, 50))
        seen += 50
        result = tick(cursor=cursor)
        (req,) = result.run_requests
        assert req.tags["verifily/window_to"] == str(seen)
        assert len(result.cursor.encode()) < 1024, len(result.cursor.encode())
        cursor = result.cursor
    # The newest file still grows normally ...
    append_jsonl(feed_dir / "part-0039-of-a-long-rotated-name.jsonl", records(seen, 50))
    result = tick(cursor=cursor)
    assert result.run_requests[0].tags["verifily/window_from"] == str(seen)
    # ... but a sealed old file that changes is reported, not silently skipped.
    append_jsonl(feed_dir / "part-0001-of-a-long-rotated-name.jsonl", records(9000, 1))
    with pytest.raises(FeedError, match="fully read feed file"):
        tick(cursor=result.cursor)


def test_backlog_is_consumed_in_bounded_windows(setup):
    feed_dir, tick, _ = setup
    append_jsonl(feed_dir / "part-0.jsonl", records(0, 200))
    append_jsonl(feed_dir / "part-1.jsonl", records(200, 100))
    cursor, windows = None, []
    for _ in range(3):
        result = tick(cursor=cursor)
        req = result.run_requests[0]
        windows.append((req.tags["verifily/window_from"], req.tags["verifily/window_to"]))
        cursor = result.cursor
    assert windows == [("0", "120"), ("120", "240"), ("240", "300")]
    assert "0/50" in tick(cursor=cursor).skip_reason.skip_message


def test_half_written_line_is_not_counted(setup):
    feed_dir, tick, _ = setup
    append_jsonl(feed_dir / "part-0.jsonl", records(0, 49))
    with open(feed_dir / "part-0.jsonl", "ab") as f:
        f.write(b'{"id": "r49", "input": "question 49", "outp')
    result = tick()
    assert not result.run_requests and "49/50" in result.skip_reason.skip_message


def test_shrunk_file_is_reported(setup):
    feed_dir, tick, _ = setup
    append_jsonl(feed_dir / "part-0.jsonl", records(0, 50))
    first = tick()
    with open(feed_dir / "part-0.jsonl", "r+b") as f:
        f.truncate(100)
    with pytest.raises(FeedError, match="shrank"):
        tick(cursor=first.cursor)


def test_damaged_cursor_is_an_error_not_a_replay(setup):
    _, tick, _ = setup
    with pytest.raises(FeedError, match="cursor is damaged"):
        tick(cursor="{not json")


def _watching_sensor(tmp_path, seconds: float):
    cfg_path = tmp_path / "watch.yaml"
    cfg_path.write_text(
        f"tick_watch_seconds: {seconds}\nmodels:\n  - {{id: w, feed: {{kind: jsonl, path: wf}}}}\n"
    )
    cfg = load_models_config(cfg_path)
    sensor = build_record_count_sensor(cfg.models[0], cfg, RETRAIN_TARGET)
    resources = {feed_key("w"): JsonlFeedFetcher(path=str(tmp_path / "wf"))}
    return lambda: sensor(dg.build_sensor_context(resources=resources))


def test_watching_tick_requests_the_run_when_the_records_arrive(tmp_path):
    tick = _watching_sensor(tmp_path, 10)
    append_jsonl(tmp_path / "wf" / "part-0.jsonl", records(0, 20))
    later = threading.Timer(0.6, append_jsonl, [tmp_path / "wf" / "part-0.jsonl", records(20, 30)])
    started = time.monotonic()
    later.start()
    result = tick()
    took = time.monotonic() - started
    later.join()
    (req,) = result.run_requests
    assert req.tags["verifily/window_to"] == "50"
    # It returned when the 50th record arrived, not at the end of its 10 s watch.
    assert 0.6 <= took < 3, took


def test_watching_tick_skips_at_the_end_of_its_watch(tmp_path):
    tick = _watching_sensor(tmp_path, 0.5)
    append_jsonl(tmp_path / "wf" / "part-0.jsonl", records(0, 49))
    started = time.monotonic()
    result = tick()
    assert time.monotonic() - started >= 0.5
    assert not result.run_requests and "49/50" in result.skip_reason.skip_message
