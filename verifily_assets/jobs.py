"""Jobs over the asset graph."""

import dagster as dg

from verifily.tags import RETRAIN_JOB
from verifily_assets.partitions import MODEL_PARTITIONS
from verifily_assets.run_config import partition_run_config, partition_tags

retrain_job = dg.define_asset_job(
    RETRAIN_JOB,
    selection=dg.AssetSelection.all(),
    description="Verify a dataset, retrain, evaluate and decide whether to ship.",
    # What a run of one model's partition starts from when it is launched without a run
    # config of its own (the launchpad, backfills): the model id for its step Jobs and tags.
    config=dg.PartitionedConfig(
        partitions_def=MODEL_PARTITIONS,
        run_config_for_partition_key_fn=partition_run_config,
        tags_for_partition_key_fn=partition_tags,
    ),
)
