"""Jobs API latency: submission -> RUN_START with 100 jobs in flight, three ways, in one run.

Each mechanism gets its own stack on loopback, with the same instance (config/dagster-api.yaml:
sensors in threads, the run queue with one run per model, max_concurrent_runs 4) and MLflow off:

- this release: `verifily serve` stores the job, the code location's api_jobs sensors (in
  `dagster-daemon`) make its run; no webserver;
- today's mechanism (the reference release, --reference, default the commit before this
  work): `verifily serve` stores the job and a background thread creates its run from an
  origin borrowed from a webserver-made run (needs dagster-webserver);
- Dagster's own GraphQL submission (DagsterGraphQLClient.submit_job_execution against
  dagster-webserver): the reference a Dagster user has.

In flight: 100 jobs of one model are submitted (20 concurrent clients) and stay in flight while
the probes run: the run queue runs one of them at a time (one run per model), the other 99 wait
in the queue (and, for the API, in the jobs table before that). A job can only start when a run
slot is free, so the latency measured is that of probe jobs (each of its own model, so a slot is
free) submitted one at a time, at a random moment, while the 100 are in flight:
submission (client clock, before the request) -> RUN_START (the run worker's event). The burst
itself is reported too: how long each of the 100 took to get its Dagster run.

Usage: .venv/bin/python benchmarks/api_latency.py [--probes 20] [--in-flight 100]
       [--reference 8c348df] [--sync-repeats 3] [--smoke]
"""

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import checkout  # noqa: F401 - this checkout on sys.path (benchmarks/checkout.py)
import dagster as dg
import requests
from dagster_graphql import DagsterGraphQLClient
from harness import SMOKE_HELP, percentile, reference_tree

from tests.support.api_servers import Stack, make_stack
from verifily.tags import JOB_ID, PARTITION, RETRAIN_JOB, TRIGGER_API
from verifily_assets.run_config import retrain_run_config, retrain_tags

REPO = checkout.REPO

# The commit before queued jobs moved into the code location: today's mechanism.
DEFAULT_REFERENCE = "8c348df"
TARGET_MEDIAN, TARGET_P99 = 2.0, 5.0


class Mechanism:
    """How one way of submitting a job sends it and finds its Dagster run."""

    name = ""

    def __init__(self, stack: Stack):
        self.stack = stack
        self.instance = dg.DagsterInstance.from_config(str(stack.home))
        self.session = requests.Session()
        self.session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=32))

    def submit(self, model: str, seed: int) -> str:
        raise NotImplementedError

    def run_of(self, handle: str) -> dg.RunRecord | None:
        return self.instance.get_run_record_by_id(handle)

    def close(self) -> None:
        self.instance.dispose()


class ApiJobs(Mechanism):
    """POST /v1/jobs/retrain; the job's run is found by the job id (this release's tag, or
    the reference release's promised run id)."""

    def submit(self, model: str, seed: int) -> str:
        r = self.session.post(
            f"{self.stack.api_url}/v1/jobs/retrain",
            json={"dataset_dir": "iris", "project_id": model, "seed": seed},
            timeout=300,
        )
        r.raise_for_status()
        return r.json()["job_id"]

    def run_of(self, handle: str) -> dg.RunRecord | None:
        recs = self.instance.get_run_records(dg.RunsFilter(tags={JOB_ID: handle}), limit=1)
        return recs[0] if recs else self.instance.get_run_record_by_id(handle)


class Sensor(ApiJobs):
    name = "jobs API, api_jobs sensor (this release)"


class BorrowedOrigin(ApiJobs):
    name = "jobs API, borrowed origin (today)"


class GraphQL(Mechanism):
    name = "Dagster GraphQL submitJobExecution (ref)"

    def submit(self, model: str, seed: int) -> str:
        assert self.stack.dagster_url
        port = int(self.stack.dagster_url.rsplit(":", 1)[1])
        fields = {"dataset_dir": str(self.stack.root / "iris"), "project_id": model, "seed": seed}
        client = DagsterGraphQLClient("127.0.0.1", port_number=port, timeout=300)
        return client.submit_job_execution(
            RETRAIN_JOB,
            repository_location_name="verifily_assets.definitions",
            repository_name="__repository__",
            run_config=retrain_run_config(fields, model_id=model).to_config_dict(),
            tags=retrain_tags(model_id=model, trigger=TRIGGER_API, extra={PARTITION: model}),
        )


def wait(predicate: Callable[[], object], timeout: float, what: str, poll: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(poll)
    raise SystemExit(f"timed out after {timeout:.0f}s waiting for {what}")


def started(m: Mechanism, handle: str) -> dg.RunRecord | None:
    rec = m.run_of(handle)
    return rec if rec is not None and rec.start_time else None


def phases(m: Mechanism, rec: dg.RunRecord) -> tuple[float, float]:
    """(run created, RUN_STARTING) as epoch seconds."""
    starting = m.instance.all_logs(rec.dagster_run.run_id, of_type=dg.DagsterEventType.RUN_STARTING)
    return rec.create_timestamp.timestamp(), (starting[0].timestamp if starting else float("nan"))


def measure(m: Mechanism, in_flight: int, probes: int, clients: int) -> dict:
    # Warm up: the code server loads, the first run worker starts (and today's mechanism makes
    # its first job through the webserver, to have an origin to borrow).
    first = m.submit("warmup", 0)
    wait(lambda: started(m, first), 300, "the warm-up run to start", poll=0.2)

    sent: dict[str, float] = {}

    def send(i: int) -> None:
        t = time.time()
        sent[m.submit("busy", 1000 + i)] = t

    t0 = time.time()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(send, range(in_flight)))
    answered = time.time() - t0
    made = wait(
        lambda: (recs := {h: m.run_of(h) for h in sent}) and all(recs.values()) and recs,
        600,
        f"runs for all {in_flight} jobs",
        poll=0.5,
    )
    pickup = [rec.create_timestamp.timestamp() - sent[h] for h, rec in made.items()]

    latency, created, queued, worker = [], [], [], []
    for i in range(probes):
        time.sleep(random.uniform(0, 1.0))  # a random moment in the daemon's loops
        t = time.time()
        handle = m.submit(f"probe-{i}", i)
        rec = wait(lambda h=handle: started(m, h), 300, f"probe {i} to start")
        c, s = phases(m, rec)
        latency.append(rec.start_time - t)
        created.append(c - t)
        queued.append(s - c)
        worker.append(rec.start_time - s)
        # One probe at a time: wait for it to finish so every probe finds the same load.
        wait(
            lambda h=handle: (r := m.run_of(h)) and r.dagster_run.is_finished,
            300,
            f"probe {i} to finish",
            poll=0.2,
        )
    return {
        "latency": latency,
        "created": created,
        "queued": queued,
        "worker": worker,
        "pickup": pickup,
        "answered": answered,
        "pickup_all": max(pickup),
    }


def sync_vs_cli(stack: Stack, repeats: int) -> tuple[float, float]:
    """Median wall time of POST /v1/retrain and of `verifily retrain` (a new process each)."""
    sync, cli = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        r = requests.post(
            f"{stack.api_url}/v1/retrain",
            json={"dataset_dir": "iris", "project_id": "bench-sync", "seed": 42},
            timeout=300,
        )
        r.raise_for_status()
        sync.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        proc = subprocess.run(
            [
                *(sys.executable, "-m", "verifily", "retrain"),
                *("--dataset", str(stack.root / "iris"), "--out", str(stack.root / "runs")),
                *("--project", "bench-cli", "--seed", "42", "--json"),
            ],
            env=stack.env,
            capture_output=True,
        )
        # The exit code follows the decision (0 SHIP, 1 DONT_SHIP, 3 INVESTIGATE).
        if proc.returncode not in (0, 1, 3):
            raise SystemExit(f"CLI failed: {proc.stderr.decode()[-2000:]}")
        cli.append(time.perf_counter() - t0)
    return statistics.median(sync), statistics.median(cli)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--probes", type=int, default=20)
    ap.add_argument("--in-flight", type=int, default=100)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--reference", default=DEFAULT_REFERENCE)
    ap.add_argument("--sync-repeats", type=int, default=3)
    ap.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    args = ap.parse_args()
    if args.smoke:
        # Each job is a real run worker on every one of the three stacks.
        args.probes, args.in_flight, args.clients, args.sync_repeats = 1, 2, 2, 1
    tmp = Path(tempfile.mkdtemp(prefix="verifily-bench-api-"))
    common = {"max_runs": 4, "extra_env": {"VERIFILY_MLFLOW_ENABLED": "0"}}
    ref = reference_tree(args.reference, tmp / "reference")
    plans = [
        (Sensor, lambda: make_stack(tmp / "sensor", **common)),
        (
            BorrowedOrigin,
            lambda: make_stack(tmp / "borrowed", webserver=True, repo=ref, **common),
        ),
        (GraphQL, lambda: make_stack(tmp / "graphql", webserver=True, api=False, **common)),
    ]
    results: dict[str, dict] = {}
    sync = None
    loads = []
    for cls, start in plans:
        stack = start()
        m = cls(stack)
        try:
            results[cls.name] = measure(m, args.in_flight, args.probes, args.clients)
            loads.append(os.getloadavg()[0])
            if cls is Sensor and args.sync_repeats:
                sync = sync_vs_cli(stack, args.sync_repeats)
        finally:
            m.close()
            stack.stop()
    shutil.rmtree(tmp, ignore_errors=True)

    print(
        f"machine: {os.cpu_count()} cores; 1-min load average after each part: "
        + ", ".join(f"{x:.1f}" for x in loads)
        + " (shared machine)"
    )
    print(
        f"submission -> RUN_START, {args.probes} probe jobs each submitted while "
        f"{args.in_flight} jobs are in flight (run queue, one run per model):"
    )
    for name, r in results.items():
        lat = r["latency"]
        med, p99 = statistics.median(lat), percentile(lat, 99)
        print(f"  {name:44s} median {med:5.2f} s   p99 {p99:5.2f} s")
    base = results[GraphQL.name]["latency"]
    for name, r in results.items():
        if name != GraphQL.name:
            lat = r["latency"]
            print(
                f"  ratio {name.split(',')[1].strip()} / GraphQL: median "
                f"{statistics.median(lat) / statistics.median(base):.2f}x, p99 "
                f"{percentile(lat, 99) / percentile(base, 99):.2f}x"
            )
    print(
        "  where the time goes (medians): submission -> run made | -> RUN_STARTING (queue) |"
        " -> RUN_START (run worker)"
    )
    for name, r in results.items():
        print(
            f"  {name:44s} {statistics.median(r['created']):5.2f} s | "
            f"{statistics.median(r['queued']):5.2f} s | {statistics.median(r['worker']):5.2f} s"
        )
    mine = results[Sensor.name]["latency"]
    ok = statistics.median(mine) <= TARGET_MEDIAN and percentile(mine, 99) <= TARGET_P99
    print(
        f"  target (this release): median <= {TARGET_MEDIAN:g} s and p99 <= {TARGET_P99:g} s: "
        + ("met" if ok else "NOT met")
    )
    print(f"the burst of {args.in_flight} submissions, {args.clients} concurrent clients:")
    for name, r in results.items():
        pick = r["pickup"]
        print(
            f"  {name:44s} all answered in {r['answered']:5.1f} s; submission -> run made "
            f"median {statistics.median(pick):5.2f} s, p99 {percentile(pick, 99):5.2f} s, "
            f"last {r['pickup_all']:5.1f} s"
        )
    if sync:
        ms, mc = sync
        print(f"sync retrain, same dataset and seed, median of {args.sync_repeats}")
        print(f"  API POST /v1/retrain         {ms * 1000:8.1f} ms")
        print(f"  CLI verifily retrain (ref)   {mc * 1000:8.1f} ms  (new process per retrain)")
        print(f"  ratio API/CLI: {ms / mc:.2f}x")


if __name__ == "__main__":
    main()
