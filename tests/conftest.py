"""Shared fixtures: a private Dagster instance and output directories per test."""

import shutil
from pathlib import Path

import dagster as dg
import pytest

# Shared fixtures: a real PostgreSQL server (`postgres_url`) and the MLflow tests' clean
# tracking env, template store and real server.
pytest_plugins = ["tests.e2e.pg", "tests.mlflow_fixtures"]

REPO = Path(__file__).resolve().parent.parent
IRIS = REPO / "examples" / "iris" / "artifact"


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


def materialize_retrain(
    instance,
    dataset_dir,
    output_dir,
    partition="iris",
    *,
    selection=None,
    raise_on_error=True,
    **config,
):
    """Materialize the whole retrain graph (assets and checks) for one model partition."""
    from verifily_assets.definitions import defs
    from verifily_assets.partitions import ensure_model_partition

    ensure_model_partition(instance, partition)
    assets = [a for a in defs.assets if isinstance(a, dg.AssetsDefinition)]
    request = {"dataset_dir": str(dataset_dir), "output_dir": str(output_dir), **config}
    return dg.materialize(
        [*assets, *defs.asset_checks],
        selection=selection,
        instance=instance,
        partition_key=partition,
        resources=defs.resources,
        raise_on_error=raise_on_error,
        run_config={"ops": {"dataset_artifact": {"config": request}}},
    )
