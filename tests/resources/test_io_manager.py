"""Step outputs: per run for concurrent retrains, latest per partition for later runs."""

from pathlib import Path

import dagster as dg
import pytest

from resources.io_manager import RunScopedIOManager
from tests.support.examples import IRIS
from tests.support.materialize import materialize_retrain
from verifily.errors import InputError
from verifily_assets.definitions import defs


def test_each_run_keeps_its_own_outputs_and_a_later_run_reads_the_latest(instance, tmp_path):
    first = materialize_retrain(instance, IRIS, tmp_path / "runs", seed=1)
    second = materialize_retrain(instance, IRIS, tmp_path / "runs", seed=2)
    base = Path(defs.resources["io_manager"].base_dir or instance.storage_directory())
    runs = {p.stem for p in (base / "eval_results" / "iris" / "runs").glob("*.pkl")}
    assert {first.run_id, second.run_id} <= runs
    assert (base / "eval_results" / "iris" / "latest.pkl").exists()
    # The two runs' outputs differ (their own run directories), and neither was overwritten.
    assert (
        first.output_for_node("decision")["run_dir"]
        != second.output_for_node("decision")["run_dir"]
    )
    # A later run that materializes only `promotion` loads the latest decision.
    later = dg.materialize(
        [a for a in defs.assets if isinstance(a, dg.AssetsDefinition)],
        selection=["promotion"],
        instance=instance,
        partition_key="iris",
        resources=defs.resources,
    )
    assert later.success


@pytest.mark.parametrize("partition", ["../../escape", "x/y", "a" * 300, ".hidden", ""])
def test_a_partition_that_is_no_model_id_never_becomes_a_path(tmp_path, partition):
    """A partition key is a path component of the storage: `..`, `/` or an over-long name
    would write outside it, nest inside it, or fail with ENAMETOOLONG."""
    storage = tmp_path / "dh" / "storage"
    manager = RunScopedIOManager(base_dir=str(storage)).create_io_manager(
        dg.build_init_resource_context()
    )
    context = dg.build_output_context(
        asset_key=dg.AssetKey("dataset_artifact"), partition_key=partition, run_id="r1"
    )
    if partition == "":  # no partition at all: the unpartitioned directory, as before
        manager.handle_output(context, {"x": 1})
        assert (storage / "dataset_artifact" / "__unpartitioned__" / "latest.pkl").exists()
        return
    with pytest.raises(InputError, match="is not a valid model id"):
        manager.handle_output(context, {"x": 1})
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
