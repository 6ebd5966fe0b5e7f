"""The models configuration: parsing, defaults, clear errors, one sensor per model."""

import re
import textwrap

import dagster as dg
import pytest

from resources.feeds import JsonlFeedFetcher, Neo4jFeedFetcher, SqlFeedFetcher
from sensors.automation import automation
from tests.support.examples import REPO
from verifily.config.graph_feed import GraphFeedSpec
from verifily.config.models import load_models_config
from verifily.errors import InputError
from verifily.feeds.graph_cypher import GraphQueries
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


def test_neo4j_feed_defaults_and_layout(tmp_path):
    p = tmp_path / "models.yaml"
    p.write_text(
        "models:\n"
        "  - {id: g, feed: {kind: neo4j}}\n"
        "  - id: h\n"
        "    feed:\n"
        "      kind: neo4j\n"
        "      uri_env: IG_URI\n"
        "      user_env: IG_USER\n"
        "      password_env: IG_PASSWORD\n"
        "      database: intelgraph\n"
        "      label: Document\n"
        "      job_label: FeedRun\n"
        "      job_property: feed_run\n"
        "      properties: {input: text, output: category, id: uid, meta: [source]}\n"
        "      completion_grace_seconds: 60\n"
    )
    g, h = load_models_config(p).models
    assert g.feed.kind == "neo4j" and g.min_records == 50
    d = g.feed.graph
    assert (d.uri_env, d.user_env, d.password_env) == ("NEO4J_URI", "NEO4J_USER", "NEO4J_PASSWORD")
    assert d.database is None and d.completion_grace_seconds == 300
    q = d.queries
    assert (q.label, q.job_label, q.job_property) == ("Entity", "IngestionJob", "ingestion_job")
    assert (q.mapping.input, q.mapping.output, q.mapping.id, q.mapping.meta) == (
        "input", "output", "id", ()
    )  # fmt: skip
    e = h.feed.graph
    assert (e.uri_env, e.database, e.completion_grace_seconds) == ("IG_URI", "intelgraph", 60)
    assert (e.queries.label, e.queries.job_label, e.queries.job_property) == (
        "Document", "FeedRun", "feed_run"
    )  # fmt: skip
    assert e.queries.mapping.meta == ("source",) and e.queries.mapping.input == "text"


@pytest.mark.parametrize(
    "feed,message",
    [
        ("{kind: neo4j, password: hunter2}", "'password' from the environment only.*password_env"),
        ("{kind: neo4j, uri: 'bolt://x'}", "'uri' from the environment only.*uri_env"),
        ("{kind: neo4j, user_env: 'not a name'}", "user_env must name an environment variable"),
        ("{kind: neo4j, path: x}", "unknown key\\(s\\) path"),
        ("{kind: neo4j, label: ''}", "label must be a non-empty name"),
        ("{kind: neo4j, database: ''}", "database must be a database name"),
        ("{kind: neo4j, properties: {text: x}}", "unknown record field\\(s\\) text"),
        ("{kind: neo4j, properties: {meta: source}}", "meta must be a list of property names"),
        ("{kind: neo4j, completion_grace_seconds: -1}", "completion_grace_seconds must be"),
    ],
)
def test_bad_neo4j_feed_names_the_key(tmp_path, feed, message):
    p = tmp_path / "models.yaml"
    p.write_text(f"models:\n  - {{id: g, feed: {feed}}}\n")
    with pytest.raises(InputError, match=message):
        load_models_config(p)


def test_neo4j_feed_resource_reads_its_secrets_from_the_environment_at_use(tmp_path, monkeypatch):
    p = tmp_path / "models.yaml"
    p.write_text(
        "models:\n  - {id: g, feed: {kind: neo4j, uri_env: G_URI, password_env: G_PW, "
        "database: graphs, label: Doc, properties: {meta: [a, b]}}}\n"
    )
    (tmp_path / "monitors.yaml").write_text("monitors: []\n")
    monkeypatch.setenv("VERIFILY_MODELS_CONFIG", str(p))
    monkeypatch.setenv("VERIFILY_MONITORS_CONFIG", str(tmp_path / "monitors.yaml"))
    _, resources = automation(RETRAIN_TARGET)
    r = resources["feed_g"]
    assert isinstance(r, Neo4jFeedFetcher)
    # Environment variable references, not their values: the definitions hold no secret.
    assert r.uri == dg.EnvVar("G_URI") and r.password == dg.EnvVar("G_PW")
    assert r.user == dg.EnvVar("NEO4J_USER")
    assert (r.database, r.label, r.meta_properties) == ("graphs", "Doc", ["a", "b"])


def _yaml_blocks(text: str) -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", text, flags=re.S)


def test_the_documented_neo4j_feed_entries_parse(tmp_path):
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("### Neo4j feeds") :]
    (entry,) = _yaml_blocks(section)[:1]
    p = tmp_path / "models.yaml"
    p.write_text("models:\n  - id: g\n" + entry)
    spec = load_models_config(p).models[0].feed.graph
    assert spec == GraphFeedSpec()  # the README shows the defaults
    guide = (REPO / "deploy" / "README.md").read_text()
    guide = guide[guide.index("## Retraining from a Neo4j feed") :]
    models = [b for b in _yaml_blocks(guide) if "models:" in b]
    p.write_text(textwrap.dedent(models[0]))
    (model,) = load_models_config(p).models
    assert model.feed.kind == "neo4j" and model.feed.graph.database == "intelgraph"
    # The index statements both guides give are the feed's own (which it prints when missing).
    for doc in (readme, guide):
        for statement in GraphQueries().index_statements():
            assert statement.replace("`", "") + ";" in doc
