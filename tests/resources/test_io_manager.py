"""Step outputs: per run for concurrent retrains, latest per partition for later runs."""

from pathlib import Path

import dagster as dg

from tests.support.examples import IRIS
from tests.support.materialize import materialize_retrain
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
