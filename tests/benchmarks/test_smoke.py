"""Every benchmark runs as the README says (`.venv/bin/python benchmarks/NAME.py`), from any
working directory and without PYTHONPATH, in its seconds-long --smoke mode, and prints a
ratio against its in-run reference. A benchmark that stops running fails here, not in a
reader's terminal."""

import os
import re
import subprocess
import sys

import pytest

from tests.support.examples import REPO

# checkout.py and harness.py are what the benchmarks import, not benchmarks.
HELPERS = {"checkout.py", "harness.py"}
BENCHMARKS = sorted(p for p in (REPO / "benchmarks").glob("*.py") if p.name not in HELPERS)
# These start real servers (dagster-daemon, dagster-webserver, mlflow, `verifily serve`).
SERVERS = {"api_latency", "trigger_latency", "mlflow_overhead", "k8s_step_overhead"}


def marks(name: str) -> list:
    return [pytest.mark.slow] + ([pytest.mark.e2e] if name in SERVERS else [])


@pytest.mark.parametrize(
    "script", [pytest.param(p, id=p.stem, marks=marks(p.stem)) for p in BENCHMARKS]
)
def test_benchmark_runs_as_documented(script, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DAGSTER_HOME")}
    p = subprocess.run(
        [sys.executable, str(script), "--smoke"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=540,
    )  # fmt: skip
    assert p.returncode == 0, f"{script.name} --smoke failed:\n{p.stderr[-3000:]}"
    assert re.search(r"ratio", p.stdout), f"{script.name} printed no ratio:\n{p.stdout}"


def test_the_readme_lists_every_benchmark_and_how_to_run_it():
    readme = (REPO / "README.md").read_text()
    assert ".venv/bin/python benchmarks/NAME.py" in readme
    missing = [p.name for p in BENCHMARKS if p.name not in readme]
    assert not missing, f"benchmarks not in the README: {missing}"
