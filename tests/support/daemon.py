"""A real `dagster-daemon` for tests and benchmarks, on a private DAGSTER_HOME.

The instance uses the settings config/dagster-daemon.yaml recommends (sensors in threads, runs
launched directly), so a sensor's run request reaches a run worker as fast as the daemon's
loop allows.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import yaml

REPO = Path(__file__).resolve().parents[2]
# The instance settings the README recommends for low trigger latency (direct launch).
RECOMMENDED = yaml.safe_load((REPO / "config" / "dagster-daemon.yaml").read_text())
# The run-queue alternative, as the helm chart and jobs API deployments use it: one run per
# model at a time, dequeued every second (the shortest interval Dagster accepts).
QUEUED = {
    **RECOMMENDED,
    "run_coordinator": {
        "module": "dagster.core.run_coordinator",
        "class": "QueuedRunCoordinator",
        "config": {
            "dequeue_interval_seconds": 1,
            "tag_concurrency_limits": [
                {
                    "key": "dagster/partition",
                    "value": {"applyLimitPerUniqueValue": True},
                    "limit": 1,
                }
            ],
        },
    },
}


def write_instance(home: Path, queued: bool = False, storage: dict | None = None) -> None:
    """dagster.yaml under `home`: the recommended settings, or the run-queue alternative;
    `storage` (tests.support.postgres.dagster_storage) puts the instance on PostgreSQL."""
    home.mkdir(parents=True, exist_ok=True)
    settings = {
        "telemetry": {"enabled": False},
        **(QUEUED if queued else RECOMMENDED),
        **(storage or {}),
    }
    (home / "dagster.yaml").write_text(yaml.safe_dump(settings, sort_keys=False))
    # Create the SQLite storages once, here: the daemon, its code server and the test opening
    # the instance at once would race on the schema migration ("more than one head present").
    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.get_runs(limit=1)
        instance.get_dynamic_partitions("model_id")


class Daemon:
    """`dagster-daemon run` on the repo's workspace.yaml, in its own process group."""

    def __init__(self, home: Path, env: dict[str, str], log: Path):
        self.home, self.env, self.log = home, env, log
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Daemon":
        env = {
            **os.environ,
            "DAGSTER_HOME": str(self.home),
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p
            ),
            **self.env,
        }
        exe = Path(sys.executable).with_name("dagster-daemon")
        exe = str(exe) if exe.exists() else shutil.which("dagster-daemon")
        self.proc = subprocess.Popen(
            [exe, "run", "-w", str(REPO / "workspace.yaml")],
            cwd=REPO,
            env=env,
            stdout=open(self.log, "ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def kill(self) -> None:
        """SIGKILL the daemon and everything it started (code server, run workers)."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        """Ask the daemon to stop; kill it if it does not within 15 s."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def send(self, sig: int) -> None:
        """Send `sig` to the daemon and everything it started (its process group)."""
        if self.proc:
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass

    def reap(self) -> None:
        """SIGKILL what is left of the daemon's process group: after the daemon itself died
        (a crash), its code server and run workers live on until killed."""
        self.send(signal.SIGKILL)
        if self.proc:
            self.proc.wait(timeout=30)

    def tail(self, n: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-n:] if self.log.exists() else ""


def wait_for(predicate, timeout: float, what: str, daemon: Daemon | None = None, poll=0.2):
    """Poll until predicate() is truthy; fail with the daemon's log tail on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if daemon and daemon.proc and daemon.proc.poll() is not None:
            raise AssertionError(f"daemon exited while waiting for {what}:\n{daemon.tail()}")
        time.sleep(poll)
    raise AssertionError(
        f"timed out after {timeout}s waiting for {what}\n{daemon and daemon.tail()}"
    )


def runs_with(instance: dg.DagsterInstance, **tags: str) -> list[dg.RunRecord]:
    """Run records carrying all the given tags, newest first."""
    return list(instance.get_run_records(dg.RunsFilter(tags=tags)))


def sensor_ticks(instance: dg.DagsterInstance, name: str, limit: int = 200) -> list:
    """The recorded ticks of the sensor called `name`, newest first (none before its first)."""
    for state in instance.all_instigator_state():
        if state.instigator_name == name:
            return list(
                instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=limit)
            )
    return []
