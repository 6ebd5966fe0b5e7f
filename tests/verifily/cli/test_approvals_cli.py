"""`verifily approvals`, `approve` and `reject` end to end: an INVESTIGATE `verifily retrain`
opens one approval; approving moves `champion` and `verifily promotions` shows who and why;
refusals are one line on stderr."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.approvals import pipeline_config
from tests.support.examples import IRIS, REPO

pytestmark = pytest.mark.slow


def cli(*args: str, home: Path, actor: str = "alice") -> subprocess.CompletedProcess:
    env = {**os.environ, "DAGSTER_HOME": str(home), "PYTHONPATH": str(REPO)}
    env["VERIFILY_ACTOR"] = actor
    return subprocess.run(
        [sys.executable, "-m", "verifily", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=300,
    )


def retrain(home: Path, tmp: Path, seed: int) -> dict:
    p = cli(
        "retrain", "--dataset", str(IRIS), "--out", str(tmp / "runs"), "--project", "m",
        "--seed", str(seed), "--pipeline-config", str(pipeline_config(tmp)), "--json", home=home,
    )  # fmt: skip
    assert p.returncode in (0, 3), p.stderr
    return json.loads(p.stdout)


def pending(home: Path) -> list[dict]:
    p = cli("approvals", "m", "--state", "pending", "--json", home=home)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)["approvals"]


def test_approve_and_reject_from_the_cli(mlflow_env, dagster_home, tmp_path):
    first = retrain(dagster_home, tmp_path, 42)
    assert first["decision"] == "INVESTIGATE"
    [approval] = pending(dagster_home)
    assert approval["run_dir"] == first["run_dir"]
    listing = cli("approvals", home=dagster_home)
    assert approval["approval_id"] in listing.stdout and "pending" in listing.stdout

    no_reason = cli("approve", approval["approval_id"], home=dagster_home)
    assert no_reason.returncode == 2 and "--reason" in no_reason.stderr

    ok = cli("approve", approval["approval_id"], "--reason", "slices fine", home=dagster_home)
    assert ok.returncode == 0, ok.stderr
    assert "approved by alice" in ok.stdout and "champion vnone -> v1" in ok.stdout
    twice = cli("approve", approval["approval_id"], "--reason", "again", home=dagster_home)
    assert twice.returncode == 1
    closed_at = json.loads(cli("approvals", "m", "--json", home=dagster_home).stdout)
    closed_at = closed_at["approvals"][0]["closed_at"]
    assert twice.stderr.strip().splitlines() == [
        f"error: approval {approval['approval_id']} is already approved by alice at "
        f"{closed_at}; nothing changed"
    ]

    # A second INVESTIGATE (against champion v1 now) is rejected: nothing moves.
    second = retrain(dagster_home, tmp_path, 42)
    [approval2] = pending(dagster_home)
    assert approval2["champion"]["version"] == "1" and approval2["run_dir"] == second["run_dir"]
    no = cli(
        "reject", approval2["approval_id"], "--reason", "drift", home=dagster_home, actor="bob"
    )
    assert no.returncode == 0 and "rejected by bob" in no.stdout

    shown = cli("promotions", "m", home=dagster_home)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert any(" approved: champion none -> v1 by alice" in x for x in lines), lines
    assert any(" rejected: champion v1 -> (no move) by bob" in x for x in lines), lines
    assert f"    approval: {approval2['approval_id']}" in lines
    assert "    why: slices fine" in lines and "    why: drift" in lines

    missing = cli("reject", "apr-missing", "--reason", "x", home=dagster_home)
    assert missing.returncode == 65
    assert missing.stderr == "error: approval 'apr-missing' does not exist\n"
