"""The record-count sensor on a Neo4j feed (the resource and its driver, against the Bolt
stand-in), evaluated with dg.build_sensor_context as the daemon evaluates it."""

import json
import threading
import time
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

from resources.feeds import Neo4jFeedFetcher, feed_resource
from resources.k8s import K8sStepSettings
from sensors.record_count import build_record_count_sensor, feed_key
from tests.support.bolt.server import BoltStandin
from tests.support.examples import IRIS
from tests.support.feeds import records
from tests.support.graph_writer import GraphWriter
from verifily.config.models import load_models_config
from verifily.dataset.artifact import iter_records
from verifily.feeds import FeedError
from verifily.feeds.window import DataWindow
from verifily.tags import DATA_WINDOW, LABEL_DATA_WINDOW, LABEL_WINDOW_END, LABEL_WINDOW_START
from verifily_assets.definitions import RETRAIN_TARGET

USER, PASSWORD = "neo4j", "secret-password"


@pytest.fixture
def graph(tmp_path, monkeypatch):
    """A stand-in server, a writer on it, and a tick function for model `g`'s sensor."""
    with BoltStandin() as server:
        writer = GraphWriter(server.uri, USER, PASSWORD)
        writer.create_indexes()
        monkeypatch.setenv("G_NEO4J_URI", server.uri)
        monkeypatch.setenv("G_NEO4J_USER", USER)
        monkeypatch.setenv("G_NEO4J_PASSWORD", PASSWORD)
        yield server, writer, graph_sensor(tmp_path, f"eval_set: {IRIS}")
        writer.close()


def graph_sensor(tmp_path, *model_lines: str):
    """A tick function for model `g`'s sensor on the stand-in (env set by the fixture)."""
    cfg_path = tmp_path / "models.yaml"
    cfg_path.write_text(
        "snapshot_root: snaps\n"
        "models:\n"
        "  - id: g\n"
        "    feed: {kind: neo4j, uri_env: G_NEO4J_URI, user_env: G_NEO4J_USER,\n"
        "           password_env: G_NEO4J_PASSWORD}\n" + "".join(f"    {m}\n" for m in model_lines)
    )
    cfg = load_models_config(cfg_path)
    sensor = build_record_count_sensor(cfg.models[0], cfg, RETRAIN_TARGET)
    resource = feed_resource(cfg.models[0].feed)
    assert isinstance(resource, Neo4jFeedFetcher)

    def tick(cursor=None, instance=None):
        with dg.build_sensor_context(
            cursor=cursor, instance=instance, resources={feed_key("g"): resource}
        ) as ctx:
            return sensor(ctx)

    return tick


def ago(seconds: float) -> datetime:
    return datetime.now(UTC) - timedelta(seconds=seconds)


def test_49_entities_skip_the_50th_gives_one_run_on_exactly_those(graph, instance):
    server, writer, tick = graph
    started = ago(180)
    writer.write_entities("job-1", records(0, 49))
    writer.complete_job("job-1", at=ago(120), started_at=started)
    writer.write_entities("job-2", records(49, 1))  # written, but its job is still running
    skipped = tick(instance=instance)
    assert not skipped.run_requests
    assert "g: 49/50 new records (needs 1 more)" in skipped.skip_reason.skip_message
    assert "1 completed ingestion job(s) not yet consumed" in skipped.skip_reason.skip_message

    completed = writer.complete_job("job-2", at=ago(60))
    result = tick(skipped.cursor, instance=instance)
    (req,) = result.run_requests
    assert (req.tags["verifily/window_from"], req.tags["verifily/window_to"]) == ("0", "50")
    assert req.tags["verifily/record_count"] == "50"
    window = DataWindow.from_json(req.tags[DATA_WINDOW])
    assert window is not None
    assert window.feed["ingestion_jobs"] == ["job-1", "job-2"]
    assert (window.feed["kind"], window.feed["entity_count"]) == ("neo4j", 50)
    # The time span: from the first job's start to the last job's completion.
    assert window.start == started.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert window.end == completed.strftime("%Y-%m-%dT%H:%M:%SZ")
    dataset = req.run_config["ops"]["dataset_artifact"]["config"]["dataset_dir"]
    # Window records name their job; the rest is the model's fixed eval set.
    fed = [r for r in iter_records(dataset) if "ingestion_job" in (r.get("meta") or {})]
    assert sorted(r["id"] for r in fed) == sorted(f"r{i}" for i in range(50))
    assert len(list(iter_records(dataset))) == 50 + len(list(iter_records(IRIS)))
    assert len(result.cursor.encode()) < 1024

    again = tick(result.cursor, instance=instance)
    assert not again.run_requests and "0/50" in again.skip_reason.skip_message
    # A tick retried from the old cursor (the daemon died before storing the new one) asks for
    # the same run_key and the same snapshot: the daemon dedupes it.
    retry = tick(skipped.cursor, instance=instance)
    assert retry.run_requests[0].run_key == req.run_key
    assert retry.run_requests[0].tags["verifily/dataset_hash"] == req.tags["verifily/dataset_hash"]


def test_the_window_reaches_the_kubernetes_labels(graph):
    _, writer, tick = graph
    writer.write_entities("job-1", records(0, 50))
    writer.complete_job(
        "job-1",
        at=datetime(2026, 11, 2, 8, 30, 0, tzinfo=UTC),
        started_at=datetime(2026, 11, 2, 8, 0, 0, tzinfo=UTC),
    )
    (req,) = tick().run_requests
    window = DataWindow.from_json(req.tags[DATA_WINDOW])
    cfg = K8sStepSettings.from_env({"VERIFILY_EXECUTOR": "k8s", "RETRAINING_IMAGE": "i:1"})
    labels = cfg.executor_config(model_id="g", window=window, env={})["labels"]
    assert labels[LABEL_DATA_WINDOW] == "0-50"
    assert labels[LABEL_WINDOW_START] == "20261102T080000Z"
    assert labels[LABEL_WINDOW_END] == "20261102T083000Z"


def test_a_running_job_is_not_counted_however_big(graph):
    _, writer, tick = graph
    writer.write_entities("big", records(0, 500))
    writer.set_job("big", status="running")
    assert "0/50" in tick().skip_reason.skip_message


def test_a_consumed_job_that_changes_stops_the_sensor(graph):
    _, writer, tick = graph
    writer.write_entities("job-1", records(0, 50))
    writer.complete_job("job-1", at=ago(30))
    first = tick()
    assert first.run_requests
    writer.delete_where("Entity", "id", "r7")
    with pytest.raises(FeedError, match="'job-1' had 50 entities when it was consumed and has 49"):
        tick(first.cursor)


def test_each_tick_opens_one_driver_and_closes_it(graph):
    server, writer, tick = graph
    writer.write_entities("job-1", records(0, 3))
    base = server.open_connections
    tick()
    deadline = time.monotonic() + 5
    while server.open_connections > base and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.open_connections == base
    assert "GOODBYE" in {m for _, m in server.messages}


def test_a_watching_tick_requests_the_run_when_the_job_completes(graph, tmp_path):
    server, writer, _ = graph
    cfg_path = tmp_path / "watch.yaml"
    cfg_path.write_text(
        "tick_watch_seconds: 10\nmodels:\n  - {id: w, feed: {kind: neo4j, "
        "uri_env: G_NEO4J_URI, user_env: G_NEO4J_USER, password_env: G_NEO4J_PASSWORD}}\n"
    )
    cfg = load_models_config(cfg_path)
    sensor = build_record_count_sensor(cfg.models[0], cfg, RETRAIN_TARGET)
    resource = feed_resource(cfg.models[0].feed)
    writer.write_entities("job-1", records(0, 50))
    later = threading.Timer(0.6, writer.complete_job, ["job-1"])
    started = time.monotonic()
    later.start()
    with dg.build_sensor_context(resources={feed_key("w"): resource}) as ctx:
        result = sensor(ctx)
    took = time.monotonic() - started
    later.join()
    (req,) = result.run_requests
    assert req.tags["verifily/window_to"] == "50"
    assert 0.6 <= took < 5, took
    assert json.loads(result.cursor)["n"] == 50


def test_a_backlog_is_consumed_in_bounded_windows_of_whole_jobs(graph, tmp_path):
    _, writer, _ = graph
    tick = graph_sensor(tmp_path, "max_window_records: 100")
    for j in range(5):
        writer.write_entities(f"job-{j}", records(j * 40, 40))
        writer.complete_job(f"job-{j}", at=ago(3600 - j))
    cursor, windows = None, []
    for _ in range(2):
        result = tick(cursor)
        (req,) = result.run_requests
        jobs = DataWindow.from_json(req.tags[DATA_WINDOW]).feed["ingestion_jobs"]
        windows.append((req.tags["verifily/window_from"], req.tags["verifily/window_to"], jobs))
        cursor = result.cursor
    # 40-entity jobs, at most 100 per window: two whole jobs each, never a job split.
    assert windows == [("0", "80", ["job-0", "job-1"]), ("80", "160", ["job-2", "job-3"])]
    assert "40/50" in tick(cursor).skip_reason.skip_message


def test_start_at_end_ignores_what_was_complete_before_the_first_tick(graph, tmp_path):
    _, writer, _ = graph
    tick = graph_sensor(tmp_path, "start_at: end", "min_records: 10")
    writer.write_entities("old", records(0, 500))
    writer.complete_job("old", at=ago(60))
    first = tick()
    assert not first.run_requests and "0/10" in first.skip_reason.skip_message
    writer.write_entities("new", records(500, 10))
    writer.complete_job("new")
    (req,) = tick(first.cursor).run_requests
    assert DataWindow.from_json(req.tags[DATA_WINDOW]).feed["ingestion_jobs"] == ["new"]
