"""Many concurrent queued submissions: distinct jobs, all complete, none lost, no shared run dir.

VERIFILY_E2E_JOBS sets how many (default 30, to fit the suite's time budget on two shared cores:
every launched run is a subprocess that imports Dagster; the issue's figure is 100, run with
VERIFILY_E2E_JOBS=100). Runs are spread over four models because the run queue allows one run
per model at a time (see api_servers.DAGSTER_YAML).
"""

import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.e2e.api_servers import make_stack
from verifily.contract import validate_run_contract

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
N = int(os.environ.get("VERIFILY_E2E_JOBS", "30"))


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    s = make_stack(tmp_path_factory.mktemp("api_load"), dagster=True, max_runs=2)
    yield s
    s.stop()


def test_concurrent_submissions_all_complete_with_distinct_run_dirs(stack):
    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=N))

    def submit(i: int) -> dict:
        r = session.post(
            f"{stack.api_url}/v1/jobs/retrain",
            json={"dataset_dir": "iris", "project_id": f"load-{i % 4}", "seed": i},
            timeout=600,
        )
        assert r.status_code == 202, r.text
        return r.json()

    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=N) as pool:
        jobs = list(pool.map(submit, range(N)))
    submitted = time.monotonic() - t0
    ids = [j["job_id"] for j in jobs]
    assert len(set(ids)) == N and all(j["status"] == "QUEUED" for j in jobs)

    pending, status = set(ids), {}
    deadline = time.monotonic() + 120 + 10 * N
    while pending and time.monotonic() < deadline:
        for jid in list(pending):
            st = session.get(f"{stack.api_url}/v1/jobs/{jid}", timeout=60).json()
            if st["status"] in ("SUCCEEDED", "FAILED", "CANCELED"):
                status[jid] = st
                pending.discard(jid)
        time.sleep(2)
    elapsed = time.monotonic() - t0
    print(f"{N} jobs: submitted in {submitted:.1f}s, all done in {elapsed:.1f}s")
    assert not pending, f"{len(pending)} of {N} jobs never finished"
    failed = {j: s for j, s in status.items() if s["status"] != "SUCCEEDED"}
    assert not failed, failed

    run_dirs = []
    for jid in ids:
        res = session.get(f"{stack.api_url}/v1/jobs/{jid}/result", timeout=60).json()
        assert res["job_id"] == jid
        run_dirs.append(res["run_dir"])
    assert len(set(run_dirs)) == N, "two jobs share a run directory"
    on_disk = sorted(p for p in (stack.root / "runs").iterdir() if p.name.startswith("retrain_"))
    assert sorted(map(Path, run_dirs)) == on_disk, "a run directory is missing or extra"
    assert not list((stack.root / "runs").glob(".retrain_*")), "a staging directory was left"
    bad = {d: p for d in run_dirs if (p := validate_run_contract(d))}
    assert not bad, bad
