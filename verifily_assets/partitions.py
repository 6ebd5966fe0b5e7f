"""One dynamic partition per model (project) id, so each model has its own retrain history."""

import warnings

import dagster as dg

from verifily.tags import MODEL_PARTITIONS_NAME

# Checks are partitioned like their assets so a check reads only its own model's partition
# (unpartitioned checks load every partition and fail once a second model exists). Dagster
# 1.13 flags partitioned checks as a preview; we rely on it knowingly and keep the CLI quiet.
warnings.filterwarnings(
    "ignore", category=dg.PreviewWarning, message=".*partitions_def on an AssetCheckSpec.*"
)

MODEL_PARTITIONS = dg.DynamicPartitionsDefinition(name=MODEL_PARTITIONS_NAME)


def ensure_model_partition(instance: dg.DagsterInstance, model_id: str) -> None:
    """Register the model id as a partition if it is new."""
    if not instance.has_dynamic_partition(MODEL_PARTITIONS_NAME, model_id):
        instance.add_dynamic_partitions(MODEL_PARTITIONS_NAME, [model_id])
