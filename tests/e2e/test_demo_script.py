"""`bash scripts/demo_api_jobs_retrain.sh` (CI runs it here): the jobs API demo in one
command completes a sync and a queued retrain, and leaves nothing running, also on Ctrl-C."""

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.examples import REPO
from tests.support.procs import alive, kill_all, wait_gone

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SCRIPT = REPO / "scripts" / "demo_api_jobs_retrain.sh"


def processes_of(work: str) -> set[int]:
    """Processes running on the demo's Dagster home (the servers, code servers, run workers)."""
    marker = f"DAGSTER_HOME={work}/dagster".encode()
    found = set()
    for d in Path("/proc").iterdir():
        if d.name.isdigit() and int(d.name) != os.getpid():
            try:
                if marker in (d / "environ").read_bytes():
                    found.add(int(d.name))
            except OSError:
                continue
    return alive(found)


def start(tmp_path: Path) -> subprocess.Popen:
    return subprocess.Popen(
        ["bash", str(SCRIPT)],
        cwd=tmp_path,
        env={**os.environ, "TMPDIR": str(tmp_path)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        # A shell cannot trap a signal ignored when it starts, and a suite started in the
        # background of a script (`bash -c 'pytest ... &'`) inherits SIGINT ignored: without
        # this the script ignores the Ctrl-C below and exits 0 (reproduced that way).
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def test_the_demo_runs_a_sync_and_a_queued_retrain_and_stops_everything(tmp_path):
    proc = start(tmp_path)
    try:
        out, _ = proc.communicate(timeout=600)
    finally:
        os.killpg(proc.pid, signal.SIGKILL) if proc.poll() is None else None
    assert proc.returncode == 0, out[-4000:]
    work = re.search(r"demo: work directory (\S+)", out).group(1)  # type: ignore[union-attr]
    assert out.count("HTTP 200") >= 4 and "HTTP 202" in out
    assert re.search(r"SUCCEEDED \(dagster run [0-9a-f-]{36}\)", out), out[-3000:]
    assert '"decision": "SHIP"' in out or '"decision": "DONT_SHIP"' in out
    assert out.rstrip().endswith("demo: done") or "demo: done" in out
    assert not Path(work).exists(), "the work directory was left behind"
    assert not processes_of(work)


def test_ctrl_c_stops_everything_the_demo_started(tmp_path):
    proc = start(tmp_path)
    lines: list[str] = []
    work = ""
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            lines.append(line)
            if m := re.match(r"demo: work directory (\S+)", line):
                work = m.group(1)
            if line.startswith("== 2."):
                break
        assert work and processes_of(work), "".join(lines)
        started = processes_of(work)
        t0 = time.monotonic()
        # What Ctrl-C sends: SIGINT to the terminal's foreground process group, the script
        # and the command it is running (its servers have process groups of their own).
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=30)
        assert proc.returncode == 130, "".join(lines)
        assert not wait_gone(started, 10), "processes left after Ctrl-C"
        assert not processes_of(work)
        assert time.monotonic() - t0 < 15
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        if work:
            kill_all(processes_of(work))
