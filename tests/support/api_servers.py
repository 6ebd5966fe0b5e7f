"""Real servers for the API tests: `verifily serve` and `dagster-daemon` (what a service
deployment runs), and a dagster-webserver only where a test compares with Dagster's own
GraphQL submission.

Each runs as a subprocess (its own process group) with a private DAGSTER_HOME whose instance
evaluates sensors in threads and uses the queued run coordinator, so queued jobs are started by
the code location's api_jobs sensors and launched by the daemon as in production.
"""

from __future__ import annotations

import copy
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
import yaml

from tests.support.postgres import dagster_storage, new_database

REPO = Path(__file__).resolve().parents[2]
IRIS = REPO / "examples" / "iris" / "artifact"
BIN = Path(sys.executable).parent

# The instance the README recommends for the jobs API, with the run monitor's start timeout
# shortened so that a launch cut off by a crash is retried within a test's patience.
API_INSTANCE = yaml.safe_load((REPO / "config" / "dagster-api.yaml").read_text())


def instance_settings(home: Path, max_runs: int, consolidated_events: bool) -> dict:
    """dagster.yaml of a test stack: config/dagster-api.yaml, `max_runs` at a time."""
    settings = copy.deepcopy(API_INSTANCE)
    settings["run_coordinator"]["config"]["max_concurrent_runs"] = max_runs
    settings["run_monitoring"].update(start_timeout_seconds=60, poll_interval_seconds=5)
    if consolidated_events:
        # One SQLite event database for all runs, as Postgres is in production. The default
        # shards it per run, and creating and migrating one database per run costs every run
        # (and every run creation) ~0.2 s of I/O.
        settings["event_log_storage"] = {
            "module": "dagster.core.storage.event_log",
            "class": "ConsolidatedSqliteEventLogStorage",
            "config": {"base_dir": str(home / "history" / "events")},
        }
    return settings


def _crashing(point: str, sig: str) -> list[str]:
    return [sys.executable, "-m", "tests.support.crashing_servers", point, sig, "--"]


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


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
    repo: Path = REPO
    # Process groups of servers that were killed alone; what they started is ended at stop().
    orphans: list = field(default_factory=list)

    def start(self, name: str, args: list[str], env: dict | None = None) -> subprocess.Popen:
        log = self.logs / f"{name}.log"
        proc = subprocess.Popen(
            args,
            env=env or self.env,
            cwd=self.repo,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs.append((name, proc, log))
        return proc

    def proc(self, name: str) -> subprocess.Popen:
        return next(p[1] for p in self.procs if p[0] == name)

    def kill(
        self, name: str, sig: int = signal.SIGKILL, timeout: float = 30, group: bool = True
    ) -> None:
        """Send `sig` to the server's process group (or, `group=False`, to the server alone,
        as a crash of that one process: what it started lives on, e.g. run workers) and wait
        for the server to exit."""
        entry = next(p for p in self.procs if p[0] == name)
        pid = entry[1].pid
        try:
            os.killpg(pid, sig) if group else os.kill(pid, sig)
        except ProcessLookupError:
            pass
        try:
            entry[1].wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(pid, signal.SIGKILL)
            entry[1].wait()
        self.procs.remove(entry)
        if group:
            # What the server started and left behind (e.g. a run worker mid-run) goes too.
            _kill_group(pid)
        else:
            self.orphans.append(pid)

    def kill_api(self) -> None:
        """SIGKILL the API: no chance to finish anything it had accepted."""
        self.kill("api")

    def start_api(self, crash: tuple[str, str] | None = None) -> None:
        """Start the API (again) on its port and wait until it answers; `crash` (point,
        signal) starts it under tests.support.crashing_servers."""
        args = self.api_args
        if crash:
            args = [*_crashing(*crash), *args[1:]]  # args[1:] is `-m verifily serve ...`
        proc = self.start("api", args, env=self.api_env)
        wait_http(self.api_url + "/health", 60, proc, self.logs / "api.log")

    def start_daemon(self, crash: tuple[str, str] | None = None) -> None:
        """Start dagster-daemon (again) on the stack's workspace, optionally under
        tests.support.crashing_servers."""
        args = [str(BIN / "dagster-daemon"), "run", "-w", self.workspace]
        self.start("daemon", [*_crashing(*crash), *args] if crash else args)

    @property
    def workspace(self) -> str:
        return str(self.home / "workspace.yaml")

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
        for _name, proc, _log in self.procs:
            _kill_group(proc.pid)
        for pgid in self.orphans:
            _kill_group(pgid)
        self.procs.clear()
        self.orphans.clear()


def make_stack(
    tmp: Path,
    *,
    daemon: bool = True,
    webserver: bool = False,
    api_env: dict | None = None,
    max_runs: int = 2,
    consolidated_events: bool = False,
    extra_env: dict | None = None,
    repo: Path = REPO,
    api: bool = True,
    postgres: str | None = None,
) -> Stack:
    """Start the daemon (and a webserver if asked), then the API; everything under `tmp`.
    `repo` is the checkout whose code the servers run (a reference release, for benchmarks);
    with a webserver, the API is told where it is (earlier releases needed it). `postgres`
    (a server URL from the postgres_url fixture) puts the Dagster instance and the jobs
    database on PostgreSQL, as production runs them."""
    root = tmp / "data"
    home = tmp / "dagster_home"
    logs = tmp / "logs"
    for d in (root, home, logs):
        d.mkdir(parents=True, exist_ok=True)
    shutil.copytree(IRIS, root / "iris")
    settings = instance_settings(home, max_runs, consolidated_events and not postgres)
    jobs_db = {}
    if postgres:
        settings.update(dagster_storage(postgres))
        jobs_db = {"VERIFILY_JOBS_DB_URL": new_database(postgres)}
    (home / "dagster.yaml").write_text(yaml.safe_dump(settings, sort_keys=False))
    (home / "workspace.yaml").write_text(
        "load_from:\n  - python_module:\n      module_name: verifily_assets.definitions\n"
        f"      working_directory: {repo}\n"
    )
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(repo), os.environ.get("PYTHONPATH")])),
        "VERIFILY_DATA_ROOTS": str(root),
        "VERIFILY_OUTPUT_ROOT": str(root / "runs"),
        **jobs_db,
        **(extra_env or {}),
    }
    env.pop("VERIFILY_API_KEY", None)
    # Create the SQLite storages once, here: servers starting together would race on the
    # schema migration ("more than one head present").
    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.get_runs(limit=1)
        instance.get_dynamic_partitions("model_id")
    stack = Stack(root=root, home=home, env=env, logs=logs, repo=repo)
    try:
        if daemon:
            stack.start_daemon()
        if webserver:
            port = free_port()
            web = stack.start(
                "webserver",
                [
                    *(str(BIN / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port)),
                    *("-w", stack.workspace),
                ],
            )
            stack.dagster_url = f"http://127.0.0.1:{port}"
            wait_http(stack.dagster_url + "/server_info", 120, web, logs / "webserver.log")
            api_env = {
                "VERIFILY_DAGSTER_URL": stack.dagster_url,
                "VERIFILY_DAGSTER_LOCATION": "verifily_assets.definitions",
                **(api_env or {}),
            }
        if not api:
            return stack
        api_port = free_port()
        stack.api_args = [sys.executable, "-m", "verifily", "serve", "--port", str(api_port)]
        stack.api_env = {**env, **(api_env or {})}
        stack.api_url = f"http://127.0.0.1:{api_port}"
        stack.start_api()
    except BaseException:
        stack.stop()
        raise
    return stack
