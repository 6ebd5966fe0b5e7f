"""Per-step overhead of running the retrain job's steps as Kubernetes Jobs, measured through
the loopback stand-in (tests/support/fake_k8s), against the same job executed in-process on the
same machine in the same run (the reference).

What it can measure: process start of a step worker (`dagster api execute_step`: interpreter,
imports, code location load, instance), the executor's hand-off between steps (event log
polling, Job creation) and the API round-trips. What it cannot: image pull, scheduling, volume
attach, node scale-up — there is no cluster here.

Run: .venv/bin/python benchmarks/k8s_step_overhead.py [--smoke]  (--smoke: the same single
retrain per side, already seconds long, printed as a smoke run)
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import checkout  # noqa: F401 - this checkout on sys.path (benchmarks/checkout.py)
import dagster as dg

from tests.support.examples import IRIS
from tests.support.fake_k8s.harness import Standin
from verifily_assets.launch import run_retrain


def in_process(tmp: Path) -> float:
    home = tmp / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        t0 = time.perf_counter()
        run_retrain(
            {"dataset_dir": str(IRIS), "output_dir": str(tmp / "runs"), "project_id": "iris"},
            instance=instance,
        )
        return time.perf_counter() - t0


def through_standin(tmp: Path) -> tuple[float, dict]:
    standin = Standin(tmp)
    t0 = time.perf_counter()
    instance, run, _ = standin.run("iris", IRIS, timeout=900)
    wall = time.perf_counter() - t0
    assert run.status == dg.DagsterRunStatus.SUCCESS, run.status
    at: dict[tuple[str, str], float] = {}
    for r in instance.all_logs(run.run_id):
        if r.dagster_event is not None and r.step_key:
            at.setdefault((r.step_key, r.dagster_event.event_type_value), r.timestamp)
    steps = sorted({k for k, _ in at}, key=lambda k: at[(k, "STEP_WORKER_STARTING")])
    startup = [at[(k, "STEP_START")] - at[(k, "STEP_WORKER_STARTING")] for k in steps]
    compute = [at[(k, "STEP_SUCCESS")] - at[(k, "STEP_START")] for k in steps]
    handoff = [
        at[(b, "STEP_WORKER_STARTING")] - at[(a, "STEP_SUCCESS")]
        for a, b in zip(steps, steps[1:], strict=False)
    ]
    pod_start = [
        t - created
        for (job, what, t) in standin.cluster.timeline
        if what == "started"
        for (job2, what2, created) in standin.cluster.timeline
        if job2 == job and what2 == "created"
    ]
    run_dirs = list((standin.shared / "runs").glob("retrain_*"))
    run_dir_bytes = sum(f.stat().st_size for d in run_dirs for f in d.rglob("*") if f.is_file())
    return wall, {
        "steps": len(steps),
        "events": len(instance.all_logs(run.run_id)),
        "run_dir_bytes": run_dir_bytes,
        "Job create -> worker process spawned (stand-in)": statistics.median(pod_start),
        "STEP_WORKER_STARTING -> STEP_START (worker start-up)": statistics.median(startup),
        "STEP_START -> STEP_SUCCESS (the step's own work)": statistics.median(compute),
        "STEP_SUCCESS -> next STEP_WORKER_STARTING (hand-off)": statistics.median(handoff),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # One retrain per side is already the whole benchmark; --smoke is accepted for the CI step.
    ap.add_argument("--smoke", action="store_true", help="the same run (CI runs every script so)")
    ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        (tmp / "a").mkdir()
        (tmp / "b").mkdir()
        ref = in_process(tmp / "a")
        k8s, parts = through_standin(tmp / "b")
    n = parts["steps"]
    print(f"in-process retrain_job (reference): {ref:.2f} s")
    print(f"k8s_job_executor via stand-in:      {k8s:.2f} s for {n} step Jobs")
    for name, value in parts.items():
        if name not in ("steps", "events", "run_dir_bytes"):
            print(f"  median {name}: {value:.2f} s")
    print(f"event log records per run: {parts['events']}")
    print(f"run directory size: {parts['run_dir_bytes'] / 1024:.1f} KiB")
    print(f"per-step overhead, (k8s wall - in-process wall) / steps: {(k8s - ref) / n:.2f} s/step")
    print(f"ratio k8s/in-process: {k8s / ref:.1f}x")


if __name__ == "__main__":
    main()
