"""Real servers for the API tests: dagster-webserver, dagster-daemon and `verifily serve`.

Each runs as a subprocess on a free loopback port with a private DAGSTER_HOME whose instance
uses the queued run coordinator, so queued jobs are launched by the daemon as in production.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import requests

REPO = Path(__file__).resolve().parents[2]
IRIS = REPO / "examples" / "iris" / "artifact"
BIN = Path(sys.executable).parent

DAGSTER_YAML = """\
telemetry:
  enabled: false
{event_log}run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
  config:
    # Two cores: two run workers at a time keep the machine responsive.
    max_concurrent_runs: {max_runs}
    dequeue_interval_seconds: 1
    # Launch in threads: starting a run blocks until its worker process is up (~1-3 s), and
    # launching one run at a time would leave free slots idle meanwhile.
    dequeue_use_threads: true
    dequeue_num_workers: 4
    # One run per model at a time: runs of one partition share the IO manager's storage
    # paths, so concurrent runs of the same model would read each other's outputs.
    tag_concurrency_limits:
      - key: dagster/partition
        value:
          applyLimitPerUniqueValue: true
        limit: 1
"""
# One SQLite event database for all runs, as Postgres is in production. The default shards it
# per run, and creating and migrating one database per run costs every run (and every run
# creation) ~0.2 s of I/O.
CONSOLIDATED_EVENT_LOG = """\
event_log_storage:
  module: dagster.core.storage.event_log
  class: ConsolidatedSqliteEventLogStorage
  config:
    base_dir: {home}/history/events
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"{url}: server exited {proc.returncode}:\n{log.read_text()[-3000:]}"
            )
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} not up after {timeout}s:\n{log.read_text()[-3000:]}")


@dataclass
class Stack:
    """A running set of servers on one DAGSTER_HOME and one data root."""

    root: Path
    home: Path
    env: dict
    api_url: str = ""
    dagster_url: str | None = None
    procs: list = field(default_factory=list)
    logs: Path | None = None
    api_args: list = field(default_factory=list)
    api_env: dict = field(default_factory=dict)

    def start(self, name: str, args: list[str], env: dict | None = None) -> subprocess.Popen:
        log = self.logs / f"{name}.log"
        proc = subprocess.Popen(
            args,
            env=env or self.env,
            cwd=REPO,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs.append((name, proc, log))
        return proc

    def kill_api(self) -> None:
        """SIGKILL the API: no chance to finish anything it had accepted."""
        entry = next(p for p in self.procs if p[0] == "api")
        os.killpg(entry[1].pid, signal.SIGKILL)
        entry[1].wait()
        self.procs.remove(entry)

    def start_api(self) -> None:
        """Start the API (again) on its port and wait until it answers."""
        proc = self.start("api", self.api_args, env=self.api_env)
        wait_http(self.api_url + "/health", 60, proc, self.logs / "api.log")

    def stop(self) -> None:
        for _name, proc, _log in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for _name, proc, _log in reversed(self.procs):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def make_stack(
    tmp: Path,
    *,
    dagster: bool,
    daemon: bool = True,
    api_env: dict | None = None,
    max_runs: int = 2,
    consolidated_events: bool = False,
    extra_env: dict | None = None,
) -> Stack:
    """Start (optionally) webserver + daemon, then the API; everything under `tmp`."""
    root = tmp / "data"
    home = tmp / "dagster_home"
    logs = tmp / "logs"
    for d in (root, home, logs):
        d.mkdir(parents=True, exist_ok=True)
    shutil.copytree(IRIS, root / "iris")
    event_log = CONSOLIDATED_EVENT_LOG.format(home=home) if consolidated_events else ""
    (home / "dagster.yaml").write_text(DAGSTER_YAML.format(max_runs=max_runs, event_log=event_log))
    (home / "workspace.yaml").write_text(
        "load_from:\n  - python_module:\n      module_name: verifily_assets.definitions\n"
        f"      working_directory: {REPO}\n"
    )
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        "VERIFILY_DATA_ROOTS": str(root),
        "VERIFILY_OUTPUT_ROOT": str(root / "runs"),
        **(extra_env or {}),
    }
    env.pop("VERIFILY_API_KEY", None)
    # Create the SQLite storages once, here: servers starting together would race on the
    # schema migration ("more than one head present").
    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.get_runs(limit=1)
        instance.get_dynamic_partitions("model_id")
    stack = Stack(root=root, home=home, env=env, logs=logs)
    try:
        if dagster:
            ws = str(home / "workspace.yaml")
            port = free_port()
            web = stack.start(
                "webserver",
                [str(BIN / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port), "-w", ws],
            )
            if daemon:
                stack.start("daemon", [str(BIN / "dagster-daemon"), "run", "-w", ws])
            stack.dagster_url = f"http://127.0.0.1:{port}"
            wait_http(stack.dagster_url + "/server_info", 120, web, logs / "webserver.log")
            env["VERIFILY_DAGSTER_URL"] = stack.dagster_url
            env["VERIFILY_DAGSTER_LOCATION"] = "verifily_assets.definitions"
        api_port = free_port()
        stack.api_args = [sys.executable, "-m", "verifily", "serve", "--port", str(api_port)]
        stack.api_env = {**env, **(api_env or {})}
        stack.api_url = f"http://127.0.0.1:{api_port}"
        stack.start_api()
    except BaseException:
        stack.stop()
        raise
    return stack
