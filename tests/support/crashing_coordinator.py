"""Crash a real `dagster-daemon` at a point of a sensor tick, the way Dagster's own
test_sensor_failure_recovery.py does with its debug crash flags (`os.kill(os.getpid(), sig)`
at RUN_CREATED and RUN_LAUNCHED), but inside the daemon's real process.

The daemon has no public hook for its crash flags, so the point is reached through a public
extension point instead: the instance's run coordinator, configured in dagster.yaml. The
sensor daemon calls `submit_run` right after it created a tick's run (RUN_CREATED) and goes on
to finish the tick right after it returns (RUN_LAUNCHED). The coordinator is Dagster's run
queue with no run ever dequeued (`max_concurrent_runs: 0`): the matrix is about which runs
exist, not about executing them on a shared two-core machine. Each crash happens once; a
marker file says where it happened, and the restarted daemon goes on normally.
"""

import os
import signal
import time
from pathlib import Path

import dagster as dg
import yaml

from tests.support.daemon import RECOMMENDED

POINTS = ("RUN_CREATED", "RUN_LAUNCHED")
SIGNALS = {"SIGKILL": signal.SIGKILL, "SIGTERM": signal.SIGTERM}


class CrashingRunCoordinator(dg.QueuedRunCoordinator):
    """The run queue, which kills its own process once at `crash_at` (one of POINTS)."""

    crash_at: str | None = None
    crash_signal: str = "SIGKILL"
    crash_marker: Path | None = None

    @classmethod
    def config_type(cls):
        return {
            **super().config_type(),  # pyright: ignore[reportGeneralTypeIssues]
            "crash_at": dg.Field(dg.Noneable(str), is_required=False),
            "crash_signal": dg.Field(str, is_required=False),
            "crash_marker": dg.Field(dg.Noneable(str), is_required=False),
        }

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        crash = {k: config_value.get(k) for k in ("crash_at", "crash_signal", "crash_marker")}
        queue = super().from_config_value(inst_data, config_value)
        queue.crash_at = crash["crash_at"]
        queue.crash_signal = crash["crash_signal"] or "SIGKILL"
        queue.crash_marker = Path(crash["crash_marker"]) if crash["crash_marker"] else None
        return queue

    def submit_run(self, context: dg.SubmitRunContext) -> dg.DagsterRun:
        self._crash("RUN_CREATED", context.dagster_run)
        run = super().submit_run(context)
        self._crash("RUN_LAUNCHED", context.dagster_run)
        return run

    def _crash(self, point: str, run: dg.DagsterRun) -> None:
        if point != self.crash_at or self.crash_marker is None or self.crash_marker.exists():
            return
        self.crash_marker.write_text(f"{point} {self.crash_signal} {run.run_id} {os.getpid()}\n")
        os.kill(os.getpid(), SIGNALS[self.crash_signal])
        # As Dagster's check_for_debug_crash: SIGKILL never gets here; after SIGTERM the
        # daemon's shutdown runs meanwhile, then this thread goes on where it was.
        time.sleep(10)


def write_crash_instance(home: Path, crash_at: str | None, crash_signal: str, marker: Path) -> None:
    """dagster.yaml under `home`: the recommended sensor settings and the crashing run queue."""
    home.mkdir(parents=True, exist_ok=True)
    settings = {
        "telemetry": {"enabled": False},
        **{k: v for k, v in RECOMMENDED.items() if k != "run_coordinator"},
        "run_coordinator": {
            "module": "tests.support.crashing_coordinator",
            "class": "CrashingRunCoordinator",
            "config": {
                "max_concurrent_runs": 0,
                "crash_at": crash_at,
                "crash_signal": crash_signal,
                "crash_marker": str(marker),
            },
        },
    }
    (home / "dagster.yaml").write_text(yaml.safe_dump(settings, sort_keys=False))
    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.get_runs(limit=1)
        instance.get_dynamic_partitions("model_id")
