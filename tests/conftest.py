"""Shared fixtures: a private Dagster instance and output directories per test."""

import shutil
from pathlib import Path

import dagster as dg
import pytest

from tests.support.examples import IRIS

# Shared fixtures: a real PostgreSQL server (`postgres_url`), the MLflow tests' clean tracking
# env, template store and real server, and the session's signing key (VERIFILY_SIGNING_KEY).
pytest_plugins = ["tests.support.postgres", "tests.support.mlflow_server", "tests.support.keys"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Modules with slow end-to-end tests first, then other slow ones, then the rest, each
    module kept together in its own order: with `--dist worksteal` (scripts/test.sh) both
    workers start on the long tests and share the short ones at the end, instead of one
    worker finishing a 5-minute test alone."""
    marks: dict[str, set[str]] = {}
    for item in items:
        marks.setdefault(item.nodeid.split("::")[0], set()).update(
            m.name for m in item.iter_markers()
        )

    def weight(item: pytest.Item) -> int:
        found = marks[item.nodeid.split("::")[0]]
        return 0 if {"slow", "e2e"} <= found else 1 if "slow" in found else 2

    items.sort(key=weight)


@pytest.fixture
def dagster_home(tmp_path, monkeypatch) -> Path:
    """A fresh DAGSTER_HOME (SQLite storage, telemetry off) for this test only."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


@pytest.fixture
def instance(dagster_home):
    """A Dagster instance on the test's DAGSTER_HOME."""
    with dg.DagsterInstance.get() as inst:
        yield inst


@pytest.fixture
def iris_copy(tmp_path) -> Path:
    """A private copy of the bundled iris artifact that a test may alter."""
    dst = tmp_path / "iris"
    shutil.copytree(IRIS, dst)
    return dst
