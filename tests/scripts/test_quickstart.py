"""scripts/quickstart.sh exits with the retrain's code, so whoever runs it sees the outcome."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.examples import REPO

pytestmark = pytest.mark.slow


@pytest.fixture
def checkout(tmp_path) -> Path:
    """The quick start as shipped, beside this checkout's installed .venv and example. The
    install step is the one thing left out: `scripts/venv.sh` would pip-install into the venv
    the tests run from; everything after it (the real CLI, a real retrain) runs as shipped."""
    root = tmp_path / "checkout"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(REPO / "scripts" / "quickstart.sh", root / "scripts" / "quickstart.sh")
    (root / "scripts" / "venv.sh").write_text("#!/usr/bin/env bash\n# installed already\n")
    (root / ".venv").symlink_to(REPO / ".venv")
    (root / "examples").symlink_to(REPO / "examples")
    return root


def quickstart(root: Path, home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DAGSTER_HOME": str(home), "PYTHONPATH": str(REPO)}
    return subprocess.run(
        ["bash", str(root / "scripts" / "quickstart.sh"), *args],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip


def test_quickstart_exits_with_the_decision(checkout, dagster_home, tmp_path):
    ship = quickstart(checkout, dagster_home)
    assert ship.returncode == 0 and "Decision: SHIP" in ship.stdout, ship.stderr
    strict = tmp_path / "strict.yaml"
    strict.write_text("min_metric: 0.99\n")
    dont = quickstart(checkout, dagster_home, "--pipeline-config", str(strict))
    assert dont.returncode == 1 and "Decision: DONT_SHIP" in dont.stdout, dont.stderr
    assert "(exit code 1:" in dont.stdout


def test_quickstart_exits_with_an_error_code(checkout, dagster_home, tmp_path):
    (tmp_path / "bad.yaml").write_bytes(b"\xff")
    bad = quickstart(checkout, dagster_home, "--pipeline-config", str(tmp_path / "bad.yaml"))
    assert bad.returncode == 65 and "not valid UTF-8" in bad.stderr
