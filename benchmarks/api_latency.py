"""Jobs API latency: queued submission under 50 concurrent clients, and sync retrain vs the CLI.

Starts its own dagster-webserver and `verifily serve` on loopback (no daemon, so submitted
runs stay queued and only submission is measured). References measured in the same run:
- submission: the same run submitted to Dagster's own submission API (DagsterGraphQLClient
  against the webserver) under the same concurrency -> ratio. The API answers once the job is
  stored and puts it on Dagster's run queue in the background; the script also reports how long
  that took for the whole burst, and measures the reference only after it has drained;
- sync retrain: `python -m verifily retrain` (the CLI, a new process per retrain) for the same
  dataset and seed -> ratio of POST /v1/retrain wall time to the CLI's.

Usage: .venv/bin/python benchmarks/api_latency.py [--clients 50] [--per-client 4] [--smoke]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import checkout  # noqa: F401 - this checkout on sys.path (benchmarks/checkout.py)
import requests
from dagster_graphql import DagsterGraphQLClient

from tests.support.api_servers import make_stack
from verifily.jobstore.submissions import SubmissionStore
from verifily.tags import TRIGGER_API
from verifily_assets.launch import queued_run

SMOKE_HELP = "a seconds-long run on tiny inputs (CI): proves the script runs, not the figure"


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def concurrent_latencies(fn, clients: int, per_client: int) -> list[float]:
    def client(c: int) -> list[float]:
        out = []
        for i in range(per_client):
            t0 = time.perf_counter()
            fn(c * per_client + i)
            out.append(time.perf_counter() - t0)
        return out

    with ThreadPoolExecutor(max_workers=clients) as pool:
        return [x for xs in pool.map(client, range(clients)) for x in xs]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--per-client", type=int, default=4)
    ap.add_argument("--sync-repeats", type=int, default=5)
    ap.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    args = ap.parse_args()
    if args.smoke:
        args.clients, args.per_client, args.sync_repeats = 2, 1, 1
    tmp = Path(tempfile.mkdtemp(prefix="verifily-bench-api-"))
    stack = make_stack(tmp, dagster=True, daemon=False)
    try:
        session = requests.Session()
        session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=args.clients))
        ds = str(stack.root / "iris")

        def api_submit(i: int) -> None:
            r = session.post(
                f"{stack.api_url}/v1/jobs/retrain",
                json={"dataset_dir": "iris", "project_id": f"bench-{i % 8}", "seed": i},
                timeout=300,
            )
            r.raise_for_status()

        host, port = stack.dagster_url.rsplit(":", 1)

        def dagster_submit(i: int) -> None:
            fields = {"dataset_dir": ds, "project_id": f"bench-{i % 8}", "seed": i}
            run = queued_run(fields, trigger=TRIGGER_API, tags={})
            DagsterGraphQLClient("127.0.0.1", port_number=int(port)).submit_job_execution(
                "retrain_job",
                repository_location_name="verifily_assets.definitions",
                repository_name="__repository__",
                run_config=run["run_config"],
                tags=run["tags"],
            )

        store = SubmissionStore(f"sqlite:///{stack.home / 'verifily_jobs.db'}")

        def drain() -> float:
            t0 = time.perf_counter()
            while store.pending():
                time.sleep(0.1)
            return time.perf_counter() - t0

        api_submit(0)  # warm up: the first job on an instance goes through the webserver
        drain()
        n = args.clients * args.per_client
        t0 = time.perf_counter()
        api = concurrent_latencies(api_submit, args.clients, args.per_client)
        burst = time.perf_counter() - t0
        queued_after = burst + drain()
        raw = concurrent_latencies(dagster_submit, args.clients, args.per_client)
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"machine: {os.cpu_count()} cores, load average {load} (shared machine)")
        print(f"async submit, {args.clients} concurrent clients, {n} submissions each way")
        print(
            f"  API POST /v1/jobs/retrain    median {statistics.median(api) * 1000:8.1f} ms"
            f"   p99 {pct(api, 99) * 1000:8.1f} ms"
        )
        print(
            f"  Dagster GraphQL submit (ref) median {statistics.median(raw) * 1000:8.1f} ms"
            f"   p99 {pct(raw, 99) * 1000:8.1f} ms"
        )
        print(
            f"  ratio API/Dagster: median {statistics.median(api) / statistics.median(raw):.3f}x"
            f", p99 {pct(api, 99) / pct(raw, 99):.3f}x"
        )
        print(
            f"  all {n} API jobs answered in {burst:.1f} s and on Dagster's run queue "
            f"{queued_after:.1f} s after the first was sent"
        )

        sync, cli = [], []
        out = stack.root / "runs"
        for _ in range(args.sync_repeats):
            t0 = time.perf_counter()
            r = session.post(
                f"{stack.api_url}/v1/retrain",
                json={"dataset_dir": "iris", "project_id": "bench-sync", "seed": 42},
                timeout=300,
            )
            r.raise_for_status()
            sync.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            proc = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "verifily",
                    "retrain",
                    "--dataset",
                    ds,
                    "--out",
                    str(out),
                    "--project",
                    "bench-cli",
                    "--seed",
                    "42",
                    "--json",
                ],
                env=stack.env,
                capture_output=True,
            )
            # The exit code follows the decision (0 SHIP, 1 DONT_SHIP, 3 INVESTIGATE).
            if proc.returncode not in (0, 1, 3):
                raise SystemExit(f"CLI failed: {proc.stderr.decode()[-2000:]}")
            cli.append(time.perf_counter() - t0)
        ms, mc = statistics.median(sync), statistics.median(cli)
        print(f"sync retrain, same dataset and seed, median of {args.sync_repeats}")
        print(f"  API POST /v1/retrain         {ms * 1000:8.1f} ms")
        print(f"  CLI verifily retrain (ref)   {mc * 1000:8.1f} ms  (new process per retrain)")
        print(f"  ratio API/CLI: {ms / mc:.2f}x")
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
