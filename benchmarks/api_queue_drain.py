"""How fast the api_jobs sensors turn stored queued submissions into runs on the run queue, with
the Dagster instance (and the jobs database) on PostgreSQL, against SQLite in the same run.

--jobs submissions are stored through POST /v1/jobs/retrain while no daemon runs; then the
daemon starts and its api_jobs sensors drain them. The rate is runs made per second between the
first and the last run's creation (so the daemon's own start-up is not counted). No run is
launched (max_concurrent_runs 0): this measures the way onto the queue, not the retrains.
Target: >= 20 jobs/s on PostgreSQL (SQLite: ~4 jobs/s before, each run its own database).

    .venv/bin/python benchmarks/api_queue_drain.py [--jobs 200] [--smoke]
"""

import argparse
import os
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import checkout  # noqa: F401 - this checkout on sys.path (benchmarks/checkout.py)
import dagster as dg
import requests
from harness import SMOKE_HELP

from tests.support.api_servers import make_stack
from tests.support.postgres import running_postgres
from verifily.tags import RETRAIN_JOB

TARGET = 20.0


def measure(tmp: Path, n: int, postgres: str | None) -> float:
    stack = make_stack(
        tmp,
        daemon=False,
        max_runs=0,
        postgres=postgres,
        extra_env={"VERIFILY_MLFLOW_ENABLED": "0"},
    )
    try:
        session = requests.Session()

        def submit(i: int) -> None:
            r = session.post(
                f"{stack.api_url}/v1/jobs/retrain",
                json={"dataset_dir": "iris", "project_id": f"m{i % 20}", "seed": i},
                timeout=120,
            )
            r.raise_for_status()

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(submit, range(n)))
        stack.start_daemon()
        instance = dg.DagsterInstance.from_config(str(stack.home))
        try:
            deadline = time.monotonic() + 600
            while True:
                recs = instance.get_run_records(dg.RunsFilter(job_name=RETRAIN_JOB))
                if len(recs) >= n:
                    break
                if time.monotonic() > deadline:
                    raise SystemExit(f"only {len(recs)} of {n} runs made in 10 minutes")
                time.sleep(0.5)
            made = sorted(r.create_timestamp.timestamp() for r in recs)
        finally:
            instance.dispose()
    finally:
        stack.stop()
    return (len(made) - 1) / max(made[-1] - made[0], 1e-9)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--jobs", type=int, default=200)
    ap.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    args = ap.parse_args()
    if args.smoke:
        args.jobs = 4
    tmp = Path(tempfile.mkdtemp(prefix="verifily-bench-drain-"))
    try:
        with running_postgres() as pg:
            on_pg = measure(tmp / "pg", args.jobs, pg)
        on_sqlite = measure(tmp / "sqlite", args.jobs, None)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"machine: {os.cpu_count()} cores, 1-min load {os.getloadavg()[0]:.1f} (shared)")
    print(
        f"{args.jobs} stored submissions -> runs on the queue: PostgreSQL {on_pg:.1f} jobs/s "
        f"(target >= {TARGET:g}); SQLite {on_sqlite:.1f} jobs/s; ratio {on_pg / on_sqlite:.2f}x"
    )


if __name__ == "__main__":
    main()
