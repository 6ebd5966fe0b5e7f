"""Keep one `model_id` partition per configured model, so every model has a history in the UI."""

import dagster as dg

from verifily.errors import InputError
from verifily.model_ids import configured_model_ids, models_config_path
from verifily_assets.partitions import MODEL_PARTITIONS


def missing_model_partitions(instance: dg.DagsterInstance) -> list[str]:
    """Configured model ids that have no partition yet (raises InputError for a bad file)."""
    known = set(instance.get_dynamic_partitions(MODEL_PARTITIONS.name))
    return [m for m in configured_model_ids() if m not in known]


@dg.sensor(
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Adds a model_id partition for every model in the models configuration.",
)
def model_partitions_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    """Partitions are added, never removed: a model dropped from the file keeps its history."""
    try:
        new = missing_model_partitions(context.instance)
    except InputError as e:
        return dg.SkipReason(str(e))
    if not new:
        return dg.SkipReason(f"every model in {models_config_path()} has its partition")
    return dg.SensorResult(dynamic_partitions_requests=[MODEL_PARTITIONS.build_add_request(new)])
