"""Time of a mock retrain of the example dataset through the CLI, beyond `import dagster`.

Every figure is a fresh process, measured in the same run (median of --reps, interleaved
round by round so machine load hits all alike), on one Dagster instance and one MLflow store
created before timing starts. Target (issue 2): the default retrain under 1.5 s beyond
`python -c "import dagster"`.

Besides the default (MLflow tracking on, the embedded SQLite store), it times the same retrain
with tracking off, the same on an in-memory Dagster instance (no storage writes: the floor of
Dagster's execution machinery), and the cost of importing MLflow's tracking store on top of
Dagster, so the output says which part of the time is Dagster's and which is MLflow's.

    .venv/bin/python benchmarks/retrain_cli_overhead.py [--reps 7] [--smoke]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import checkout  # noqa: F401 - this checkout on sys.path (benchmarks/checkout.py)
from harness import SMOKE_HELP

from tests.support.examples import IRIS

REPO = checkout.REPO
TARGET_S = 1.5
IMPORT_MLFLOW = "import dagster + MLflow's SQLite store"
UNTRACKED = "verifily retrain, tracking off"
FLOOR = "same, in-memory instance (floor)"
DEFAULT = "verifily retrain (default)"


def timed(cmd: list[str], env: dict) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def floor_script(tmp: str) -> str:
    return (
        "import dagster as dg; from verifily_assets.launch import run_retrain; "
        f"run_retrain({{'dataset_dir': {str(IRIS)!r}, 'output_dir': {tmp + '/floor'!r}}}, "
        "instance=dg.DagsterInstance.ephemeral())"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    args = ap.parse_args()
    if args.smoke:
        args.reps = 1
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "DAGSTER_HOME": str(Path(tmp) / "home"),
            "VERIFILY_STATE_DIR": str(Path(tmp) / "state"),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        }
        env.pop("MLFLOW_TRACKING_URI", None)
        untracked = {**env, "VERIFILY_MLFLOW_ENABLED": "0"}
        retrain = [
            sys.executable,
            "-m",
            "verifily",
            "retrain",
            "--dataset",
            str(IRIS),
            "--out",
            str(Path(tmp) / "runs"),
        ]
        py = [sys.executable, "-c"]
        cases = {
            "import dagster": (py + ["import dagster"], env),
            IMPORT_MLFLOW: (
                py + ["import dagster; import mlflow.store.tracking.sqlalchemy_store"],
                env,
            ),
            UNTRACKED: (retrain, untracked),
            # What the tracking-off retrain costs without any storage writes: Dagster's own
            # execution machinery, the floor that no storage setting can go below.
            FLOOR: (py + [floor_script(tmp)], untracked),
            DEFAULT: (retrain, env),
        }
        # Not timed: creates the instance's storage and runs MLflow's store migrations once.
        timed(retrain, env)
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.reps):
            for name, (cmd, case_env) in cases.items():
                times[name].append(timed(cmd, case_env))
    med = {name: statistics.median(ts) for name, ts in times.items()}
    ref = med["import dagster"]
    width = max(map(len, med))
    print(f"median of {args.reps} fresh processes each:")
    for name, t in med.items():
        extra = "" if name == "import dagster" else f"   beyond import dagster: {t - ref:5.2f} s"
        print(f"  {name:<{width}}  {t:5.2f} s{extra}")
    default = med[DEFAULT]
    print(
        f'beyond python -c "import dagster": {default - ref:.2f} s '
        f"(target < {TARGET_S:.2f} s); ratio {default / ref:.2f}x"
    )
    print(
        f"  of which MLflow (default minus tracking off): "
        f"{default - med[UNTRACKED]:.2f} s; "
        f"importing MLflow's store alone: {med[IMPORT_MLFLOW] - ref:.2f} s"
    )


if __name__ == "__main__":
    main()
