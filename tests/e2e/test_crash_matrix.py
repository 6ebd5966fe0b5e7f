"""The crash-injection matrix under a real dagster-daemon: killed (SIGKILL) or stopped (SIGTERM)
at each point of a sensor tick, restarted, the record-count sensor gives exactly one run per
window, skips no window and puts no record in two windows (JSONL and PostgreSQL feeds), and a
monitor requests exactly one retrain per SHIP decision.

Points, as Dagster's test_sensor_failure_recovery.py names them:
- EVALUATING: the tick is created and held, the sensor is evaluating (a watching tick that has
  too few records); the daemon's whole process group is signalled from outside;
- RUN_CREATED: the tick's run exists, not yet submitted; RUN_LAUNCHED: submitted, the tick not
  yet finished (its cursor not stored). Both crash the daemon from inside its own process
  (tests/support/crashing_coordinator.py), once.
After each crash more records arrive before the restart, so a tick that re-read the feed from
a stale cursor would cut a longer, overlapping window instead of the one it requested.
"""

import signal
import time
from pathlib import Path

import dagster as dg
import pytest

from tests.support.crashing_coordinator import POINTS, write_crash_instance
from tests.support.daemon import Daemon, runs_with, sensor_ticks, wait_for
from tests.support.examples import IRIS
from tests.support.feeds import append_jsonl, records
from tests.support.materialize import materialize_retrain
from tests.support.postgres import new_database
from verifily.dataset.artifact import iter_records
from verifily.feeds.sql import append_records, create_feed_table

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

MODEL = "crashme"
SENSOR = f"record_count_{MODEL}"
SIGNALS = ["SIGKILL", "SIGTERM"]


class Feed:
    """One model's feed: a JSONL directory or a PostgreSQL table, appended like producers do."""

    def __init__(self, kind: str, tmp: Path, postgres_url: str | None):
        self.kind, self.n = kind, 0
        if kind == "jsonl":
            self.path = tmp / "feed"
            self.path.mkdir()
            self.spec = "{kind: jsonl, path: feed}"
        else:
            assert postgres_url
            self.url = new_database(postgres_url)
            create_feed_table(self.url)
            self.spec = "{kind: sql, url_env: TEST_FEED_URL}"

    def append(self, n: int) -> None:
        recs = records(self.n, n, prefix="r")
        if self.kind == "jsonl":
            append_jsonl(self.path / "part-0.jsonl", recs)
        else:
            append_records(self.url, recs, f"ingest-{self.n}")
        self.n += n


def start(home: Path, tmp: Path, feed: Feed | None, n: int) -> Daemon:
    env = {
        "VERIFILY_MODELS_CONFIG": str(tmp / "models.yaml"),
        "VERIFILY_MONITORS_CONFIG": str(tmp / "monitors.yaml"),
        "VERIFILY_SENSOR_INTERVAL_SECONDS": "1",
        "VERIFILY_OUTPUT_ROOT": str(tmp / "runs"),
        **({"TEST_FEED_URL": feed.url} if feed is not None and feed.kind == "sql" else {}),
    }
    return Daemon(home, env, tmp / f"daemon-{n}.log").start()


def crashed(daemon: Daemon, timeout: float = 90) -> int:
    """Wait for the daemon process to exit by itself (it crashed, or shut down on SIGTERM)."""
    assert daemon.proc is not None
    return daemon.proc.wait(timeout=timeout)


def windows(instance: dg.DagsterInstance) -> list[dict]:
    """Every run of the model: its window, run key, and the record ids its snapshot holds."""
    out = []
    for rec in runs_with(instance, **{"verifily/model_id": MODEL}):
        run = rec.dagster_run
        ds = run.run_config["ops"]["dataset_artifact"]["config"]["dataset_dir"]  # type: ignore[index]
        out.append(
            {
                "from": int(run.tags["verifily/window_from"]),
                "to": int(run.tags["verifily/window_to"]),
                "run_key": run.tags["dagster/run_key"],
                "ids": [r["id"] for r in iter_records(ds)],
                "status": run.status.value,
            }
        )
    return sorted(out, key=lambda w: w["from"])


def covered(instance: dg.DagsterInstance, total: int) -> list[dict] | None:
    ws = windows(instance)
    return ws if ws and max(w["to"] for w in ws) >= total else None


def assert_exactly_once(ws: list[dict], total: int) -> None:
    """One run per window, windows back to back from 0 to `total`, every record in exactly one
    window (its snapshot), nothing else."""
    keys = [w["run_key"] for w in ws]
    assert len(keys) == len(set(keys)), f"a window got two runs: {ws}"
    bounds = [(w["from"], w["to"]) for w in ws]
    assert bounds[0][0] == 0 and bounds[-1][1] == total, bounds
    for (_, a_to), (b_from, _) in zip(bounds, bounds[1:], strict=False):
        assert a_to == b_from, f"windows overlap or leave a gap: {bounds}"
    ids = [i for w in ws for i in w["ids"]]
    assert sorted(ids) == sorted(f"r{i}" for i in range(total)), "a record in two windows or none"
    for w in ws:
        assert w["ids"] == [f"r{i}" for i in range(w["from"], w["to"])], w


def settled(instance: dg.DagsterInstance, since: float, daemon: Daemon) -> None:
    """Two more finished ticks after `since`: any late duplicate would have been requested."""
    wait_for(
        lambda: sum(
            t.timestamp > since and t.status.value != "STARTED"
            for t in sensor_ticks(instance, SENSOR)
        ) >= 2,
        60, "two more sensor ticks", daemon,
    )  # fmt: skip


def write_config(tmp: Path, feed: Feed, watch: float) -> None:
    (tmp / "monitors.yaml").write_text("monitors: []\n")
    (tmp / "models.yaml").write_text(
        "autostart: true\n"
        f"tick_watch_seconds: {watch}\n"
        "snapshot_root: snapshots\n"
        f"models:\n  - {{id: {MODEL}, feed: {feed.spec}, min_records: 50}}\n"
    )


@pytest.mark.parametrize("sig", SIGNALS)
@pytest.mark.parametrize("point", [*POINTS, "EVALUATING"])
@pytest.mark.parametrize("kind", ["jsonl", "sql"])
def test_record_count_sensor_exactly_once_across_a_crash(
    tmp_path, postgres_url, monkeypatch, kind, point, sig
):
    home = tmp_path / "home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    marker = tmp_path / "crashed"
    write_crash_instance(home, point if point in POINTS else None, sig, marker)
    feed = Feed(kind, tmp_path, postgres_url if kind == "sql" else None)
    # EVALUATING holds a tick open by watching a feed with too few records.
    write_config(tmp_path, feed, watch=20 if point == "EVALUATING" else 0)
    instance = dg.DagsterInstance.get()
    daemons = [start(home, tmp_path, feed, 0)]
    try:
        if point == "EVALUATING":
            feed.append(30)

            def watching():
                ticks = sensor_ticks(instance, SENSOR, limit=1)
                return (
                    ticks
                    and ticks[0].status.value == "STARTED"
                    and (time.time() - ticks[0].timestamp > 1.0)
                )

            wait_for(watching, 120, "a tick watching the feed", daemons[0])
            daemons[0].send(getattr(signal, sig))
            crashed(daemons[0])
            assert windows(instance) == []  # nothing was requested before the signal
        else:
            feed.append(50)
            crashed(daemons[0])
            where, how, run_id, _ = marker.read_text().split()
            assert (where, how) == (point, sig)
            run = instance.get_run_by_id(run_id)
            assert run is not None and run.tags["verifily/window_to"] == "50"
        daemons[0].reap()
        feed.append(50)  # arrives while the daemon is down: a stale re-read would overlap
        total = feed.n
        # The restarted daemon does not hold its ticks: each would watch the feed for 20 s
        # (once the window is cut, two ticks find nothing new before the test can settle).
        write_config(tmp_path, feed, watch=0)
        daemons.append(start(home, tmp_path, feed, 1))
        ws = wait_for(lambda: covered(instance, total), 180, f"runs up to {total}", daemons[1])
        settled(instance, time.time(), daemons[1])
        ws = windows(instance)
        print(f"{kind} {point} {sig}: windows {[(w['from'], w['to'], w['status']) for w in ws]}")
        assert_exactly_once(ws, total)
    finally:
        for d in daemons:
            d.stop()
            d.reap()
        instance.dispose()


@pytest.mark.parametrize("sig", SIGNALS)
@pytest.mark.parametrize("point", POINTS)
def test_monitor_requests_one_retrain_per_ship_decision_across_a_crash(
    tmp_path, mlflow_env, monkeypatch, point, sig
):
    home = tmp_path / "home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    marker = tmp_path / "crashed"
    write_crash_instance(home, point, sig, marker)
    (tmp_path / "models.yaml").write_text("autostart: true\nmodels: []\n")
    (tmp_path / "monitors.yaml").write_text(
        "monitors:\n"
        "  - {monitor_id: iris_monitor, project_id: iris, allow_retrain: true,\n"
        f"     retrain_dataset_dir: {IRIS}}}\n"
    )
    instance = dg.DagsterInstance.get()
    monitor_runs = lambda: runs_with(instance, **{"verifily/trigger": "monitor"})  # noqa: E731
    daemons = []
    try:
        first = materialize_retrain(instance, IRIS, tmp_path / "manual", seed=38)
        daemons.append(start(home, tmp_path, None, 0))
        crashed(daemons[0])
        assert marker.read_text().split()[:2] == [point, sig]
        assert [r.dagster_run.tags["verifily/source_run_id"] for r in monitor_runs()] == [
            first.run_id
        ]
        daemons[0].reap()
        # A second SHIP decision while the daemon is down: one retrain for each, never two.
        second = materialize_retrain(instance, IRIS, tmp_path / "manual", seed=38)
        daemons.append(start(home, tmp_path, None, 1))
        wait_for(lambda: len(monitor_runs()) >= 2, 120, "the second retrain", daemons[1])
        since = time.time()
        wait_for(
            lambda: sum(
                t.timestamp > since and t.status.value != "STARTED"
                for t in sensor_ticks(instance, "monitor_iris_monitor")
            ) >= 2,
            60, "two more monitor ticks", daemons[1],
        )  # fmt: skip
        sources = sorted(r.dagster_run.tags["verifily/source_run_id"] for r in monitor_runs())
        assert sources == sorted([first.run_id, second.run_id]), sources
    finally:
        for d in daemons:
            d.stop()
            d.reap()
        instance.dispose()
