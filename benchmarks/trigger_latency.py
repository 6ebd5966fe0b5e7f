"""Append-to-run-start latency of the record-count trigger under a real dagster-daemon.

For each trigger: append 50 records to a JSONL feed, then measure when the daemon created the
run (sensor tick), launched it (RUN_STARTING) and when the run began executing (RUN_START).
Measured twice in the same run: with a run queue (dequeued every 1 s) and with direct launch
(DefaultRunCoordinator). The published anchor is ~17 s from a sensor's run request to the run
starting (dagster#19607); target: median < 5 s. The daemon's sensor loop wakes every 5 s at
most, so appends land at random loop phases.

Usage: PYTHONPATH=. python benchmarks/trigger_latency.py [--triggers 5] 2>/dev/null
"""

import argparse
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

import dagster as dg

from tests.e2e.daemon import Daemon, runs_with, wait_for, write_instance
from tests.feedutil import append_jsonl, records

ANCHOR_SECONDS = 17.0


def _launched_at(instance: dg.DagsterInstance, run_id: str) -> float:
    (entry,) = instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_STARTING)
    return entry.timestamp


def measure(triggers: int, queued: bool) -> dict[str, list[float]]:
    """Latencies (s) after each append: run created, launched, started."""
    out: dict[str, list[float]] = {"created": [], "launched": [], "started": []}
    with tempfile.TemporaryDirectory(prefix="bench-latency-") as tmp:
        root = Path(tmp)
        home = root / "home"
        write_instance(home, queued=queued)
        os.environ["DAGSTER_HOME"] = str(home)
        (root / "feed").mkdir()
        (root / "monitors.yaml").write_text("monitors: []\n")
        (root / "models.yaml").write_text(
            "autostart: true\nmodels:\n  - {id: bench, feed: {kind: jsonl, path: feed}}\n"
        )
        env = {
            "VERIFILY_MODELS_CONFIG": str(root / "models.yaml"),
            "VERIFILY_MONITORS_CONFIG": str(root / "monitors.yaml"),
            "VERIFILY_SENSOR_INTERVAL_SECONDS": "1",
            "VERIFILY_OUTPUT_ROOT": str(root / "runs"),
        }
        daemon = Daemon(home, env, root / "daemon.log").start()
        instance = dg.DagsterInstance.get()
        label = "queued" if queued else "direct"
        try:
            for i in range(triggers + 1):  # trigger 0 warms the daemon up, not counted
                time.sleep(random.uniform(0, 5))
                t_append = time.time()
                append_jsonl(root / "feed" / "part-0.jsonl", records(i * 50, 50))
                tag = {"verifily/window_from": str(i * 50)}
                (rec,) = wait_for(lambda t=tag: runs_with(instance, **t), 180, "run", daemon, 0.05)
                run_id = rec.dagster_run.run_id
                rec = wait_for(
                    lambda r=run_id: (x := instance.get_run_record_by_id(r)).start_time and x,
                    180,
                    "run start",
                    daemon,
                    0.05,
                )
                c = rec.create_timestamp.timestamp() - t_append
                la = _launched_at(instance, run_id) - t_append
                s = rec.start_time - t_append
                print(
                    f"[{label}] trigger {i}: created {c:5.2f} s, launched {la:5.2f} s, "
                    f"started {s:5.2f} s after append" + ("  (warm-up)" if i == 0 else "")
                )
                if i:
                    out["created"].append(c)
                    out["launched"].append(la)
                    out["started"].append(s)
                wait_for(
                    lambda r=run_id: instance.get_run_by_id(r).is_finished, 300, "run end", daemon
                )
        finally:
            daemon.stop()
            instance.dispose()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--triggers", type=int, default=5)
    args = ap.parse_args()
    results = {label: measure(args.triggers, label == "queued") for label in ("queued", "direct")}
    for label, r in results.items():
        med = statistics.median(r["started"])
        print(
            f"{label}: append -> created median {statistics.median(r['created']):.2f} s, "
            f"launched {statistics.median(r['launched']):.2f} s, started {med:.2f} s "
            f"(min {min(r['started']):.2f}, max {max(r['started']):.2f}, "
            f"n={len(r['started'])}); ratio to the 17 s anchor: {med / ANCHOR_SECONDS:.2f}"
        )
    q, d = (statistics.median(results[k]["started"]) for k in ("queued", "direct"))
    print(f"direct/queued: {d / q:.2f}; target: median < 5 s (anchor {ANCHOR_SECONDS:.0f} s)")


if __name__ == "__main__":
    main()
