"""One dynamic partition per model (project) id, so each model has its own retrain history."""

import dagster as dg

MODEL_PARTITIONS = dg.DynamicPartitionsDefinition(name="model_id")


def ensure_model_partition(instance: dg.DagsterInstance, model_id: str) -> None:
    """Register the model id as a partition if it is new."""
    if not instance.has_dynamic_partition(MODEL_PARTITIONS.name, model_id):
        instance.add_dynamic_partitions(MODEL_PARTITIONS.name, [model_id])
