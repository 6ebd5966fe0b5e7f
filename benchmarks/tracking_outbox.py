"""What MLflow costs a retrain now that its writes go through the tracking outbox, and how fast
the outbox drains into an MLflow server on loopback, each against today's path in the same run.

1. CLI mock retrain of the example, median of --reps fresh processes (SQLite Dagster storage,
   embedded SQLite MLflow store), interleaved round by round: this release with tracking on
   and off, and the reference commit (today's path: MLflow called from the steps). Targets:
   MLflow adds <= 0.3 s; the retrain <= 3.2 s. Between rounds the detached drainer a retrain
   starts is waited for (untimed), so it never competes with the next timed retrain.
2. Drain: --retrains retrains' writes (one real retrain's outbox rows, copied under new ids)
   applied to `mlflow server` on loopback by the drainer (--workers retrains at once), against
   today's path: the same MLflow calls made retrain by retrain, inline, as the steps made them.
   Target: >= 20 retrains/s.

    .venv/bin/python benchmarks/tracking_outbox.py [--reps 5] [--retrains 1000] [--smoke]
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import checkout  # noqa: F401 - this checkout on sys.path (benchmarks/checkout.py)
from harness import SMOKE_HELP, reference_tree

from tests.support.examples import IRIS
from tests.support.mlflow_server import free_port, running_mlflow_server
from tests.support.outbox import wait_drained_or_failed, wait_no_drainer

REPO = checkout.REPO
# The commit before this change: MLflow called from the retrain's steps (today's path).
DEFAULT_REFERENCE = "c1de617"
TARGET_ADDED, TARGET_RETRAIN, TARGET_RATE = 0.3, 3.2, 20.0
# Where the run directory's files go: through the server (mlflow-artifacts:/, one HTTP request
# per file), or straight into the artifact store from the drainer, as with an object store in
# production (here a local directory); the tracking calls go to the server either way.
ARTIFACTS = {
    "server": "artifacts through the server",
    "direct": "artifacts straight to the store",
}


def cli_env(tmp: Path, name: str, code: Path, **extra: str) -> dict:
    home = tmp / name / "home"
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")},
        "DAGSTER_HOME": str(home),
        "VERIFILY_STATE_DIR": str(tmp / name),
        "PYTHONPATH": str(code),
        **extra,
    }


def timed_retrain(env: dict, out: Path) -> float:
    cmd = [sys.executable, "-m", "verifily", "retrain", "--dataset", str(IRIS), "--out", str(out)]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=env, cwd=env["VERIFILY_STATE_DIR"], capture_output=True)
    elapsed = time.perf_counter() - t0
    if p.returncode not in (0, 1, 3):
        raise SystemExit(f"retrain failed: {p.stderr.decode()[-2000:]}")
    return elapsed


def settle(env: dict) -> None:
    """Wait (untimed) for the detached drainer of this release's retrain to finish."""
    home = Path(env["DAGSTER_HOME"])
    if (home / "verifily_jobs.db").exists():
        wait_drained_or_failed(f"sqlite:///{home / 'verifily_jobs.db'}", timeout=300)
        wait_no_drainer(Path(env["VERIFILY_STATE_DIR"]), timeout=300)


def cli_part(tmp: Path, reps: int, reference: Path) -> dict[str, float]:
    cases = {
        "this release, tracking on (outbox)": cli_env(tmp, "on", REPO),
        "this release, tracking off": cli_env(tmp, "off", REPO, VERIFILY_MLFLOW_ENABLED="0"),
        "today's path (reference), tracking on": cli_env(tmp, "ref", reference),
    }
    for env in cases.values():
        Path(env["VERIFILY_STATE_DIR"]).mkdir(parents=True)
        timed_retrain(env, Path(env["VERIFILY_STATE_DIR"]) / "runs")  # storage, migrations
        settle(env)
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(reps):
        for name, env in cases.items():
            times[name].append(timed_retrain(env, Path(env["VERIFILY_STATE_DIR"]) / "runs"))
            settle(env)
    return {name: statistics.median(ts) for name, ts in times.items()}


def one_retrains_rows(tmp: Path, url: str, artifacts: str | None) -> list[dict]:
    """The outbox rows of one mock retrain whose tracking goes to `url` (artifacts to
    `artifacts` when given, else through the server)."""
    extra = {
        "MLFLOW_TRACKING_URI": url,
        **({"MLFLOW_ARTIFACT_URI": artifacts} if artifacts else {}),
    }
    env = cli_env(tmp, "rows", REPO, **extra)
    Path(env["VERIFILY_STATE_DIR"]).mkdir(parents=True)
    os.environ.update({k: env[k] for k in ("DAGSTER_HOME", "VERIFILY_STATE_DIR")})
    from verifily.tracking.outbox import TrackingOutbox

    out = Path(env["VERIFILY_STATE_DIR"]) / "runs"
    cmd = [sys.executable, "-m", "verifily", "retrain", "--dataset", str(IRIS), "--out", str(out)]
    subprocess.run(cmd, env=env, cwd=env["VERIFILY_STATE_DIR"], capture_output=True, check=False)
    settle(env)
    outbox = TrackingOutbox()
    keys = {r[0] for r in outbox.engine.connect().exec_driver_sql(
        "SELECT key FROM verifily_tracking_outbox")}  # fmt: skip
    (key,) = keys
    return outbox.rows(key)


def copy_rows(rows: list[dict], n: int, outbox) -> list[str]:
    """`n` retrains' worth of the rows, each under a new id, pending."""
    keys = []
    for _ in range(n):
        key = uuid.uuid4().hex
        for r in rows:
            payload = json.loads(json.dumps(r["payload"]))
            if r["op"] == "start":
                payload["tags"]["verifily.dagster_run_id"] = key
            outbox.record(key, r["op"], payload, r["target"])
        keys.append(key)
    return keys


def todays_path(rows: list[dict], n: int) -> float:
    """The same writes made the way the steps made them: inline, one retrain after another."""
    from mlflow.entities import Metric, Param, RunTag

    from verifily.tracking.runs import end_run, experiment_id, log_run_dir
    from verifily.tracking.store import TrackingSettings, mlflow_client

    settings = TrackingSettings(**rows[0]["target"])
    client = mlflow_client(settings)
    t0 = time.perf_counter()
    for _ in range(n):
        exp = experiment_id(client, settings)
        start = rows[0]["payload"]
        run_id = client.create_run(exp, run_name=start["run_name"], tags=start["tags"]).info.run_id
        client.log_batch(run_id, params=[Param(k, v) for k, v in start["params"].items()])
        for r in rows[1:]:
            p = r["payload"]
            if r["op"] == "log":
                client.log_batch(
                    run_id,
                    metrics=[Metric(k, v, p["ts"], 0) for k, v in p["metrics"].items()],
                    tags=[RunTag(k, v) for k, v in p["tags"].items()],
                )
            elif r["op"] == "finish":
                log_run_dir(settings, run_id, p["run_dir"])
                client.log_batch(run_id, tags=[RunTag(k, v) for k, v in p["tags"].items()])
                end_run(settings, run_id, "FINISHED")
    return n / (time.perf_counter() - t0)


def drain_part(
    tmp: Path, n: int, n_ref: int, workers: int, artifacts: str | None
) -> tuple[float, float, int]:
    from mlflow import MlflowClient

    db = tmp / "server.db"
    MlflowClient(f"sqlite:///{db}").search_experiments()  # migrations, untimed
    with running_mlflow_server(tmp, db, free_port(), workers=2) as url:
        rows = one_retrains_rows(tmp, url, artifacts)
        from verifily.mirror.drain import drain
        from verifily.tracking.outbox import TrackingOutbox

        outbox = TrackingOutbox()
        copy_rows(rows, n, outbox)
        t0 = time.perf_counter()
        report = drain(outbox, workers=workers)
        rate = report.retrains / (time.perf_counter() - t0)
        if report.error or report.retrains != n:
            raise SystemExit(f"drain stopped: {report.error} after {report.retrains} retrains")
        reference = todays_path(rows, n_ref)
    return rate, reference, len(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--retrains", type=int, default=1000)
    ap.add_argument("--reference-retrains", type=int, default=100)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--reference", default=DEFAULT_REFERENCE)
    ap.add_argument("--part", choices=["all", "cli", "drain"], default="all")
    ap.add_argument("--artifacts", choices=["both", *ARTIFACTS], default="both")
    ap.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    args = ap.parse_args()
    if args.smoke:
        args.reps, args.retrains, args.reference_retrains = 1, 5, 2
        # One artifact route: each drain part migrates and starts its own MLflow server.
        args.artifacts = "server" if args.artifacts == "both" else args.artifacts
    tmp = Path(tempfile.mkdtemp(prefix="verifily-bench-outbox-"))
    try:
        print(f"machine: {os.cpu_count()} cores, 1-min load {os.getloadavg()[0]:.1f} (shared)")
        if args.part in ("all", "cli"):
            ref = reference_tree(args.reference, tmp / "reference")
            med = cli_part(tmp / "cli", args.reps, ref)
            print(f"CLI mock retrain of the example, median of {args.reps} fresh processes:")
            for name, t in med.items():
                print(f"  {name:<40} {t:5.2f} s")
            on, off, today = med.values()
            print(
                f"MLflow adds {on - off:.2f} s (target <= {TARGET_ADDED} s; today's path adds "
                f"{today - off:.2f} s); retrain {on:.2f} s (target <= {TARGET_RETRAIN} s); "
                f"ratio to today's path {on / today:.2f}x"
            )
        if args.part in ("all", "drain"):
            for how in ARTIFACTS if args.artifacts == "both" else [args.artifacts]:
                where = tmp / f"drain-{how}"
                rate, reference, n_rows = drain_part(
                    where,
                    args.retrains,
                    args.reference_retrains,
                    args.workers,
                    str(where / "artifact_store") if how == "direct" else None,
                )
                print(
                    f"drain of {args.retrains} retrains ({n_rows} outbox writes each) into "
                    f"`mlflow server` on loopback, {ARTIFACTS[how]}, {args.workers} at once: "
                    f"{rate:.1f} retrains/s (target >= {TARGET_RATE:g}); today's path (inline, "
                    f"{args.reference_retrains} retrains): {reference:.1f} retrains/s; ratio "
                    f"{rate / reference:.2f}x"
                )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
