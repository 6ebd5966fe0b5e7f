"""Materialize the retrain graph in-process, the way a test exercises assets and checks."""

import dagster as dg

from verifily_assets.definitions import defs
from verifily_assets.partitions import ensure_model_partition


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
