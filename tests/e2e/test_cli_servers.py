"""`verifily serve`, `verifily ui` and `verifily mlflow` started in the background by a
non-interactive shell (which makes them ignore SIGINT) stop, with every process they started,
within 10 s of SIGTERM or SIGINT; the MLflow link of a retrain on the embedded store opens in
the UI `verifily mlflow` serves."""

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.support.api_servers import free_port
from tests.support.examples import IRIS, REPO
from tests.support.outbox import jobs_db_of, wait_drained_or_failed
from tests.support.procs import alive, descendants, kill_all, wait_gone
from verifily.tracking.outbox import TrackingOutbox

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
VERIFILY = str(Path(sys.executable).with_name("verifily"))
STOP_WITHIN = 10.0


def background(cmd: list[str], env: dict, log: Path) -> int:
    """Start `cmd` as a script does with `cmd &`: no job control, so SIGINT is ignored."""
    out = subprocess.run(
        ["bash", "-c", '"$@" >"$LOG" 2>&1 & echo $!', "_", *cmd],
        env={**env, "LOG": str(log)},
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return int(out.stdout.strip())


def ignores_sigint(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status").read_text()
    mask = int(next(x for x in status.splitlines() if x.startswith("SigIgn:")).split()[1], 16)
    return bool(mask & (1 << (signal.SIGINT - 1)))


def wait_url(url: str, pid: int, log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert alive({pid}), f"exited early:\n{log.read_text()[-3000:]}"
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} not up after {timeout}s:\n{log.read_text()[-3000:]}")


@pytest.fixture
def env(tmp_path):
    home = tmp_path / "dagster_home"
    data = tmp_path / "data"
    home.mkdir()
    shutil.copytree(IRIS, data / "iris")
    shutil.copy(REPO / "config" / "dagster-api.yaml", home / "dagster.yaml")
    return {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "VERIFILY_DATA_ROOTS": str(data),
        "VERIFILY_MLFLOW_ENABLED": "0",
        "PYTHONPATH": str(REPO),
    }


def test_a_backgrounded_command_ignores_sigint_here(tmp_path, env):
    """The set-up below reproduces what a script does: prove it on a plain process."""
    pid = background(["sleep", "30"], env, tmp_path / "sleep.log")
    try:
        assert ignores_sigint(pid)
    finally:
        os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_stops_within_10s_even_with_a_sync_retrain_in_flight(tmp_path, env, sig):
    port = free_port()
    log = tmp_path / "serve.log"
    pid = background([VERIFILY, "serve", "-p", str(port)], env, log)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_url(f"{url}/health", pid, log)
        assert ignores_sigint(pid) is False  # uvicorn handles SIGINT itself
        # A sync retrain keeps a worker thread busy for seconds: it must not hold the exit.
        threading.Thread(
            target=lambda: requests.post(
                f"{url}/v1/retrain", json={"dataset_dir": "iris"}, timeout=120
            ),
            daemon=True,
        ).start()
        time.sleep(1.0)
        t0 = time.monotonic()
        os.kill(pid, sig)
        assert not wait_gone({pid}, STOP_WITHIN), log.read_text()[-2000:]
        print(f"\nserve stopped {time.monotonic() - t0:.1f}s after {sig.name}")
    finally:
        kill_all({pid})


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_ui_stops_with_its_webserver_daemon_and_code_servers_within_10s(tmp_path, env, sig):
    port = free_port()
    log = tmp_path / "ui.log"
    pid = background([VERIFILY, "ui", "--host", "127.0.0.1", "-p", str(port)], env, log)
    started: set[int] = set()
    try:
        wait_url(f"http://127.0.0.1:{port}/server_info", pid, log, timeout=180)

        def daemon_and_code_servers() -> bool:
            cmds = [Path(f"/proc/{p}/cmdline").read_bytes() for p in alive(descendants(pid))]
            return any(b"dagster-daemon" in c for c in cmds) and (
                sum(b"api\x00grpc" in c for c in cmds) >= 2  # the webserver's and the daemon's
            )

        deadline = time.monotonic() + 120
        while not daemon_and_code_servers():
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.5)
        started = descendants(pid)
        t0 = time.monotonic()
        os.kill(pid, sig)
        left = wait_gone({pid, *started}, STOP_WITHIN)
        assert not left, {p: Path(f"/proc/{p}/cmdline").read_bytes()[:200] for p in left}
        took = time.monotonic() - t0
        print(f"\nui and {len(started)} processes stopped {took:.1f}s after {sig.name}")
    finally:
        kill_all({pid, *started, *descendants(pid)})


def test_the_mlflow_link_of_an_embedded_store_opens_in_verifily_mlflow(tmp_path, env):
    port = free_port()
    ui_url = f"http://127.0.0.1:{port}"
    env = {**env, "VERIFILY_MLFLOW_ENABLED": "1", "VERIFILY_MLFLOW_UI_URL": ui_url}
    for key in ("MLFLOW_TRACKING_URI", "MLFLOW_ARTIFACT_URI", "VERIFILY_MLFLOW_CONFIG"):
        env.pop(key, None)
    env["VERIFILY_STATE_DIR"] = str(tmp_path / "state")
    retrain = subprocess.run(
        [VERIFILY, "retrain", "--dataset", str(IRIS), "--out", str(tmp_path / "runs")],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert retrain.returncode in (0, 1, 3), retrain.stderr[-3000:]
    # The detached drainer opens the MLflow run after the decision is printed; its link is
    # the outbox's record of it (and the decision's observation under a daemon).
    dagster_run = next(x for x in retrain.stdout.splitlines() if x.startswith("Dagster run: "))
    home = Path(env["DAGSTER_HOME"]) if env.get("DAGSTER_HOME") else tmp_path / ".verifily/dagster"
    wait_drained_or_failed(jobs_db_of(home))
    started = TrackingOutbox(jobs_db_of(home)).result_of(dagster_run.split()[2], "start")
    assert started is not None, "the detached drainer did not open the MLflow run"
    link = started["url"]
    assert (
        link.startswith(f"{ui_url}/#/experiments/") and "verifily mlflow" in started["open_with"]
    ), started
    run_id = link.rsplit("/", 1)[1]

    log = tmp_path / "mlflow.log"
    pid = background([VERIFILY, "mlflow", "-p", str(port)], env, log)
    try:
        wait_url(f"{ui_url}/health", pid, log, timeout=180)
        page = requests.get(link, timeout=30)  # the browser asks for the page; '#...' is local
        assert page.status_code == 200 and "<html" in page.text.lower()
        got = requests.get(
            f"{ui_url}/api/2.0/mlflow/runs/get", params={"run_id": run_id}, timeout=30
        ).json()
        info = got["run"]["info"]
        assert info["run_id"] == run_id and link.split("/")[-3] == info["experiment_id"]
        started = descendants(pid)
        os.kill(pid, signal.SIGTERM)
        assert not wait_gone({pid, *started}, STOP_WITHIN), log.read_text()[-2000:]
    finally:
        kill_all({pid, *descendants(pid)})
