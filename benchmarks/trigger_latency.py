"""Append-to-run-start latency of the record-count trigger under a real dagster-daemon.

For each trigger: append 50 records to a JSONL feed, wait for the run to finish, then time,
from the append, each phase of the path: the sensor tick that saw the records started (0 when a
watching tick was already running), the run was created, launched (RUN_STARTING), its run worker
process was up ("Started process for run"), and the run began executing (RUN_START).

"recommended" runs the daemon on the settings the README recommends for low trigger latency:
config/dagster-daemon.yaml (sensors in threads, direct launch) and, in models.yaml,
`sensor_interval_seconds: 1` and `tick_watch_seconds: 4`. The same run measures, as the
reference, the settings without those two fixes: the run queue (dequeued every 1 s, one run per
model) and ticks that do not watch. Appends land at random phases of Dagster's 5 s sensor loop.

The published anchor is ~17 s from a sensor's run request to the run starting
(dagster#19607); target: median < 5 s.

Usage: .venv/bin/python benchmarks/trigger_latency.py [--triggers 7] [--smoke] 2>/dev/null
"""

import argparse
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

import checkout  # noqa: F401 - this checkout on sys.path (benchmarks/checkout.py)
import dagster as dg
from harness import SMOKE_HELP

from tests.support.daemon import Daemon, runs_with, sensor_ticks, wait_for, write_instance
from tests.support.feeds import append_jsonl, records

ANCHOR_SECONDS = 17.0
TARGET_SECONDS = 5.0
SENSOR = "record_count_bench"
# Phase -> what ends it; each phase starts where the previous one ended (the first at the append).
PHASES = {
    "tick": "a sensor tick is looking (started, or already watching)",
    "created": "run created",
    "launched": "RUN_STARTING",
    "worker": "run worker process up",
    "started": "RUN_START",
}


def phase_times(instance: dg.DagsterInstance, run_id: str) -> dict[str, float]:
    """Wall-clock time at which each phase of one run ended, from its tick and event log."""
    (tick,) = [t for t in sensor_ticks(instance, SENSOR) if run_id in t.run_ids]
    out = {
        "tick": tick.timestamp,
        "created": instance.get_run_record_by_id(run_id).create_timestamp.timestamp(),
    }
    for entry in instance.all_logs(run_id):
        ev = entry.dagster_event
        if ev is None:
            continue
        if ev.event_type == dg.DagsterEventType.RUN_STARTING:
            out["launched"] = entry.timestamp
        elif ev.event_type == dg.DagsterEventType.ENGINE_EVENT and (
            (ev.message or "").startswith("Started process for run")
        ):
            out["worker"] = entry.timestamp
        elif ev.event_type == dg.DagsterEventType.RUN_START:
            out["started"] = entry.timestamp
    return out


# The README's recommended models.yaml settings for low latency, and the reference's.
RECOMMENDED_MODELS = "sensor_interval_seconds: 1\ntick_watch_seconds: 4\n"
REFERENCE_MODELS = "sensor_interval_seconds: 1\n"


def measure(triggers: int, queued: bool, models: str, label: str) -> list[dict[str, float]]:
    """Per trigger (after one warm-up): seconds from the append to the end of each phase."""
    out = []
    with tempfile.TemporaryDirectory(prefix="bench-latency-") as tmp:
        root = Path(tmp)
        home = root / "home"
        write_instance(home, queued=queued)
        os.environ["DAGSTER_HOME"] = str(home)
        (root / "feed").mkdir()
        (root / "monitors.yaml").write_text("monitors: []\n")
        (root / "models.yaml").write_text(
            "autostart: true\n"
            + models
            + "models:\n  - {id: bench, feed: {kind: jsonl, path: feed}}\n"
        )
        env = {
            "VERIFILY_MODELS_CONFIG": str(root / "models.yaml"),
            "VERIFILY_MONITORS_CONFIG": str(root / "monitors.yaml"),
            "VERIFILY_OUTPUT_ROOT": str(root / "runs"),
            "VERIFILY_MLFLOW_ENABLED": "0",  # the trigger path, not tracking, is measured
        }
        daemon = Daemon(home, env, root / "daemon.log").start()
        instance = dg.DagsterInstance.get()
        try:
            for i in range(triggers + 1):  # trigger 0 warms the daemon up, not counted
                time.sleep(random.uniform(0, 5))
                t_append = time.time()
                append_jsonl(root / "feed" / "part-0.jsonl", records(i * 50, 50))
                tag = {"verifily/window_from": str(i * 50)}
                (rec,) = wait_for(lambda t=tag: runs_with(instance, **t), 180, "run", daemon)
                run_id = rec.dagster_run.run_id
                # Runs never overlap: the next append waits until this one has finished.
                wait_for(
                    lambda r=run_id: instance.get_run_by_id(r).is_finished, 300, "run end", daemon
                )
                t = {k: v - t_append for k, v in phase_times(instance, run_id).items()}
                # A watching tick that started before the append saw the records at once.
                t["tick"] = max(t["tick"], 0.0)
                print(
                    f"[{label}] trigger {i}: "
                    + ", ".join(f"{k} {t[k]:5.2f}" for k in PHASES)
                    + " s after append"
                    + ("  (warm-up, not counted)" if i == 0 else ""),
                    flush=True,
                )
                if i:
                    out.append(t)
        finally:
            daemon.stop()
            instance.dispose()
    return out


def summarize(label: str, results: list[dict[str, float]]) -> float:
    """Print the median of each phase and of the whole path; return the latter."""
    names = list(PHASES)
    parts = []
    for k, prev in zip(names, [None, *names[:-1]], strict=True):
        med = statistics.median(r[k] - (r[prev] if prev else 0.0) for r in results)
        parts.append(f"{k} {med:+.2f}")
    total = [r["started"] for r in results]
    med = statistics.median(total)
    print(f"{label}: median phase durations (s): " + ", ".join(parts))
    print(
        f"{label}: append -> RUN_START median {med:.2f} s (min {min(total):.2f}, "
        f"max {max(total):.2f}, n={len(total)}); ratio to the {ANCHOR_SECONDS:.0f} s anchor "
        f"{med / ANCHOR_SECONDS:.2f}"
    )
    return med


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--triggers", type=int, default=7)
    ap.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    args = ap.parse_args()
    if args.smoke:
        args.triggers = 1
    print("phases end at: " + "; ".join(f"{k} = {v}" for k, v in PHASES.items()))
    rec = measure(args.triggers, False, RECOMMENDED_MODELS, "recommended")
    ref = measure(args.triggers, True, REFERENCE_MODELS, "reference")
    med = summarize("recommended", rec)
    ref_med = summarize("reference", ref)
    print(
        f"recommended/reference: {med / ref_med:.2f}; target: median < {TARGET_SECONDS:.0f} s "
        f"({'met' if med < TARGET_SECONDS else 'NOT met'}); anchor {ANCHOR_SECONDS:.0f} s"
    )


if __name__ == "__main__":
    main()
