"""The models configuration: parsing, defaults, clear errors, one sensor per model."""

import pytest

from resources.feeds import JsonlFeedFetcher, SqlFeedFetcher
from sensors.automation import automation
from verifily.config.models import load_models_config
from verifily.errors import InputError
from verifily_assets.definitions import RETRAIN_TARGET


def test_defaults_and_relative_paths(tmp_path, monkeypatch):
    monkeypatch.delenv("VERIFILY_SENSOR_INTERVAL_SECONDS", raising=False)
    p = tmp_path / "models.yaml"
    p.write_text(
        "models:\n"
        "  - {id: a, feed: {kind: jsonl, path: feeds/a}}\n"
        "  - {id: b, feed: {kind: sql, url_env: B_URL}, min_records: 7, mode: mock}\n"
    )
    cfg = load_models_config(p)
    a, b = cfg.models
    assert a.min_records == 50 and a.mode == "mock" and a.start_at == "beginning"
    assert a.feed.path == str(tmp_path / "feeds" / "a")
    assert b.feed.kind == "sql" and b.feed.url_env == "B_URL" and b.min_records == 7
    assert cfg.snapshot_root == str(tmp_path / "snapshots")
    assert cfg.sensor_interval_seconds == 30 and cfg.autostart is False
    assert cfg.tick_watch_seconds == 0


@pytest.mark.parametrize(
    "body,message",
    [
        ("models:\n  - {id: a, feed: {kind: csv, path: x}}\n", "kind must be one of"),
        ("models:\n  - {id: a, feed: {kind: jsonl, path: x}, min_records: 0}\n", "min_records"),
        ("models:\n  - {id: a, feed: {kind: jsonl, path: x}, mode: fast}\n", "mode must be"),
        ("models:\n  - {id: a, feed: {kind: sql}}\n", "exactly one of 'url' or 'url_env'"),
        (
            "models:\n  - {id: a, feed: {kind: sql, url: x, gap_timeout_seconds: -1}}\n",
            "gap_timeout_seconds must be a number >= 0",
        ),
        ("models:\n  - {id: a, feed: {kind: jsonl, path: x}, min_record: 5}\n", "min_record"),
        ("models:\n  - {id: 'a b', feed: {kind: jsonl, path: x}}\n", "is not a valid model id"),
        (
            "models:\n  - {id: a, feed: {kind: jsonl, path: x}}\n"
            "  - {id: a, feed: {kind: jsonl, path: y}}\n",
            "listed twice",
        ),
        (
            "models:\n  - {id: a.b, feed: {kind: jsonl, path: x}}\n"
            "  - {id: a-b, feed: {kind: jsonl, path: y}}\n",
            "differ only in",
        ),
        (
            "models:\n  - {id: a, feed: {kind: jsonl, path: x}, pipeline_config: nope.yaml}\n",
            "does not exist",
        ),
        ("tick_watch_seconds: -1\nmodels: []\n", "between 0 and 30"),
        ("tick_watch_seconds: 45\nmodels: []\n", "between 0 and 30"),
        ("tick_watch_seconds: true\nmodels: []\n", "number of seconds"),
        ("tick_watch_seconds: '4'\nmodels: []\n", "number of seconds"),
    ],
)
def test_bad_config_names_the_problem(tmp_path, body, message):
    p = tmp_path / "models.yaml"
    p.write_text(body)
    with pytest.raises(InputError, match=message):
        load_models_config(p)


def test_one_sensor_and_one_feed_resource_per_model(tmp_path, monkeypatch):
    p = tmp_path / "models.yaml"
    p.write_text(
        "autostart: true\nmodels:\n"
        "  - {id: a, feed: {kind: jsonl, path: fa}}\n"
        "  - {id: b.v2, feed: {kind: sql, url: 'sqlite:///x.db', table: t, "
        "gap_timeout_seconds: 5}}\n"
    )
    (tmp_path / "monitors.yaml").write_text(
        "monitors:\n  - {monitor_id: m, project_id: a, allow_retrain: true}\n"
    )
    monkeypatch.setenv("VERIFILY_MODELS_CONFIG", str(p))
    monkeypatch.setenv("VERIFILY_MONITORS_CONFIG", str(tmp_path / "monitors.yaml"))
    monkeypatch.setenv("VERIFILY_SENSOR_INTERVAL_SECONDS", "2")
    sensors, resources = automation(RETRAIN_TARGET)
    by_name = {s.name: s for s in sensors}
    assert {"record_count_a", "record_count_b_v2", "monitor_m", "job_events_failed"} <= set(by_name)
    assert by_name["record_count_a"].minimum_interval_seconds == 2
    assert isinstance(resources["feed_a"], JsonlFeedFetcher)
    assert isinstance(resources["feed_b_v2"], SqlFeedFetcher)
    assert resources["feed_b_v2"].table == "t"
    assert resources["feed_b_v2"].gap_timeout_seconds == 5
