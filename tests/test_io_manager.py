"""Step outputs: per run for concurrent retrains, latest per partition for later runs."""

from pathlib import Path

import dagster as dg

from tests.conftest import IRIS
from verifily_assets.definitions import defs
from verifily_assets.partitions import MODEL_PARTITIONS


def _materialize(instance, tmp_path, selection=None, seed=42):
    assets = [a for a in defs.assets if isinstance(a, dg.AssetsDefinition)]
    return dg.materialize(
        [*assets, *defs.asset_checks],
        selection=selection,
        instance=instance,
        partition_key="iris",
        resources=defs.resources,
        run_config={
            "ops": {
                "dataset_artifact": {
                    "config": {
                        "dataset_dir": str(IRIS),
                        "output_dir": str(tmp_path / "runs"),
                        "seed": seed,
                    }
                }
            }
        },
    )


def test_each_run_keeps_its_own_outputs_and_a_later_run_reads_the_latest(instance, tmp_path):
    instance.add_dynamic_partitions(MODEL_PARTITIONS.name, ["iris"])
    first = _materialize(instance, tmp_path, seed=1)
    second = _materialize(instance, tmp_path, seed=2)
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
